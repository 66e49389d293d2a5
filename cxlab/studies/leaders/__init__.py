"""CX leaders versus laggards on a company panel (DESIGN 5.3). Parts: see :mod:`cxlab.studies`."""
