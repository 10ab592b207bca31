"""Day-2 commands with a session: deploy backend/frontend and rollback; returns an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from provisioner.cli.exitcodes import EXIT_ERROR, EXIT_OK
from provisioner.cli.session import Session, TargetSpec, connect, hold_run_lock
from provisioner.core import redact
from provisioner.operate.deploy import (
    Backend,
    BackendTarget,
    DeployFailed,
    Gates,
    backend_target,
    check_image,
    rollback,
)
from provisioner.operate.deploy import deploy_backend as run_deploy
from provisioner.operate.frontend import check_dist
from provisioner.operate.frontend import deploy_frontend as run_frontend
from provisioner.operate.migrations import DbAccess


def _say(line: str) -> None:
    # Every progress line of a deploy goes through the masker (the hook's command line can hold a DSN).
    print(redact.scrub(line), file=sys.stderr, flush=True)


def gates(local: bool, timeout: float | None) -> Gates:
    """Azure: a container may take minutes to pull and start, so the slot is probed every 10 s for up to
    300 s; after a swap production is probed every 5 s for 60 s, and 2 bad answers in a row swap back (within
    Gates.swap_back_within: 15 s). Local: the same checks, fast (docs/operations.md "Timing")."""
    if local:
        return Gates(timeout=timeout if timeout is not None else 30.0, interval=0.2, watch=1.0, watch_interval=0.1,
                     failures=2, probe_timeout=2.0)
    return Gates(timeout=timeout if timeout is not None else 300.0, interval=10.0, watch=60.0, watch_interval=5.0,
                 failures=2, probe_timeout=5.0)


def _confirmed(session: Session, yes: bool, confirm: Callable[[str], bool], what: str) -> bool:
    if session.env.is_production and not yes and not confirm(f"{what} in PRODUCTION?"):
        _say("Aborted: nothing was changed.")
        return False
    return True


def deploy_backend(session: Session, spec: TargetSpec, image: str, yes: bool, pre_swap: str | None,
                   health_timeout: float | None, confirm: Callable[[str], bool]) -> int:
    check_image(image)  # bad input is refused before any request
    target = backend_target(session)
    if not _confirmed(session, yes, confirm, f"Deploy {image} to {target.site}"):
        return EXIT_ERROR
    return _run(session, spec, target, health_timeout,
                lambda b: run_deploy(b, session.env.name, image, pre_swap, db=_db_access(session, b, pre_swap)),
                "deploy backend")


def _db_access(session: Session, backend: Backend, pre_swap: str | None) -> DbAccess | None:
    """The hook's database (docs/operations.md "Migrations"), for environments that provision PostgreSQL."""
    steps = {s.name: s for s in session.steps}
    server, database = steps.get("postgres_server"), steps.get("postgres_database")
    if not pre_swap or server is None or database is None:
        return None
    config = getattr(server, "config", None)
    if not getattr(config, "entra_admins", None):
        _say("the pre-swap hook gets no database access: no deploying identity is declared in [postgres.entra_admins]")
        return None
    # The role the app signs in as, for the migration's GRANTs: its shared identity's with Entra sign-in
    # (steps/app_identity.py), else the admin login.
    login = (server.env.resource_name("app_identity") if getattr(config, "app_sign_in", "") == "entra"
             else str(getattr(config, "administrator_login", "")))
    return DbAccess(backend.clients, server.resource_group, server.resource_name, database.resource_name, login)


def rollback_backend(session: Session, spec: TargetSpec, yes: bool, health_timeout: float | None,
                     outside_window: bool, confirm: Callable[[str], bool]) -> int:
    target = backend_target(session)
    if not _confirmed(session, yes, confirm, f"Roll back {target.site}"):
        return EXIT_ERROR
    return _run(session, spec, target, health_timeout, lambda b: rollback(b, outside_window), "rollback")


def _run(session: Session, spec: TargetSpec, target: BackendTarget, health_timeout: float | None,
         action: Callable[[Backend], str], command: str) -> int:
    with connect(session, spec) as conn:
        _say(f"Target: {conn.description}")
        from provisioner.azure.registry import image_in_registry

        backend = Backend(conn.clients, target, gates(conn.clients.target.local, health_timeout), _say,
                          image_in_registry)
        # A deploy writes the environment too (image, swap): one run at a time, as provision.
        with hold_run_lock(session, conn, command):
            try:
                done = action(backend)
            except DeployFailed as exc:
                print(f"FAILED: {redact.scrub(str(exc))}", file=sys.stderr)
                return EXIT_ERROR
    print(redact.scrub(done))
    return EXIT_OK


def deploy_frontend(session: Session, spec: TargetSpec, dist: Path, yes: bool, confirm: Callable[[str], bool]) -> int:
    check_dist(dist)  # before any request
    static = next(s for s in session.steps if s.name == "static_web_app")
    if not _confirmed(session, yes, confirm, f"Deploy {dist} to {static.resource_name}"):
        return EXIT_ERROR
    with connect(session, spec) as conn, hold_run_lock(session, conn, "deploy frontend"):
        _say(f"Target: {conn.description}")
        print(run_frontend(conn.clients, static.resource_group, static.resource_name, dist, _say))
    return EXIT_OK
