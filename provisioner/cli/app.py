"""Command line: validate, plan, provision, drift, deploy, rollback, cost, drill, localcloud serve. Exit codes only; logic lives elsewhere.

Exit codes are provisioner/cli/exitcodes.py (the README's "Exit codes" table is checked against it).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import click

from provisioner.cli import exitcodes
from provisioner.cli.guard import Main, check_out_path, check_state_dir
from provisioner.core.errors import ConfigError, ProvisionerError, TargetError

OUTPUTS = click.Choice(["text", "json", "markdown"])


def _registry() -> Any:
    import steps

    return steps.ALL_STEPS


def _fail(exc: ProvisionerError) -> None:
    """The one place an error becomes output and an exit code (each error class knows its code)."""
    if isinstance(exc, ConfigError):
        errors = [p for p in exc.problems if p.severity == "error"]
        warnings = [p for p in exc.problems if p.severity != "error"]
        click.echo(f"Invalid configuration: {len(errors)} error(s), {len(warnings)} warning(s)", err=True)
        for p in errors + warnings:
            click.echo(f"  {p.severity}: {p}", err=True)
    else:
        click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


def exits(fn: Callable[..., int | None]) -> Callable[..., None]:
    """A command body returns its exit code; an error it raises is reported by `_fail`. Nothing else exits."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            code = fn(*args, **kwargs) or exitcodes.EXIT_OK
        except ProvisionerError as exc:
            _fail(exc)
            return
        if code == exitcodes.EXIT_INTERRUPTED:
            # After a second Ctrl-C worker threads may still be polling operations; exiting normally would
            # join them (minutes). Their operations continue in Azure either way.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        sys.exit(code)

    return run


def _emit(text: str, out: str | None) -> None:
    if out:
        try:
            Path(out).write_text(text)
        except OSError as exc:
            raise TargetError(f"--out {out}: {exc.strerror or exc}") from None
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


@dataclass(frozen=True)
class Target:
    """What the target options say: which environment, and where and how to reach it."""

    env_name: str
    envs_dir: Path
    cloud: str | None
    arm_endpoint: str | None
    subscription: str | None
    state_dir: Path
    latency: str
    workers: int

    def open(self) -> tuple[Any, Any]:
        """The validated session (warnings printed) and the target spec, checked before any request."""
        from provisioner.cli.session import TargetSpec, check_target, load_session

        overrides = {"subscription_id": self.subscription} if self.subscription and self.cloud != "local" else {}
        session = load_session(self.env_name, _registry(), self.envs_dir, overrides)
        for w in session.warnings:
            click.echo(f"warning: {w}", err=True)
        spec = TargetSpec(self.cloud if self.cloud != "azure" else None, self.arm_endpoint, self.subscription,
                          self.state_dir, self.latency)
        check_target(spec)
        if spec.cloud == "local":
            check_state_dir(self.state_dir)
        return session, spec


_ENV_OPTIONS = (
    click.option("--env", "env_name", required=True, help="dev, staging or production."),
    click.option("--envs-dir", type=click.Path(path_type=Path), default=Path("envs"), show_default=True,
                 help="Folder with common.toml and <env>.toml."),
)
_TARGET_OPTIONS = (
    *_ENV_OPTIONS,
    click.option("--cloud", type=click.Choice(["azure", "local"]), default=None,
                 help="'local' starts the embedded local cloud (state under .provisioner/)."),
    click.option("--arm-endpoint", default=None, help="Any ARM-compatible endpoint (a running local cloud, Azure Stack Hub)."),
    click.option("--subscription", default=None, envvar="AZURE_SUBSCRIPTION_ID", help="Azure subscription id."),
    click.option("--state-dir", type=click.Path(path_type=Path), default=Path(".provisioner"), show_default=True,
                 help="Where the embedded local cloud keeps its state."),
    click.option("--latency", type=click.Choice(["fast", "realistic"]), default="fast",
                 help="Embedded local cloud latency profile."),
    click.option("--workers", type=click.IntRange(1, 64), default=10, show_default=True, help="Concurrent reads/writes."),
)
_TARGET_FIELDS = tuple(f.name for f in fields(Target))


