"""Loyalty by experience quality (DESIGN 5.1). Parts: see :mod:`cxlab.studies`."""
