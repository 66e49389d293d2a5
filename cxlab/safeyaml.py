"""A safe reader for study files: plain YAML data, nothing that can blow up or hide a mistake.

On top of :class:`yaml.SafeLoader` (no Python objects) it refuses, each with
one :class:`~cxlab.errors.StudyFileError` line naming the file and the key:

- aliases (``*name``): an alias bomb expands a few lines into gigabytes, and a
  recursive alias never ends; a study file has no need for them;
- duplicate keys (YAML keeps the last one silently);
- bytes that are not UTF-8, files over :data:`MAX_BYTES`, nesting deeper than
  :data:`MAX_DEPTH`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, ScalarNode

from .errors import StudyFileError

MAX_BYTES = 1 << 20   # a study file is a few hundred bytes; 1 MiB is already absurd
MAX_DEPTH = 32


class _Refused(Exception):
    def __init__(self, message: str, path: list[str], line: int | None) -> None:
        super().__init__(message)
        self.path, self.line = path, line


def _key_text(path: list[str]) -> str:
    return ".".join(path) if path else "<top>"


class StudyLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, duplicate keys and deep nesting, tracking the key path."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._path: list[str] = []

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102
        if isinstance(index, ScalarNode):
            self._path.append(str(index.value))
        elif isinstance(parent, MappingNode) or index is None and parent is not None:
            self._path.append("<key>")
        elif isinstance(index, int):
            self._path.append(str(index))
        else:
            self._path.append(None)  # type: ignore[arg-type]
        try:
            if self.check_event(AliasEvent):
                event = self.peek_event()
                raise _Refused(f"YAML aliases (*{event.anchor}) are not allowed in study files; write the value out",
                               self._keys(), event.start_mark.line + 1)
            if len(self._path) > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", self._keys(),
                               self.peek_event().start_mark.line + 1)
            node = super().compose_node(parent, index)
            if isinstance(node, MappingNode):
                seen: dict[Any, int] = {}
                for key_node, _ in node.value:
                    if isinstance(key_node, ScalarNode):
                        if key_node.value in seen:
                            raise _Refused(f"given twice (lines {seen[key_node.value]} and "
                                           f"{key_node.start_mark.line + 1}); keep one",
                                           [*self._keys(), str(key_node.value)], key_node.start_mark.line + 1)
                        seen[key_node.value] = key_node.start_mark.line + 1
            return node
        finally:
            self._path.pop()

    def _keys(self) -> list[str]:
        return [p for p in self._path if p is not None]


def _where(raw: bytes, start: int) -> tuple[int, list[str]]:
    """Line number (1-based) of byte ``start`` and the key path of that line, read leniently."""
    line = raw[:start].count(b"\n") + 1
    text = raw.decode("utf-8", errors="replace")
    path: list[tuple[int, str]] = []
    for number, content in enumerate(text.splitlines()[:line], start=1):
        stripped = content.lstrip(" -")
        if not stripped or stripped.startswith("#") or ":" not in stripped:
            continue
        indent = len(content) - len(stripped)
        while path and path[-1][0] >= indent:
            path.pop()
        path.append((indent, stripped.split(":", 1)[0].strip().strip("'\"")))
    return line, [k for _, k in path]


def load_yaml(path: str | Path) -> Any:
    """Read one study file as plain data.

    Raises
    ------
    StudyFileError
        One line naming the file (and the key or line) for a file that is not
        UTF-8, too large, not YAML, or uses aliases, duplicate keys or deep nesting.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise StudyFileError(f"{path}: {size:,} bytes is too large for a study file (at most {MAX_BYTES:,})")
        raw = path.read_bytes()
    except OSError as exc:
        raise StudyFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, keys = _where(raw, exc.start)
        key = f"key {_key_text(keys)!r}, " if keys else ""
        raise StudyFileError(f"{path}: {key}line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8; "
                             "save the file as UTF-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = StudyLoader(text)
    try:
        return loader.get_single_data()
    except _Refused as exc:
        raise StudyFileError(f"{path}: key {_key_text(exc.path)!r} (line {exc.line}): {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise StudyFileError(f"{path}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise StudyFileError(f"{path}: nested too deeply to be a study file") from None
    finally:
        loader.dispose()