def env_options(fn: Any) -> Any:
    """--env and --envs-dir, for the offline commands (validate, cost)."""
    for option in reversed(_ENV_OPTIONS):
        fn = option(fn)
    return fn


def target_options(fn: Any) -> Any:
    """Declares the target options once and hands the command a single `target: Target`."""

    @functools.wraps(fn)
    def command(**kwargs: Any) -> Any:
        target = Target(**{name: kwargs.pop(name) for name in _TARGET_FIELDS})
        return fn(target=target, **kwargs)

    for option in reversed(_TARGET_OPTIONS):
        command = option(command)
    return command


def _report_command(kind: str, summary: str) -> Callable[..., None]:
    """`plan` and `drift`: one implementation, two reports (provisioner/cli/commands.py `report`)."""

    @target_options
    @click.option("--output", "-o", type=OUTPUTS, default="text", show_default=True)
    @click.option("--out", type=click.Path(), default=None, help="Write the report to a file.")
    @click.option("--show-ignored", is_flag=True, help="List every field the differ ignored, with its rule.")
    @exits
    def command(target: Target, output: str, out: str | None, show_ignored: bool) -> int:
        from provisioner.cli import commands

        check_out_path(out)
        session, spec = target.open()
        text, code = commands.report(kind, session, spec, output, target.workers, show_ignored)
        _emit(text, out)
        return code

    command.__doc__ = summary
    return command


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]}, epilog=exitcodes.epilog())
@click.version_option("0.1.0", prog_name="provisioner")
def main() -> None:
    """Converge the Fundrbolt Azure environments through the Azure management SDKs."""


@main.command()
@env_options
@exits
def validate(env_name: str, envs_dir: Path) -> int:
    """Check the environment files offline (no request is sent). Exit 0 valid, 1 invalid."""
    from provisioner.cli.session import load_session

    session = load_session(env_name, _registry(), envs_dir)
    for w in session.warnings:
        click.echo(f"warning: {w}")
    click.echo(f"{env_name}: valid ({len(session.steps)} resources, {len(session.warnings)} warning(s))")
    return exitcodes.EXIT_OK


main.command("plan")(_report_command("plan", "Dry run: what provision would change. Exit 0 no changes, 2 changes pending, 1 error."))
main.command("drift")(_report_command(
    "drift", "What changed out of band, and managed resources that are missing. Exit 0 in sync, 2 drift, 1 error."))


@main.command()
@target_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (production asks otherwise).")
@click.option("--dry-run", is_flag=True, help="Only show the plan (same as `plan`).")
@click.option("--allow-replace", is_flag=True, help="Allow delete + re-create of resources that hold no data.")
@click.option("--output", "-o", type=OUTPUTS, default="text", show_default=True)
@exits
def provision(target: Target, yes: bool, dry_run: bool, allow_replace: bool, output: str) -> int:
    """Converge the environment. Exit 0 converged, 1 any failure, 130 interrupted; --dry-run exits as `plan`."""
    from provisioner.cli import commands

    session, spec = target.open()
    if dry_run:
        text, code = commands.report("plan", session, spec, output, target.workers, False)
        click.echo(text, nl=False)
        return code  # it is `plan`: 2 when changes are pending
    return commands.provision(session, spec, output, target.workers, yes, allow_replace, confirm=_confirm)


def _confirm(prompt: str) -> bool:
    if not sys.stdin.isatty():
        click.echo(f"{prompt} [refused: no terminal to confirm on; pass --yes]", err=True)
        return False
    return click.confirm(prompt, default=False, err=True)


@main.group()
def deploy() -> None:
    """Deploy the API (blue-green through the staging slot) or the admin frontend. Exit 0 deployed, 1 failed."""


@deploy.command("backend")
@target_options
@click.option("--image", required=True, metavar="REPO:TAG", help="Container image to run, with an explicit tag.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (production asks otherwise).")
@click.option("--pre-swap", default=None, metavar="CMD",
              help="Shell command run after the slot is healthy and before the swap (e.g. Alembic migrations); "
                   "non-zero stops the deploy. Gets DEPLOY_ENV, DEPLOY_IMAGE, DEPLOY_SLOT_URL.")
