"""Retention by experience quality: survival analysis with lifelines (DESIGN 5.2). Parts: see :mod:`cxlab.studies`."""
