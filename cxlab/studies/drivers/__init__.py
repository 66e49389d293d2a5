"""Key drivers: which parts of the experience go with satisfaction and recommendation (DESIGN 5.5).

The parts, in the order a notebook uses them:

- :mod:`.spec`: the study-file model (the keys of ``notebook: drivers``);
- :mod:`.load`: read the data, map and check the columns, return canonical data;
- :mod:`.analysis`: pure computation, a result object whose ``results`` dict is what ``results.json`` records;
- :mod:`.narrative`: the headline, interpretation and caveats, sentences built from the figures;
- :mod:`.figures`: the plots (tidy data in, matplotlib axes out).

The estimators live in :mod:`cxlab.stats.relimp`. Importing this package is cheap; import the parts you use.
"""
