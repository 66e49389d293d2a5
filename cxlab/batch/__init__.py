"""The batch engine: run studies and publish their reports (``cxlab run``).

One module per concern, in the order a run uses them:

- :mod:`.plan`: find the study files, validate them all, build one :class:`~.jobs.Job` each;
- :mod:`.cache`: decide which studies are up to date (a fingerprint of their inputs);
- :mod:`.tempdirs`: temporary folders named with their process, swept once it is gone (a killed run's);
- :mod:`.engine`: how papermill runs a notebook (its engine, kernel manager and client; warm kernels from :mod:`.kernels`);
- :mod:`.execute`: run one study's notebook with papermill and render it (:mod:`.render`);
- :mod:`.pool` and :mod:`.cluster`: where executions happen (in-process, worker processes, Dask);
- :mod:`.publish`: write an outcome into the output folder atomically;
- :mod:`.lock`: one run per output folder;
- :mod:`.index`: the ``index.html`` of the output folder;
- :mod:`.run`: ties them together.

Data passes between them as the plain records of :mod:`.jobs`; no module imports
one later in this list, so there is no cycle.
"""
from __future__ import annotations

import sys

# jsonschema imports rfc3987_syntax, when installed, only to check IRI formats that notebook
# validation never uses; building its grammar costs ~0.9 s in every process that imports nbformat.
# Marking it absent makes jsonschema skip that checker (see STACK.md, "Import cost").
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
