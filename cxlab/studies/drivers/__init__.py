"""Key drivers: which parts of the experience go with satisfaction (DESIGN 5.5). Parts: see :mod:`cxlab.studies`;
the estimators live in :mod:`cxlab.stats.relimp`."""