@click.option("--health-timeout", type=float, default=None, metavar="SECONDS",
              help="How long the slot (the site, without one) may take to answer 200 as the new version before the deploy is refused "
                   "[300 on Azure, 30 on a local cloud].")
@exits
def deploy_backend(target: Target, image: str, yes: bool, pre_swap: str | None, health_timeout: float | None) -> int:
    """Set IMAGE (and the DEPLOY_MARKER app setting) on the staging slot, wait until its /health answers as the
    new version, swap into production, watch production (swap back within seconds on bad answers) and record
    the previous image for rollback. Deploying what production runs does nothing. Without a slot (dev on Basic)
    deploy in place. Exit 0 deployed (or nothing to do), 1 failed (says which check)."""
    from provisioner.cli import deploys

    return deploys.deploy_backend(*target.open(), image, yes, pre_swap, health_timeout, _confirm)


@deploy.command("frontend")
@target_options
@click.option("--dist", required=True, type=click.Path(path_type=Path), help="The admin build folder (with index.html).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (production asks otherwise).")
@exits
def deploy_frontend(target: Target, dist: Path, yes: bool) -> int:
    """Upload the admin build to the environment's Static Web App. Exit 0 deployed, 1 failed."""
    from provisioner.cli import deploys

    return deploys.deploy_frontend(*target.open(), dist, yes, _confirm)


@main.command()
@target_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (production asks otherwise).")
@click.option("--health-timeout", type=float, default=None, metavar="SECONDS",
              help="How long the slot (the site, without one) may take to answer 200 as the previous version before the rollback is "
                   "refused [300 on Azure, 30 on a local cloud].")
@click.option("--outside-window", is_flag=True,
              help="Roll back even though the last deploy is more than 30 minutes old (the document's rollback "
                   "window; check the migrations first).")
@exits
def rollback(target: Target, yes: bool, health_timeout: float | None, outside_window: bool) -> int:
    """Restore the image production ran before the last deploy (recorded on the site), with the deploy's
    checks: onto the slot, swap, watch. Refused when nothing is recorded (a second rollback never swaps the bad
    version back in) or past the 30-minute window. Without a slot: in place. Exit 0 rolled back, 1 failed or
    refused."""
    from provisioner.cli import deploys

    return deploys.rollback_backend(*target.open(), yes, health_timeout, outside_window, _confirm)


