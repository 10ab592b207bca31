"""Live progress while applying: a rich display on a terminal; otherwise one line per step plus a heartbeat."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, TextIO

from provisioner.core.model import Change, Outcome, Status
from provisioner.core.redact import scrub

_MARK = {Status.APPLIED: "done", Status.UNCHANGED: "unchanged", Status.FAILED: "FAILED", Status.SKIPPED: "skipped",
         Status.LEFT_FOR_A_PERSON: "left for a person", Status.WAITING: "waiting"}
_VERB = {"create": "creating", "update": "updating", "replace": "replacing", "delete": "deleting", "noop": "checking"}
# Seconds between heartbeat lines without a terminal; Terraform prints "Still creating... [10s elapsed]" every
# 10 s. PROVISIONER_HEARTBEAT overrides it (tests use a fraction of a second).
HEARTBEAT_ENV = "PROVISIONER_HEARTBEAT"


def heartbeat_interval() -> float:
    try:
        return max(0.05, float(os.environ.get(HEARTBEAT_ENV, "10")))
    except ValueError:
        return 10.0


def elapsed(seconds: float) -> str:
    """2m10s, 45s, 1h02m: what a CI log reader scans for."""
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


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
        self._running: dict[str, Change] = {}
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.interval = heartbeat_interval()
        self._details: dict[str, str] = {}  # step -> what its long wait last reported (step_note)

    def note(self, text: str) -> None:
        """A line between progress updates (the live display keeps its place on a terminal)."""
        if self._rich is not None:
            self._rich.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def step_note(self, step: str, message: str) -> None:
        """Progress of a step's long wait (e-mail verification): its task line on a terminal; otherwise a line
        when the message changes, and the heartbeat repeats it ("still creating, 4m00s elapsed (...)")."""
        with self._lock:
            changed = self._details.get(step) != message
            self._details[step] = message
            task = self._tasks.get(step)
            if self._rich is not None:
                if task is not None:
                    self._rich.update(task, description=f"{step}: {message}")
            elif changed:
                since = time.monotonic() - self._started.get(step, time.monotonic())
                print(f"  {step}: {scrub(message)} ({elapsed(since)} elapsed)", file=self.stream, flush=True)

    def in_flight(self) -> list[str]:
        """Steps started and not finished (what a Ctrl-C waits for)."""
        with self._lock:
            return list(self._running)

    def _beat(self) -> None:
        # A CI log without a line for 20 minutes looks hung: every interval, one line per long-running step.
        while not self._stop.wait(self.interval):
            now = time.monotonic()
            with self._lock:  # printed under the lock: never a "still creating" after that step's "done"
                for name, c in self._running.items():
                    if now - self._started[name] >= self.interval:
                        detail = f" ({self._details[name]})" if name in self._details else ""
                        print(f"  {name}: still {_VERB.get(c.action.value, 'working')}, "
                              f"{elapsed(now - self._started[name])} elapsed{detail}", file=self.stream, flush=True)

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                      TimeElapsedColumn(), console=Console(file=self.stream), transient=False)
            self._rich.__enter__()
            self._overall = self._rich.add_task(f"converging {self.total} resources", total=self.total)
        else:
            self._ticker = threading.Thread(target=self._beat, daemon=True, name="progress-heartbeat")
            self._ticker.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        if self._rich is not None:
            self._rich.__exit__(*exc)

    def __call__(self, event: str, change: Change, outcome: Outcome | None) -> None:
        with self._lock:
            if event == "start":
                self._started[change.step] = time.monotonic()
                self._running[change.step] = change
                if self._rich is not None and change.action.value != "noop":
                    self._tasks[change.step] = self._rich.add_task(f"{change.action.symbol} {change.step}", total=1)
                return
            assert outcome is not None
            self._running.pop(change.step, None)
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
            error = outcome.error or ""
            # A held change's reason already starts with its status ("left for a person: ..."): say it once.
            detail = f": {scrub(error.removeprefix(label + ': '))}" if error else ""
            print(f"  [{self._done}/{self.total}] {change.action.symbol} {change.step} {label} ({seconds:.1f}s){detail}",
                  file=self.stream, flush=True)
