"""Test helpers: autospec'd SDK clients, environment loading, and a local-cloud-backed session."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import create_autospec

import steps
from provisioner.azure import CLIENTS
from provisioner.runner import Session, load_session

ROOT = Path(__file__).resolve().parent.parent
ENVS = ROOT / "envs"
SUB = "00000000-0000-0000-0000-000000000000"


def _operation_groups(client_cls: type) -> dict[str, str]:
    """Operation-group attributes of a generated client, read from its `:vartype name: path` docstring."""
    # The type may wrap onto the next line (`:vartype firewall_rules:\n     azure.mgmt....`): allow any whitespace.
    return dict(re.findall(r":vartype (\w+):\s+([\w.]+)", client_cls.__doc__ or ""))


def autospec_clients() -> SimpleNamespace:
    """Every client attribute our steps use, with operation groups autospec'd from the real SDK classes:
    a wrong method name or argument fails the test."""
    out = SimpleNamespace()
    for attr, (module, cls_name) in CLIENTS.items():
        client_cls = getattr(importlib.import_module(module), cls_name)
        groups = SimpleNamespace()
        for name, path in _operation_groups(client_cls).items():
            mod, _, cls = path.rpartition(".")
            try:
                group_cls = getattr(importlib.import_module(mod), cls)
            except (ImportError, AttributeError):
                continue
            setattr(groups, name, create_autospec(group_cls, instance=True))
        setattr(out, attr, groups)
    out.secrets = lambda vault_url: create_autospec(
        importlib.import_module("azure.keyvault.secrets").SecretClient, instance=True)
    return out


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
