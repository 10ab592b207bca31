"""Resource state: ARM id -> body as GET returns it, case-insensitive ids, atomic JSON persistence."""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .ids import is_under


def write_json_atomic(path: Path, data: Any) -> None:
    """Temp file + rename in the same directory, so a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_json(path: Path | None, default: Any) -> Any:
    if path is None or not path.exists():
        return default
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if text.strip() else default


class Store:
    """Keys are lower-cased ids; each entry keeps the id casing of the request that created it."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._items: dict[str, tuple[str, dict[str, Any]]] = {}
        self.dirty = False

    # -- reading
    def get(self, resource_id: str) -> dict[str, Any] | None:
        entry = self._items.get(resource_id.lower())
        return entry[1] if entry else None

    def stored_id(self, resource_id: str) -> str | None:
        entry = self._items.get(resource_id.lower())
        return entry[0] if entry else None

    def ids(self) -> list[str]:
        return [entry[0] for entry in self._items.values()]

    def items(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self._items.values())

    def tree(self, resource_id: str) -> list[str]:
        """The id and everything below it (children, extension resources), deepest first."""
        found = [i for i, _ in self._items.values() if is_under(i, resource_id)]
        return sorted(found, key=lambda i: -i.count("/"))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {i: copy.deepcopy(b) for i, b in self._items.values()}

    # -- writing
    def put(self, resource_id: str, body: dict[str, Any]) -> None:
        key = resource_id.lower()
        kept = self._items[key][0] if key in self._items else resource_id
        self._items[key] = (kept, body)
        self.dirty = True

    def delete(self, resource_id: str) -> bool:
        gone = self._items.pop(resource_id.lower(), None) is not None
        self.dirty = self.dirty or gone
        return gone

    def replace(self, state: dict[str, dict[str, Any]]) -> None:
        self._items = {i.lower(): (i, copy.deepcopy(b)) for i, b in state.items()}
        self.dirty = True

    # -- persistence
    def load(self) -> None:
        data = read_json(self.path, {})
        if not isinstance(data, dict):
            raise ValueError(f"{self.path}: the state file must hold a JSON object (ARM id -> body)")
        self._items = {i.lower(): (i, b) for i, b in data.items()}
        self.dirty = False

    def save(self) -> None:
        if self.path is not None and self.dirty:
            write_json_atomic(self.path, {i: b for i, b in self._items.values()})
        self.dirty = False
