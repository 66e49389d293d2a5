"""Compare the ``results`` of every study in two output folders: ``python tools/compare_results.py OLD NEW``.

Used to show that a refactor changed no figure (issue #6): every study present
in OLD must be in NEW with a ``results`` object equal to the last bit. Exit 1
on any difference, naming the study and the first differing key.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def first_difference(a: Any, b: Any, where: str = "results") -> str | None:
    """The path of the first difference between two JSON values, or None when they are equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{where}.{key} (present in one only)"
            found = first_difference(a[key], b[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where} (lengths {len(a)} and {len(b)})"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{where} ({a!r} != {b!r})"


def main(old: str, new: str) -> int:
    bad = 0
    studies = sorted(p.parent.name for p in Path(old).glob("*/results.json"))
    for study in studies:
        a = json.loads((Path(old) / study / "results.json").read_text())
        path = Path(new) / study / "results.json"
        if not path.is_file():
            print(f"{study}: missing in {new}")
            bad += 1
            continue
        b = json.loads(path.read_text())
        diff = first_difference(a.get("results"), b.get("results"))
        print(f"{study}: {'identical' if diff is None else 'differs at ' + diff}")
        bad += diff is not None
    return 1 if bad or not studies else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
