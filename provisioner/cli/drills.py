"""`provisioner drill`: run the chosen components against a session's target and build the report; no click."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from provisioner.cli import drill_report
from provisioner.cli.session import Session, TargetSpec, connect, hold_run_lock
from provisioner.core.errors import ProvisionerError
from provisioner.operate.drill_plan import ERROR, Row, choose, exit_code


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class DrillArgs:
    component: str = "all"
    output: str = "text"
    at: datetime | None = None
    client_ip: str | None = None
    frontend_dist: Path | None = None
    health_timeout: float | None = None
    done: list[Row] = field(default_factory=list)  # rows so far (what an interrupted run can still report)


def _step(session: Session, name: str) -> Any:
    found = next((s for s in session.steps if s.name == name), None)
    if found is None:
        raise ProvisionerError(f"{session.env.name} declares no {name}")
    return found


def _cache_id(session: Session) -> str:
    """The environment's cache, whichever kind it is (Azure Cache for Redis or Azure Managed Redis)."""
    for step in session.steps:
        if step.type.lower() in ("microsoft.cache/redis", "microsoft.cache/redisenterprise"):
            return str(step.ref.id)
    raise ProvisionerError(f"{session.env.name} declares no cache")


def _component(name: str, session: Session, conn: Any, args: DrillArgs) -> Row:
    from provisioner.operate import cost, drill_services
    from provisioner.operate.drill_postgres import PgDrillOptions, PostgresDrill

    clients, local = conn.clients, conn.clients.target.local
    if name == "postgres":
        pg = _step(session, "postgres_server")
        options = PgDrillOptions(at=args.at, client_ip=args.client_ip)
        if local:  # a local cloud answers in seconds
            options.retry_interval, options.poll = 1.0, 0.05
        return PostgresDrill(clients, pg.resource_group, pg.resource_name, _say, options, cost.load_prices()).run()
    if name == "keyvault":
        kv = _step(session, "key_vault")
        return drill_services.keyvault_drill(clients, kv.resource_group, kv.resource_name,
                                             bool(kv.config.purge_protection), _say, args.client_ip)
    if name == "cache":
        return drill_services.cache_drill(clients, _cache_id(session))
    with hold_run_lock(session, conn, f"drill {name}"):  # a redeploy writes the environment, as `deploy` does
        if name == "app":
            from provisioner.cli.deploys import gates
            from provisioner.operate.deploy import Backend, backend_target

            backend = Backend(clients, backend_target(session), gates(local, args.health_timeout), _say)
            return drill_services.app_drill(backend, session.env.name)
        swa = _step(session, "static_web_app")
        return drill_services.frontend_drill(clients, swa.resource_group, swa.resource_name, args.frontend_dist, _say)


def drill(session: Session, spec: TargetSpec, args: DrillArgs, confirm: Callable[[str], bool], yes: bool) -> tuple[str, int]:
    names = choose(args.component)
    if session.env.is_production and not yes and ({"app", "frontend"} & set(names)) and not confirm(
            "The drill redeploys the running API and frontend in PRODUCTION (same versions). Go on?"):
        return "", 1
    with connect(session, spec) as conn:
        _say(f"Target: {conn.description}")
        for name in names:
            _say(f"== {name}")
            try:
                row = _component(name, session, conn, args)
            except ProvisionerError as exc:
                row = Row(name, ERROR, detail=str(exc))
            args.done.append(row)
        target = conn.description
    return drill_report.render(args.output, session.env.name, args.done, target), exit_code(args.done)
