"""Command line: validate, plan, provision, drift, deploy, rollback, cost, localcloud serve. Exit codes only; logic lives elsewhere.

Exit codes are provisioner/cli/exitcodes.py (the README's "Exit codes" table is checked against it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from provisioner.cli import exitcodes
from provisioner.cli.guard import Main, arm_endpoint, check_out_path, check_state_dir
from provisioner.core.errors import ConfigError, ProvisionerError

OUTPUTS = click.Choice(["text", "json", "markdown"])


def _registry() -> Any:
    import steps

    return steps.ALL_STEPS


def _fail(exc: ProvisionerError) -> None:
    if isinstance(exc, ConfigError):
        errors = [p for p in exc.problems if p.severity == "error"]
        warnings = [p for p in exc.problems if p.severity != "error"]
        click.echo(f"Invalid configuration: {len(errors)} error(s), {len(warnings)} warning(s)", err=True)
        for p in errors + warnings:
            click.echo(f"  {p.severity}: {p}", err=True)
    else:
        click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


def _emit(text: str, out: str | None) -> None:
    if out:
        try:
            Path(out).write_text(text)
        except OSError as exc:
            click.echo(f"error: --out {out}: {exc.strerror or exc}", err=True)
            sys.exit(exitcodes.EXIT_ERROR)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


def env_options(fn: Any) -> Any:
    fn = click.option("--envs-dir", type=click.Path(path_type=Path), default=Path("envs"), show_default=True,
                      help="Folder with common.toml and <env>.toml.")(fn)
    return click.option("--env", "env_name", required=True, help="dev, staging or production.")(fn)


def target_options(fn: Any) -> Any:
    fn = click.option("--cloud", type=click.Choice(["azure", "local"]), default=None,
                      help="'local' starts the embedded local cloud (state under .provisioner/).")(fn)
    fn = click.option("--arm-endpoint", default=None, callback=arm_endpoint,
                      help="Any ARM-compatible endpoint URL (a running local cloud, Azure Stack Hub).")(fn)
    fn = click.option("--subscription", default=None, envvar="AZURE_SUBSCRIPTION_ID", help="Azure subscription id.")(fn)
    fn = click.option("--state-dir", type=click.Path(path_type=Path), default=Path(".provisioner"), show_default=True,
                      help="Where the embedded local cloud keeps its state.")(fn)
    fn = click.option("--latency", type=click.Choice(["fast", "realistic"]), default="fast",
                      help="Embedded local cloud latency profile.")(fn)
    return click.option("--workers", type=click.IntRange(1, 64), default=10, show_default=True, help="Concurrent reads/writes.")(fn)


def _session_and_target(env_name: str, envs_dir: Path, cloud: str | None, arm_endpoint: str | None,
                        subscription: str | None, state_dir: Path, latency: str) -> tuple[Any, Any]:
    from provisioner.cli.session import TargetSpec, check_target, load_session

    overrides = {"subscription_id": subscription} if subscription and cloud != "local" else {}
    session = load_session(env_name, _registry(), envs_dir, overrides)
    for w in session.warnings:
        click.echo(f"warning: {w}", err=True)
    spec = TargetSpec(cloud if cloud != "azure" else None, arm_endpoint, subscription, state_dir, latency)
    check_target(spec)
    if spec.cloud == "local":
        check_state_dir(state_dir)
    return session, spec


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]}, epilog=exitcodes.epilog())
@click.version_option("0.1.0", prog_name="provisioner")
def main() -> None:
    """Converge the Fundrbolt Azure environments through the Azure management SDKs."""


@main.command()
@env_options
def validate(env_name: str, envs_dir: Path) -> None:
    """Check the environment files offline (no request is sent). Exit 0 valid, 1 invalid."""
    from provisioner.cli.session import load_session

    try:
        session = load_session(env_name, _registry(), envs_dir)
    except ProvisionerError as exc:
        _fail(exc)
        return
    for w in session.warnings:
        click.echo(f"warning: {w}")
    click.echo(f"{env_name}: valid ({len(session.steps)} resources, {len(session.warnings)} warning(s))")


@main.command()
@env_options
@target_options
@click.option("--output", "-o", type=OUTPUTS, default="text", show_default=True)
@click.option("--out", type=click.Path(), default=None, help="Write the report to a file.")
@click.option("--show-ignored", is_flag=True, help="List every field the differ ignored, with its rule.")
def plan(env_name: str, envs_dir: Path, cloud: str | None, arm_endpoint: str | None, subscription: str | None,
         state_dir: Path, latency: str, workers: int, output: str, out: str | None, show_ignored: bool) -> None:
    """Dry run: what provision would change. Exit 0 no changes, 2 changes pending, 1 error."""
    from provisioner.cli import commands

    try:
        check_out_path(out)
        session, spec = _session_and_target(env_name, envs_dir, cloud, arm_endpoint, subscription, state_dir, latency)
        text, code = commands.plan(session, spec, output, workers, show_ignored)
    except ProvisionerError as exc:
        _fail(exc)
        return
    _emit(text, out)
    sys.exit(code)


@main.command()
@env_options
@target_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (production asks otherwise).")
@click.option("--dry-run", is_flag=True, help="Only show the plan (same as `plan`).")
@click.option("--allow-replace", is_flag=True, help="Allow delete + re-create of resources that hold no data.")
@click.option("--output", "-o", type=OUTPUTS, default="text", show_default=True)
def provision(env_name: str, envs_dir: Path, cloud: str | None, arm_endpoint: str | None, subscription: str | None,
              state_dir: Path, latency: str, workers: int, yes: bool, dry_run: bool, allow_replace: bool, output: str) -> None:
    """Converge the environment. Exit 0 converged, 1 any failure, 130 interrupted; --dry-run exits as `plan`."""
    from provisioner.cli import commands

    try:
        session, spec = _session_and_target(env_name, envs_dir, cloud, arm_endpoint, subscription, state_dir, latency)
        if dry_run:
            text, code = commands.plan(session, spec, output, workers, False)
            click.echo(text, nl=False)
            sys.exit(code)  # it is `plan`: 2 when changes are pending
        code = commands.provision(session, spec, output, workers, yes, allow_replace, confirm=_confirm)
    except ProvisionerError as exc:
        _fail(exc)
        return
    if code == exitcodes.EXIT_INTERRUPTED:
        # After a second Ctrl-C worker threads may still be polling operations; exiting normally would join
        # them (minutes). Their operations continue in Azure either way.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _operate(env_name: str, envs_dir: Path, cloud: str | None, arm_endpoint: str | None, subscription: str | None,
             state_dir: Path, latency: str, action: Callable[[Any, Any, Any], int]) -> None:
    """deploy/rollback: build the session and target, run one operation (provisioner/cli/deploys.py), exit with its code."""
    from provisioner.cli import deploys as operate

    try:
        session, spec = _session_and_target(env_name, envs_dir, cloud, arm_endpoint, subscription, state_dir, latency)
        code = action(operate, session, spec)
    except ProvisionerError as exc:
        _fail(exc)
        return
    sys.exit(code)


def _confirm(prompt: str) -> bool:
    if not sys.stdin.isatty():
        click.echo(f"{prompt} [refused: no terminal to confirm on; pass --yes]", err=True)
        return False
    return click.confirm(prompt, default=False, err=True)


@main.command()
@env_options
@target_options
@click.option("--output", "-o", type=OUTPUTS, default="text", show_default=True)
@click.option("--out", type=click.Path(), default=None, help="Write the report to a file.")
@click.option("--show-ignored", is_flag=True, help="List every field the differ ignored, with its rule.")
def drift(env_name: str, envs_dir: Path, cloud: str | None, arm_endpoint: str | None, subscription: str | None,
          state_dir: Path, latency: str, workers: int, output: str, out: str | None, show_ignored: bool) -> None:
    """What changed out of band, and managed resources that are missing. Exit 0 in sync, 2 drift, 1 error."""
    from provisioner.cli import commands

    try:
        check_out_path(out)
        session, spec = _session_and_target(env_name, envs_dir, cloud, arm_endpoint, subscription, state_dir, latency)
        text, code = commands.drift(session, spec, output, workers, show_ignored)
    except ProvisionerError as exc:
        _fail(exc)
        return
    _emit(text, out)
    sys.exit(code)


@main.group()
def deploy() -> None:
    """Deploy the API (blue-green through the staging slot) or the admin frontend. Exit 0 deployed, 1 failed."""


@deploy.command("backend")
@env_options
@target_options
@click.option("--image", required=True, metavar="REPO:TAG", help="Container image to run, with an explicit tag.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (production asks otherwise).")
@click.option("--pre-swap", default=None, metavar="CMD",
              help="Shell command run after the slot is healthy and before the swap (e.g. Alembic migrations); "
                   "non-zero stops the deploy. Gets DEPLOY_ENV, DEPLOY_IMAGE, DEPLOY_SLOT_URL.")
@click.option("--health-timeout", type=float, default=None, metavar="SECONDS",
              help="How long each health gate waits for 200 [300 on Azure, 30 on a local cloud].")
def deploy_backend(env_name: str, envs_dir: Path, cloud: str | None, arm_endpoint: str | None, subscription: str | None,
                   state_dir: Path, latency: str, workers: int, image: str, yes: bool, pre_swap: str | None,
                   health_timeout: float | None) -> None:
    """Set IMAGE on the staging slot, wait for its /health, swap into production, check production (swap back
    on failure). Without a slot (dev on Basic) deploy in place. Exit 0 deployed, 1 failed (says which check)."""
    _operate(env_name, envs_dir, cloud, arm_endpoint, subscription, state_dir, latency,
             lambda operate, session, spec: operate.deploy_backend(session, spec, image, yes, pre_swap, health_timeout, _confirm))


@deploy.command("frontend")
@env_options
@target_options
@click.option("--dist", required=True, type=click.Path(path_type=Path), help="The admin build folder (with index.html).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (production asks otherwise).")
def deploy_frontend(env_name: str, envs_dir: Path, cloud: str | None, arm_endpoint: str | None, subscription: str | None,
                    state_dir: Path, latency: str, workers: int, dist: Path, yes: bool) -> None:
    """Upload the admin build to the environment's Static Web App. Exit 0 deployed, 1 failed."""
    _operate(env_name, envs_dir, cloud, arm_endpoint, subscription, state_dir, latency,
             lambda operate, session, spec: operate.deploy_frontend(session, spec, dist, yes, _confirm))


