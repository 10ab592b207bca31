"""Run `python -m provisioner` in a new process forked from one that already imported the CLI and the Azure SDKs.

Importing them is about 2 s of CPU, paid again by every CLI process: with some 250 CLI runs it was a third of the
suite's CPU on a two-core CI machine (docs/testing.md). The child is otherwise the process a user starts: its own
argv (runpy runs the package as `-m` does), environment, working directory, stdin (/dev/null), stdout and stderr,
signal dispositions and exit code. What it shares with its parent is modules imported before any of our code ran:
none of them reads the environment or starts a thread at import (tests/e2e/test_forked_cli.py compares both ways).
PROVISIONER_TEST_FORK=0 runs every call as a plain subprocess instead.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path

# The CLI, the step graph and every SDK client module the engine imports on first use (provisioner/azure/clients.py).
_PRELOAD = ["provisioner.cli.app", "provisioner.cli.commands", "provisioner.cli.session", "steps", "azure.identity",
            "azure.keyvault.secrets", "azure.mgmt.resource.subscriptions"]

_context: multiprocessing.context.ForkServerContext | None = None


def enabled() -> bool:
    return os.environ.get("PROVISIONER_TEST_FORK", "1") != "0" and "forkserver" in multiprocessing.get_all_start_methods()


def _server() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        from provisioner.azure.clients import CLIENTS  # names only: this module imports no SDK

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD + sorted({module for module, _ in CLIENTS.values()}))
        _context = ctx
    return _context


def _child(args: list[str], env: dict[str, str], cwd: str, out: str, err: str) -> None:
    """In the forked process: become `python -m provisioner ARGS` with this environment and these files."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    # As the interpreter makes them for a pipe under PYTHONUNBUFFERED (what cli() always sets).
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                                    write_through=True)
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                                    errors="backslashreplace", write_through=True)
    sys.argv = ["python", *args]  # runpy puts the module's own path first, as `python -m` does
    runpy.run_module("provisioner", run_name="__main__", alter_sys=True)


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """subprocess.run([python, -m, provisioner, *args], capture_output=True, text=True, stdin=DEVNULL), forked."""
    if not enabled():
        return subprocess.run([sys.executable, "-m", "provisioner", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="cli-") as tmp:
        out, err = Path(tmp, "out"), Path(tmp, "err")
        out.touch(mode=0o600)
        err.touch(mode=0o600)
        proc = _server().Process(target=_child, args=(list(args), dict(env), str(cwd), str(out), str(err)))
        proc.start()
        proc.join(timeout)
        if proc.exitcode is None:
            proc.kill()
            proc.join()
            raise subprocess.TimeoutExpired(["provisioner", *args], timeout, out.read_bytes(), err.read_bytes())
        # Universal newlines, as text=True reads a pipe.
        return subprocess.CompletedProcess(["provisioner", *args], proc.exitcode, out.read_text(encoding="utf-8"),
                                           err.read_text(encoding="utf-8"))
