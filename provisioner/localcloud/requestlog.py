"""Request log: one JSON object per request (never a body), in memory and as JSON lines on disk."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any


class RequestLog:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, sort_keys=False)
        with self._lock:
            self._entries.append(entry)
            if self.path is not None:
                # Append + flush per line so a crashed run still leaves a readable log.
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries]
