"""Placeholder replaced by the lifecycles generator."""

def lifecycles(n: int = 1000, seed: int = 0):
    raise NotImplementedError
