"""CX metrics: NPS, CSAT and CES by segment and over time, and why a score moved (DESIGN 5.4). Parts: see :mod:`cxlab.studies`."""
