"""CLI guard rails: usage errors exit 1 (2 means changes pending), Ctrl-C exits 130, paths checked up front."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from provisioner.cli.exitcodes import EXIT_ERROR, EXIT_INTERRUPTED
from provisioner.core.errors import TargetError


class Main(click.Group):
    """click exits 2 on a usage error; a scheduled `drift` job would read that as drift. We run click in
    non-standalone mode and map the outcomes ourselves: usage errors 1, Ctrl-C 130, everything else as is."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:  # UsageError, BadParameter, NoSuchOption, MissingParameter ...
            exc.show()
            sys.exit(EXIT_ERROR)
        except click.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):
                click.echo("Interrupted.", err=True)
                sys.exit(EXIT_INTERRUPTED)
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_ERROR)
        sys.exit(rv if isinstance(rv, int) else 0)


def arm_endpoint(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--arm-endpoint must be an http(s) URL with a host: without a scheme ('127.0.0.1:47000') the SDK would try
    Azure sign-in and fail with a credential message that hides the typo. A usage error, before anything runs."""
    from urllib.parse import urlsplit

    if value is None:
        return None
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or 0 < parts.port < 65536  # .port raises on a non-numeric port
    except ValueError:
        parts, port_ok = None, False
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        loopback = value.split(":")[0] in ("127.0.0.1", "localhost", "[::1]")
        hint = f"; did you mean {'http' if loopback else 'https'}://{value}?" if "://" not in value else ""
        raise click.BadParameter(f"{value!r} is not an http:// or https:// URL with a host{hint}")
    return value.rstrip("/")


def check_out_path(out: str | None) -> None:
    """A report file must be writable before any request is sent (a plan can take minutes)."""
    if not out:
        return
    path = Path(out)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise TargetError(f"--out {out}: is a directory; give a file name")
    if not parent.is_dir():
        raise TargetError(f"--out {out}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise TargetError(f"--out {out}: not writable")


def check_state_dir(state_dir: Path) -> None:
    """The embedded local cloud keeps its state here: it must be (or become) a writable directory."""
    if state_dir.exists() and not state_dir.is_dir():
        raise TargetError(f"--state-dir {state_dir}: is a file, not a directory")
    probe = state_dir
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise TargetError(f"--state-dir {state_dir}: {probe} is a file, not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise TargetError(f"--state-dir {state_dir}: {probe} is not writable")