@main.command()
@env_options
@target_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (production asks otherwise).")
@click.option("--health-timeout", type=float, default=None, metavar="SECONDS",
              help="How long each health gate waits for 200 [300 on Azure, 30 on a local cloud].")
def rollback(env_name: str, envs_dir: Path, cloud: str | None, arm_endpoint: str | None, subscription: str | None,
             state_dir: Path, latency: str, workers: int, yes: bool, health_timeout: float | None) -> None:
    """Swap the previous version (on the staging slot) back into production, with the deploy's health checks.
    Exit 0 rolled back, 1 failed."""
    _operate(env_name, envs_dir, cloud, arm_endpoint, subscription, state_dir, latency,
             lambda operate, session, spec: operate.rollback_backend(session, spec, yes, health_timeout, _confirm))


@main.command()
@env_options
@click.option("--output", "-o", type=OUTPUTS, default="text", show_default=True)
@click.option("--out", type=click.Path(), default=None, help="Write the report to a file.")
@click.option("--prices", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A price table (JSON) instead of the bundled one (scripts/refresh_prices.py writes one).")
@click.option("--fail-over-budget", is_flag=True,
              help="Exit 1 when the estimate, or the estimate with autoscale at its maximum, exceeds the budget.")
def cost(env_name: str, envs_dir: Path, output: str, out: str | None, prices: Path | None,
         fail_over_budget: bool) -> None:
    """Monthly estimate per resource from its declared SKU and size, the total against the budget and the
    architecture document's estimate. Offline: no request is sent. Exit 0 report written, 1 error (or, with
    --fail-over-budget, over budget)."""
    from provisioner.cli import cost_report
    from provisioner.cli.session import load_session
    from provisioner.operate import cost as cost_mod

    try:
        session = load_session(env_name, _registry(), envs_dir)
        est = cost_report.for_session(env_name, session.steps, cost_mod.load_prices(prices))
    except ProvisionerError as exc:
        _fail(exc)
        return
    render = {"json": cost_report.to_json, "markdown": cost_report.markdown}.get(output, cost_report.text)
    _emit(render(est), out)
    if fail_over_budget and (reasons := cost_report.gate(est)):
        for reason in reasons:
            click.echo(f"error: {env_name} is over budget: {reason}", err=True)
        sys.exit(exitcodes.EXIT_ERROR)


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
