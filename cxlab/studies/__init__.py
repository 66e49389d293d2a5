"""One package per study, each with the same parts: ``spec``, ``load``, ``analysis``, ``narrative``, ``figures``.

:mod:`cxlab.registry` lists them; ``docs/architecture.md`` says how to add one.
"""
