"""Test helpers: autospec'd SDK clients, environment loading, and a local-cloud-backed session."""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import create_autospec

import steps
from provisioner.azure import CLIENTS
from provisioner.cli.session import Session, load_session

ROOT = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    """../shared (arm-examples, azure-policy, design notes): beside the checkout, or beside the folder of
    worktrees a checkout sits in (/work/wt/<name> -> /work/shared)."""
    for base in ROOT.parents:
        if (base / "shared" / "arm-examples").is_dir():
            return base / "shared"
    return ROOT.parent / "shared"


SHARED = _shared()
ENVS = ROOT / "envs"
SUB = "00000000-0000-0000-0000-000000000000"


def _operation_groups(client_cls: type) -> dict[str, str]:
    """Operation-group attributes of a generated client, read from its `:vartype name: path` docstring."""
    # The type may wrap onto the next line (`:vartype firewall_rules:\n     azure.mgmt....`): allow any whitespace.
    return dict(re.findall(r":vartype (\w+):\s+([\w.]+)", client_cls.__doc__ or ""))


class _LazyGroups:
    """A client's operation groups, each autospec'd from the real SDK class on first use (building all of
    them up front costs seconds per test)."""

    def __init__(self, groups: dict[str, str]):
        self._groups = groups

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._groups:
            raise AttributeError(name)
        mod, _, cls = self._groups[name].rpartition(".")
        value = create_autospec(getattr(importlib.import_module(mod), cls), instance=True)
        setattr(self, name, value)
        return value


@cache
def _client_groups(attr: str) -> dict[str, str]:
    module, cls_name = CLIENTS[attr]
    return _operation_groups(getattr(importlib.import_module(module), cls_name))


def autospec_clients() -> SimpleNamespace:
    """Every client attribute our steps use, with operation groups autospec'd from the real SDK classes:
    a wrong method name or argument fails the test."""
    out = SimpleNamespace(**{attr: _LazyGroups(_client_groups(attr)) for attr in CLIENTS})
    out.secrets = lambda vault_url: create_autospec(
        importlib.import_module("azure.keyvault.secrets").SecretClient, instance=True)
    out.subscription_tenant = lambda: TENANT
    # A fast target: steps that poll (Key Vault reference statuses) poll briefly.
    out.target = SimpleNamespace(local=True, plain_http=True, polling_interval=0.01)
    # App settings wait for their Key Vault references: by default Azure reports every one resolved.
    web = out.web.web_apps
    web.get_app_settings_key_vault_references.return_value = references(*REFERENCES)
    web.get_app_settings_key_vault_references_slot.return_value = references(*REFERENCES)
    return out


TENANT = "72f988bf-0000-4000-8000-000000000001"
REFERENCES = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET_KEY")  # envs/common.toml [web_app.key_vault_references]


def references(*names: str, status: str = "Resolved", details: str = "") -> list[SimpleNamespace]:
    """What GET .../config/configreferences/appsettings lists (ApiKVReference), one per setting."""
    return [SimpleNamespace(name=n, properties=SimpleNamespace(status=status, details=details)) for n in names]


def serve_identity(clients: Any, principal: str | None, slot: bool = False) -> None:
    """The site (or its slot) as GET returns it to `raw`: with a system identity of `principal`, or none."""
    ident = {"type": "SystemAssigned", "principalId": principal} if principal else {"type": "None"}
    body = {"identity": ident, "properties": {}}

    def get(*args: Any, **kwargs: Any) -> Any:
        return kwargs["cls"](SimpleNamespace(http_response=SimpleNamespace(json=lambda: body)), None, {})

    (clients.web.web_apps.get_slot if slot else clients.web.web_apps.get).side_effect = get


def session(env: str = "dev", envs_dir: Path = ENVS) -> Session:
    return load_session(env, steps.ALL_STEPS, envs_dir)


def step(session: Session, name: str) -> Any:
    return next(s for s in session.steps if s.name == name)


def closure(session: Session, name: str) -> list[str]:
    """A step and everything it depends on, in order."""
    wanted = {name}
    for n in reversed(session.graph.order):
        if n in wanted:
            wanted.update(session.graph.deps[n])
    return [n for n in session.graph.order if n in wanted]


def sub_session(env: str, *names: str, envs_dir: Path = ENVS) -> Session:
    """The named steps of `env` with everything they depend on, and the owned collections under them."""
    from provisioner.engine.graph import build

    full = session(env, envs_dir)
    wanted = {n for name in names for n in closure(full, name)}
    chosen = [s for s in full.steps if s.name in wanted]
    kids = [c for c in full.children if c.parent_step in wanted]
    return Session(full.env, chosen, build([(s.name, s.depends_on) for s in chosen]), children=kids)