@main.command()
@env_options
@click.option("--output", "-o", type=OUTPUTS, default="text", show_default=True)
@click.option("--out", type=click.Path(), default=None, help="Write the report to a file.")
@click.option("--prices", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A price table (JSON) instead of the bundled one (scripts/refresh_prices.py writes one).")
@exits
def cost(env_name: str, envs_dir: Path, output: str, out: str | None, prices: Path | None) -> int:
    """Monthly estimate per resource from its declared SKU and size, the total against the budget and the
    architecture document's estimate. Offline: no request is sent. Exit 0 report written, 1 error."""
    from provisioner.cli import cost_report
    from provisioner.cli.session import load_session
    from provisioner.operate import cost as cost_mod

    session = load_session(env_name, _registry(), envs_dir)
    est = cost_report.for_session(env_name, session.steps, cost_mod.load_prices(prices))
    render = {"json": cost_report.to_json, "markdown": cost_report.markdown}.get(output, cost_report.text)
    _emit(render(est), out)
    return exitcodes.EXIT_OK


@main.command()
@target_options
@click.option("--component", type=click.Choice(["all", "postgres", "keyvault", "app", "frontend", "cache"]),
              default="all", show_default=True, help="What to drill.")
@click.option("--at", "at", default=None, metavar="ISO-8601",
              help="Restore the database as of this UTC time (default: the latest point, after a canary write).")
@click.option("--client-ip", default=None, help="This machine's public IP for the short-lived firewall rules "
              "[asked of api.ipify.org on Azure].")
@click.option("--frontend-dist", type=click.Path(path_type=Path), default=None,
              help="The admin build of the running version, redeployed to measure the frontend's RTO.")
@click.option("--health-timeout", type=float, default=None, metavar="SECONDS", help="As for `deploy backend`.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before redeploying production's running versions.")
@click.option("--output", "-o", type=OUTPUTS, default="text", show_default=True)
@click.option("--out", type=click.Path(), default=None, help="Write the report to a file.")
@exits
def drill(target: Target, component: str, at: str | None, client_ip: str | None, frontend_dist: Path | None,
          health_timeout: float | None, yes: bool, output: str, out: str | None) -> int:
    """Disaster-recovery drill (docs/recovery.md): restore the database into a scratch server and verify it, recover a
    Key Vault secret from soft delete, redeploy the running API and frontend, judge the cache's persistence; the
    report is the architecture document's RTO/RPO table with measured values. The scratch server is always deleted.
    Exit 0 every target holds, 2 one is missed, 1 error, 130 interrupted."""
    import signal
    from datetime import UTC, datetime

    from provisioner.cli import drills

    when = None
    if at:
        try:
            when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise TargetError(f"--at {at!r}: expected an ISO-8601 time such as 2026-12-01T10:00:00Z") from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if frontend_dist is not None:
        from provisioner.operate.frontend import check_dist

        check_dist(frontend_dist)  # before any request
    check_out_path(out)
    args = drills.DrillArgs(component, output, when, client_ip, frontend_dist, health_timeout)

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # a cancelled CI job (SIGTERM) cleans up as Ctrl-C does

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        session, spec = target.open()
        text, code = drills.drill(session, spec, args, _confirm, yes)
    except KeyboardInterrupt:
        click.echo("Interrupted: the scratch resources were cleaned up (see above).", err=True)
        return exitcodes.EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    _emit(text, out)
    return code


@main.group()
def localcloud() -> None:
    """The embedded ARM-compatible local cloud."""


@localcloud.command()
@click.option("--port", type=int, default=0, help="0 picks a free port.")
@click.option("--state", "state_file", type=click.Path(path_type=Path), default=None, help="JSON state file (ARM id -> body).")
@click.option("--request-log", type=click.Path(path_type=Path), default=None, help="JSON-lines request log.")
@click.option("--latency", type=click.Choice(["fast", "realistic"]), default="fast", show_default=True)
@click.option("--time-scale", type=float, default=1.0, show_default=True, help="Multiplies realistic durations.")
@click.option("--faults", "faults_file", type=click.Path(path_type=Path), default=None, help="JSON list of fault rules.")
@click.option("--unhealthy-image", "unhealthy_images", multiple=True, metavar="SUBSTRING",
              help="Sites whose image reference contains SUBSTRING answer /health with 503 (repeatable).")
@click.option("--tenant-id", default="00000000-0000-0000-0000-000000000000", show_default=True,
              help="The directory the subscription belongs to (GET /subscriptions/{id} answers it).")
@click.option("--client-ip", default="203.0.113.10", show_default=True,
              help="The public address the Key Vault firewall sees for every caller.")
def serve(port: int, state_file: Path | None, request_log: Path | None, latency: str, time_scale: float,
          faults_file: Path | None, unhealthy_images: tuple[str, ...], tenant_id: str, client_ip: str) -> None:
    """Run the local cloud in the foreground and print its URL."""
    import uuid

    from provisioner.localcloud import ServeError
    from provisioner.localcloud import serve as run

    try:
        tenant_id = str(uuid.UUID(tenant_id))
    except ValueError:
        click.echo(f"error: --tenant-id {tenant_id!r} is not a GUID", err=True)
        sys.exit(exitcodes.EXIT_ERROR)
    try:
        run(port=port, state_file=state_file, request_log=request_log, latency=latency, time_scale=time_scale,
            faults_file=faults_file, unhealthy_images=list(unhealthy_images), tenant_id=tenant_id,
            client_ip=client_ip)
    except ServeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exitcodes.EXIT_ERROR)


if __name__ == "__main__":  # pragma: no cover
    main()
