"""Wires one command run together: load + validate, pick the target, plan, apply; no rendering, no click."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from provisioner.core.errors import ConfigError, ConfigProblem, TargetError
from provisioner.core.model import Outcome, Plan
from provisioner.engine import config as config_mod
from provisioner.engine.children import Children
from provisioner.engine.config import EnvironmentSpec, SectionUnavailable
from provisioner.engine.executor import Event, Executor, Note, Timing
from provisioner.engine.graph import Graph, GraphError, build
from provisioner.engine.locks import lock_ids
from provisioner.engine.reconciler import Policy, lock_scopes, plan
from provisioner.engine.step import Step, check_section

STATE_DIR = Path(".provisioner")


@dataclass
class Session:
    """A validated environment: its spec, its step instances and their dependency graph."""

    env: EnvironmentSpec
    steps: list[Step]
    graph: Graph
    warnings: list[ConfigProblem] = field(default_factory=list)
    children: list[Children] = field(default_factory=list)  # collections we own whole (steps/owned.py)


def load_session(env_name: str, registry: Sequence[ModuleType], envs_dir: Path = Path("envs"),
                 overrides: dict[str, str] | None = None) -> Session:
    """Parse and check everything offline; raises ConfigError with every problem at once."""
    sections = {m.SECTION: m.Config for m in registry if getattr(m, "SECTION", None)}
    spec, problems = config_mod.load_partial(env_name, sections, envs_dir, overrides)
    steps: list[Step] = []
    children: list[Children] = []
    for module in registry:
        try:
            problems += check_section(module, spec)
            steps += module.instances(spec)
            children += getattr(module, "children", lambda _env: [])(spec)
        except ConfigError as exc:
            problems += exc.problems
        except SectionUnavailable:
            continue  # its schema problems are already in the list
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConfigError(problems)
    locked = lock_scopes(steps)
    ids = lock_ids([(s.name, s.ref) for s in steps])
    for step in steps:
        step.locked_scopes = locked  # deletes under a lock are left for a person (reconciler.delete_blocked)
        step.lock_ids = ids  # and the reports name the lock to lift
    try:
        graph = build([(s.name, s.depends_on) for s in steps])
    except GraphError as exc:
        raise ConfigError([ConfigProblem("steps/", "depends_on", str(exc))]) from None
    return Session(spec, steps, graph, [p for p in problems if p.severity != "error"], children)


@dataclass
class TargetSpec:
    cloud: str | None = None  # "local" for the embedded local cloud
    arm_endpoint: str | None = None
    subscription: str | None = None
    state_dir: Path = STATE_DIR
    latency: str = "fast"


@dataclass
class Connection:
    clients: Any
    timing: Timing
    local_cloud: Any = None
    description: str = ""


@contextmanager
def connect(session: Session, spec: TargetSpec) -> Iterator[Connection]:
    """Open clients for the chosen target; the embedded local cloud lives as long as the block."""
    from provisioner.azure import Clients, Target, check_access

    if spec.cloud == "local":
        from provisioner.localcloud import LocalCloud

        try:
            spec.state_dir.mkdir(parents=True, exist_ok=True)
            lock = _lock_state_dir(spec.state_dir)
        except OSError as exc:  # read-only file system, no permission: one line naming the path
            raise TargetError(f"--state-dir {spec.state_dir}: {exc.strerror or exc}") from None
        cloud = LocalCloud(state_file=spec.state_dir / "localcloud-state.json",
                           request_log=spec.state_dir / "localcloud-requests.jsonl", latency=spec.latency)
        url = cloud.start()
        try:
            target = Target(session.env.subscription_id, url, local=True, polling_interval=0.05,
                            ca_file=str(cloud.ca_file))
            clients = Clients(target)
            check_tenant(session.env, clients)
            yield Connection(clients, Timing.local(), cloud, f"local cloud at {url} (state in {spec.state_dir})")
        finally:
            cloud.stop()
            lock.close()  # releases the flock
        return
    if spec.arm_endpoint:
        local = spec.arm_endpoint.startswith("http://")
        ca_file = None
        if local:
            # A plain-http endpoint is a local cloud; its Key Vault data plane uses the shipped certificate.
            from provisioner.localcloud import tls

            ca_file = str(tls.ca_file())
        target = Target(session.env.subscription_id, spec.arm_endpoint, local=local,
                        polling_interval=0.05 if local else 5.0, ca_file=ca_file)
        clients = Clients(target)
        check_access(clients, session.env.resource_name("resource_group"))
        check_tenant(session.env, clients)
        yield Connection(clients, Timing.local() if local else Timing(), None, f"ARM endpoint {spec.arm_endpoint}")
        return
    if session.env.subscription_id == config_mod.LOCAL_SUBSCRIPTION:
        raise TargetError("no subscription: set subscription_id in the env file, pass --subscription or set "
                          "AZURE_SUBSCRIPTION_ID (or use --cloud local)")
    clients = Clients(Target(session.env.subscription_id))
    check_access(clients, session.env.resource_name("resource_group"))
    check_tenant(session.env, clients)
    yield Connection(clients, Timing(), None, "Azure")


def check_tenant(env: EnvironmentSpec, clients: Any) -> str | None:
    """The subscription's tenant, learned from Azure before anything is planned. An env file may pin
    tenant_id; a pin that differs would give the vault a tenant whose data plane refuses every token
    (AKV10032), so it is a configuration error naming the file and key. A failed lookup is left to the
    key_vault step, which needs the tenant and reports it as unread (the rest of the plan still runs)."""
    from provisioner.core.errors import AzureCallError

    try:
        actual = clients.subscription_tenant()
    except AzureCallError:
        return None
    pinned = env.overrides.get("tenant_id") or env.core.tenant_id
    if pinned and pinned.lower() != actual.lower():
        raise ConfigError([ConfigProblem(
            env.where("tenant_id"), "tenant_id",
            f"{pinned} is not the tenant of subscription {env.subscription_id} ({actual}, from Azure): a vault "
            "with this tenantId refuses every token (AKV10032); correct it or remove the key")])
    return actual


def make_plan(session: Session, conn: Connection, policy: Policy = Policy(), workers: int = 10,
              on_read: Callable[[str], None] | None = None, inventory: bool = False) -> tuple[Plan, dict[str, dict | None]]:
    the_plan, known = plan(session.env.name, session.steps, session.graph, conn.clients, policy,
                           session.env.is_production, workers, on_read, session.children)
    if inventory and known.get("resource_group") is not None:
        from dataclasses import replace

        from provisioner.azure.inventory import unmanaged

        found = unmanaged(session.steps, conn.clients, session.env.resource_name("resource_group"))
        # A child of a collection we own is already in the plan (drift), not an unmanaged resource.
        owned_ids = {c.ref.id.lower() for c in the_plan.changes if c.collection}
        found = tuple(f for f in found if f[0].lower() not in owned_ids)
        the_plan = replace(the_plan, unmanaged=found)
    return the_plan, known


def apply(session: Session, conn: Connection, the_plan: Plan, known: dict[str, dict | None],
          policy: Policy = Policy(), workers: int = 10, on_event: Event | None = None,
          on_interrupt: Callable[[int, list[str]], None] | None = None,
          guard: Callable[[], None] | None = None, on_note: Note | None = None) -> tuple[list[Outcome], float]:
    started = time.monotonic()
    executor = Executor(session.steps, session.graph, conn.clients, policy, session.env.is_production,
                        workers, conn.timing, on_event, on_interrupt, session.children, guard, on_note)
    outcomes = executor.run(the_plan, known)
    return outcomes, time.monotonic() - started


@contextmanager
def hold_run_lock(session: Session, conn: Connection, command: str) -> Iterator[Any]:
    """Hold the environment's run lock (a renewed blob lease) for the block; waits for another holder."""
    import sys

    from provisioner.core.errors import AzureCallError
    from provisioner.operate.runlock import describe_failure, open_lock

    def tell(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        lock = open_lock(session.env, conn.clients, tell, command)
        lock.acquire()
    except AzureCallError as exc:
        raise TargetError(describe_failure(exc, session.env)) from None
    try:
        yield lock
    finally:
        lock.release()


def check_target(spec: TargetSpec) -> None:
    if spec.cloud not in (None, "local", "azure"):
        raise TargetError(f"unknown --cloud {spec.cloud!r}: use 'local' or 'azure'")
    if spec.cloud == "local" and spec.arm_endpoint:
        raise TargetError("--cloud local and --arm-endpoint are exclusive")


def _lock_state_dir(state_dir: Path) -> Any:
    """One run at a time on an embedded local cloud's state: two servers on one state file would each
    overwrite the other's writes. The OS drops the lock if the process dies, so it never goes stale."""
    import fcntl
    import os

    handle = (state_dir / "run.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another run"
        handle.close()
        raise TargetError(f"{state_dir} is in use by {holder}; wait for it to finish") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle
