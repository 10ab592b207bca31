"""Live progress while applying: a rich display on a terminal, one plain line per step otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from provisioner.model import Change, Outcome, Status

_MARK = {Status.APPLIED: "done", Status.UNCHANGED: "unchanged", Status.FAILED: "FAILED", Status.SKIPPED: "skipped",
         Status.WAITING: "waiting"}


class Progress:
    """Receives executor events ("start"/"done") from worker threads and shows them."""

    def __init__(self, total: int, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.total = total
        self.live = self.stream.isatty() if live is None else live
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}
        self._done = 0
        self._rich: Any = None
        self._tasks: dict[str, Any] = {}
        self._notes: dict[str, tuple[str, float]] = {}  # step -> (last message printed, when)

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                      TimeElapsedColumn(), console=Console(file=self.stream), transient=False)
            self._rich.__enter__()
            self._overall = self._rich.add_task(f"converging {self.total} resources", total=self.total)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)

    def note(self, step: str, message: str) -> None:
        """Progress of a step's long wait (e-mail verification): the task's line on a TTY; without one, a line
        when the message changes or a minute has passed (an hour of polling stays a screenful)."""
        with self._lock:
            now = time.monotonic()
            elapsed = now - self._started.get(step, now)
            task = self._tasks.get(step)
            if self._rich is not None:
                if task is not None:
                    self._rich.update(task, description=f"{step}: {message}")
                return
            last = self._notes.get(step)
            if last is None or last[0] != message or now - last[1] >= 60:
                self._notes[step] = (message, now)
                print(f"  ... {step}: {message} ({elapsed:.0f}s)", file=self.stream, flush=True)

    def __call__(self, event: str, change: Change, outcome: Outcome | None) -> None:
        with self._lock:
            if event == "start":
                self._started[change.step] = time.monotonic()
                if self._rich is not None and change.action.value != "noop":
                    self._tasks[change.step] = self._rich.add_task(f"{change.action.symbol} {change.step}", total=1)
                return
            assert outcome is not None
            self._done += 1
            seconds = time.monotonic() - self._started.get(change.step, time.monotonic())
            label = _MARK[outcome.status]
            if self._rich is not None:
                self._rich.advance(self._overall)
                task = self._tasks.get(change.step)
                if task is not None:
                    self._rich.update(task, completed=1, description=f"{change.action.symbol} {change.step}: {label}")
                return
            if outcome.status is Status.UNCHANGED:
                return
            detail = f": {outcome.error}" if outcome.error else ""
            print(f"  [{self._done}/{self.total}] {change.action.symbol} {change.step} {label} ({seconds:.1f}s){detail}",
                  file=self.stream, flush=True)
