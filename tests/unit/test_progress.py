"""Progress without a terminal: one line per finished step and a steady heartbeat for long ones."""

from __future__ import annotations

import io
import re
import time

from provisioner.cli.progress import HEARTBEAT_ENV, Progress, elapsed
from provisioner.core.model import Action, Change, Outcome, ResourceRef, Status


def _change(name: str, action: Action = Action.CREATE) -> Change:
    return Change(name, ResourceRef("sub", "rg", "Microsoft.Cache/redis", name), action)


def test_elapsed_reads_like_terraform():
    assert [elapsed(s) for s in (5, 130, 3725)] == ["5s", "2m10s", "1h02m"]


def test_heartbeat_names_each_long_running_step_at_a_steady_interval(monkeypatch):
    monkeypatch.setenv(HEARTBEAT_ENV, "0.1")
    stream = io.StringIO()
    with Progress(2, stream, live=False) as progress:
        progress("start", _change("redis"), None)
        progress("start", _change("web_app_config", Action.UPDATE), None)
        assert progress.in_flight() == ["redis", "web_app_config"]
        time.sleep(0.35)
        progress("done", _change("web_app_config", Action.UPDATE), Outcome(_change("web_app_config"), Status.APPLIED))
        beats_before = stream.getvalue().count("redis: still creating")
        time.sleep(0.25)
        progress("done", _change("redis"), Outcome(_change("redis"), Status.APPLIED))
    lines = stream.getvalue().splitlines()
    redis = [line for line in lines if "redis: still" in line]
    assert len(redis) >= 3 and beats_before >= 2
    assert all(re.fullmatch(r"  redis: still creating, \d+s elapsed", line) for line in redis)
    assert any(line.startswith("  web_app_config: still updating, ") for line in lines)
    late = lines[lines.index(next(line for line in lines if "+ web_app_config" in line or "~ web_app_config" in line)):]
    assert not any("web_app_config: still" in line for line in late)  # finished steps stop beating
    count = stream.getvalue().count("still")
    time.sleep(0.25)
    assert stream.getvalue().count("still") == count  # the ticker stops with the display


def test_a_note_is_one_line_between_updates():
    stream = io.StringIO()
    with Progress(1, stream, live=False) as progress:
        progress.note("Interrupted: no further step starts.")
    assert stream.getvalue() == "Interrupted: no further step starts.\n"
