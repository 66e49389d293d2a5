"""One package per study, each with the same parts, in the order a notebook uses them:

- ``spec``: the study-file model (the keys of ``notebook: <name>``);
- ``load``: ``read(study, base_dir)``: read the data, map and check the columns, return canonical data;
- ``analysis``: ``analyze(...)``: pure computation, a result object whose ``results`` dict is what
  ``results.json`` records;
- ``narrative``: the headline, interpretation and caveats, sentences built from the figures;
- ``figures``: the plots (tidy data in, matplotlib axes out).

Importing a study package is cheap; import the parts you use. :mod:`cxlab.registry`
lists the studies; ``docs/architecture.md`` says how to add one.
"""
