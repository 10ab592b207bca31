"""Resource state: ARM id -> body as GET returns it, case-insensitive ids, atomic JSON persistence."""

from __future__ import annotations

import copy
import fcntl
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

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


class StateInUse(ValueError):
    """Another process serves this state file (two servers on one file would overwrite each other's writes)."""


class Store:
    """Keys are lower-cased ids; each entry keeps the id casing of the request that created it. A store with a
    file holds an exclusive lock on `<file>.lock` from `load` to `close`: one server per state file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._items: dict[str, tuple[str, dict[str, Any]]] = {}
        self.dirty = False
        self._held: IO[str] | None = None
        self.on_save: list[Callable[[], None]] = []  # side state saved with it (operations in flight)

    # -- one server per state file
    def hold(self) -> None:
        """Take the file's lock (idempotent). flock: the OS drops it when the process dies, even by kill -9, so it
        never goes stale; a second holder is refused at once, naming the first (pid, command)."""
        if self.path is None or self._held is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.with_name(self.path.name + ".lock").open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StateInUse(f"{self.path} is in use by {holder}: one local cloud per state file (two would "
                             "overwrite each other's state); stop that one, or give this one another --state") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} ({' '.join(os.path.basename(a) for a in sys.argv[:3])})")
        handle.flush()
        self._held = handle

    def close(self) -> None:
        """Release the state file's lock (the cloud stopped)."""
        if self._held is not None:
            self._held.close()
            self._held = None

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
        self.hold()
        data = read_json(self.path, {})
        if not isinstance(data, dict):
            raise ValueError(f"{self.path}: the state file must hold a JSON object (ARM id -> body)")
        self._items = {i.lower(): (i, b) for i, b in data.items()}
        self.dirty = False

    def save(self) -> None:
        if self.path is not None and self.dirty:
            write_json_atomic(self.path, {i: b for i, b in self._items.values()})
        self.dirty = False
        for hook in self.on_save:
            hook()