def copy_envs(tmp_path: Path) -> Path:
    """A scratch copy of the shipped env files, for tests that break them on purpose."""
    import shutil

    target = tmp_path / "envs"
    shutil.copytree(ENVS, target)
    return target


def password_sign_in(tmp_path: Path) -> Path:
    """A copy of the env files where the app signs in to PostgreSQL with the admin password (the shipped files use its
    managed identity: envs/common.toml [postgres] app_sign_in)."""
    envs = copy_envs(tmp_path)
    edit_env(envs, "common.toml", 'app_sign_in = "entra"', 'app_sign_in = "password"')
    return envs


def append_env(envs: Path, env: str, text: str) -> None:
    path = envs / f"{env}.toml"
    path.write_text(path.read_text() + "\n" + text)


def edit_env(envs: Path, file: str, old: str, new: str) -> None:
    text = (envs / file).read_text()
    assert text.count(old) == 1, f"{old!r} not found once in {file}"
    (envs / file).write_text(text.replace(old, new))


def config_problems(envs: Path, env: str = "dev") -> list:
    """Every problem loading `env` reports (the load must fail)."""
    import pytest

    from provisioner.core.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_session(env, steps.ALL_STEPS, envs)
    return info.value.problems


def waits_for_delegation(outcome: Any, zone: str = "dev.fundrbolt.app") -> bool:
    """An outcome held back because `zone` is not yet delegated from the apex (production has not run):
    what a lone dev run on a fresh local cloud does for its bindings, certificate and e-mail verification."""
    from provisioner.core.model import Status

    return outcome.status is Status.WAITING and f"delegate {zone}" in (outcome.error or "")


# A site's (slot's) connection strings: App Service creates the empty set with the site (steps/connection_strings.py
# comes_with_parent), so the planned create finds it already as declared once the site exists.
COMES_WITH_PARENT = ("connection_strings", "slot_connection_strings")


def created_fresh(outcome: Any) -> bool:
    """What a step's outcome is on a fresh cloud: applied, except a PostgreSQL parameter the tool sets to
    the value Azure's server already has by default (require_secure_transport, ssl_min_protocol_version,
    log_checkpoints: read back equal, nothing to write) and a set Azure creates with its parent."""
    from provisioner.core.model import Status

    return outcome.status is Status.APPLIED or (
        outcome.status is Status.UNCHANGED and (outcome.change.step.startswith("postgres_configuration:")
                                                or outcome.change.step in COMES_WITH_PARENT))


def meet_preconditions(sub: Session, clients: Any) -> None:
    """What another environment provides before this one runs: the sub-zones a delegation reads name servers
    from (production's dns_delegation:* steps)."""
    from steps.dns_delegation import Delegation

    for s in sub.steps:
        if isinstance(s, Delegation):
            clients.resource.resource_groups.create_or_update(s.child_group, {"location": "eastus"})
            clients.dns.zones.create_or_update(s.child_group, s.child, {"location": "global"})


def first_envs(envs: tuple[str, ...]) -> list[tuple[str, str]]:
    """(env, step) for every step, in the first environment that has it; a step validated through public DNS
    (or needing one that is) in production, whose apex zone needs no delegation."""
    from provisioner.engine.step import Step
    from steps.dns_delegation import NeedsPublicDns

    seen: dict[str, str] = {}
    for env in envs:
        full = session(env)
        by_name: dict[str, Step] = {s.name: s for s in full.steps}
        for s in full.steps:
            if env != "production" and any(isinstance(by_name[n], NeedsPublicDns) for n in closure(full, s.name)):
                continue
            seen.setdefault(s.name, env)
    return [(env, name) for name, env in seen.items()]


@cache
def cache_envs() -> Path:
    """The shipped env files with [redis] kind = "cache": environments that still run Azure Cache for Redis."""
    import shutil
    import tempfile

    target = Path(tempfile.mkdtemp(prefix="cache-envs-")) / "envs"
    shutil.copytree(ENVS, target)
    for env in ("dev", "staging", "production"):
        path = target / f"{env}.toml"
        path.write_text(path.read_text().replace("[redis]\n", '[redis]\nkind = "cache"\n', 1))
    return target


def cache_session(env: str = "dev") -> Session:
    """A session of `env` as it is when it runs on Azure Cache for Redis."""
    return session(env, cache_envs())
