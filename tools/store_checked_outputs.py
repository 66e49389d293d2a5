"""Store the outputs that nbval checks, and strip every other output.

Usage: python tools/store_checked_outputs.py notebooks/loyalty.ipynb [...]

Executes each notebook as it stands (its parameters cell holds working
defaults), then writes back the source notebook with outputs only on cells
whose source holds ``# NBVAL_CHECK_OUTPUT``. Run it after changing a checked
cell; commit the result.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import papermill as pm


def store(path: Path) -> None:
    source = nbformat.read(path, as_version=4)
    executed = pm.execute_notebook(str(path), None, kernel_name="python3", cwd=str(path.parent),
                                   progress_bar=False, log_output=False)
    by_id = {cell.get("id"): cell for cell in executed.cells}
    for cell in source.cells:
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.outputs = []
        if "NBVAL_CHECK_OUTPUT" in cell.source:
            ran = by_id[cell.get("id")]
            cell.execution_count = ran.execution_count  # nbval skips reference cells that look unrun
            cell.outputs = [o for o in ran.outputs if o.get("output_type") != "display_data"
                            or "image/png" not in o.get("data", {})]
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    source.metadata.pop("papermill", None)
    nbformat.write(source, path)
    print(f"{path}: stored outputs of {sum('NBVAL_CHECK_OUTPUT' in c.source for c in source.cells)} checked cells")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        store(Path(arg))
