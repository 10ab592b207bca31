"""The security baseline: which built-ins the platform assigns (policy/baseline.toml, each left-out class with
its reason and a check a test applies), their assignment parameters, and the exemptions an environment declares
(env files, `[policy.exemptions.<name>]`, recorded as Azure Policy exemptions record them)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from provisioner.core.errors import ConfigError, ConfigProblem
from provisioner.engine.config import Section, suggest
from provisioner.engine.policy.definitions import POLICY_DIR, Definition, builtins, by_reference

# The checks a left-out class can name (tests/unit/test_policy_baseline.py applies each to every member).
Check = Literal["function-app", "type-not-provisioned", "required-parameter"]


class NotAssigned(BaseModel):
    """A class of built-ins the platform does not assign, with why, and the check that proves membership."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    reason: str = Field(min_length=20)
    check: Check
    definitions: list[str] = Field(min_length=1)


class BaselineFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    not_assigned: dict[str, NotAssigned]
    # reference id -> assignment parameter values; "{placeholder}" strings are filled from the environment
    parameters: dict[str, dict[str, Any]] = {}


class Exemption(BaseModel):
    """An Azure Policy exemption (Microsoft.Authorization/policyExemptions, exemption-structure.md): at the
    environment's resource group, for the baseline assignment's definitions named by reference id."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    exemption_category: Literal["Waiver", "Mitigated"]
    description: str = Field(min_length=20, max_length=1024)  # Azure: up to 1024 characters
    policy_definition_reference_ids: list[str] = Field(min_length=1)
    display_name: str | None = Field(default=None, max_length=128)
    expires_on: date | None = None


class PolicyConfig(Section):
    """`[policy]` in the env files."""

    exemptions: dict[str, Exemption] = {}


@dataclass(frozen=True)
class Baseline:
    """What is assigned: every built-in not in a left-out class, with its parameter values (unresolved)."""

    classes: Mapping[str, NotAssigned]
    parameters: Mapping[str, Mapping[str, Any]]  # reference id -> values
    definitions: tuple[Definition, ...]

    def left_out(self) -> dict[str, str]:
        """reference id (lower-cased) -> class name."""
        return {ref.lower(): name for name, cls in self.classes.items() for ref in cls.definitions}

    @property
    def assigned(self) -> tuple[Definition, ...]:
        out = self.left_out()
        return tuple(d for d in self.definitions if d.reference_id.lower() not in out)

    def values(self, definition: Definition, facts: Mapping[str, str]) -> dict[str, Any]:
        given = next((v for k, v in self.parameters.items() if k.lower() == definition.reference_id.lower()), {})
        return definition.values({k: fill(v, facts) for k, v in given.items()})


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(value: Any, facts: Mapping[str, str]) -> Any:
    """Replace `{name}` with the environment's fact of that name (a resource id, a location)."""
    if isinstance(value, str):
        def one(found: re.Match[str]) -> str:
            key = found.group(1)
            if key not in facts:
                raise KeyError(key)
            return facts[key]
        return _PLACEHOLDER.sub(one, value)
    if isinstance(value, list):
        return [fill(v, facts) for v in value]
    return value


@cache
def load(root: Path = POLICY_DIR) -> Baseline:
    """policy/baseline.toml, validated: every problem names the file and key."""
    path = root / "baseline.toml"
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([ConfigProblem(str(path), "(file)", f"cannot read: {exc}")]) from None
    try:
        parsed = BaselineFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([ConfigProblem(str(path), ".".join(str(p) for p in e["loc"]), e["msg"])
                           for e in exc.errors()]) from None
    known = by_reference(root)
    problems = []
    seen: dict[str, str] = {}
    for name, cls in parsed.not_assigned.items():
        for i, ref in enumerate(cls.definitions):
            key = f"not_assigned.{name}.definitions[{i}]"
            if ref.lower() not in known:
                problems.append(ConfigProblem(str(path), key, f"{ref!r} is no built-in in {root / 'builtins'}"
                                              f"{suggest(ref, [d.reference_id for d in builtins(root)], ':')}"))
            elif ref.lower() in seen:
                problems.append(ConfigProblem(str(path), key, f"{ref!r} is already in class {seen[ref.lower()]!r}"))
            seen[ref.lower()] = name
    for ref in parsed.parameters:
        if ref.lower() not in known:
            problems.append(ConfigProblem(str(path), f"parameters.{ref}", f"{ref!r} is no built-in"
                                          f"{suggest(ref, [d.reference_id for d in builtins(root)], ':')}"))
    if problems:
        raise ConfigError(problems)
    return Baseline(parsed.not_assigned, parsed.parameters, builtins(root))


def exemption_problems(config: PolicyConfig, where: Any, root: Path = POLICY_DIR) -> list[ConfigProblem]:
    """Each exemption names assigned definitions; `where(key)` is the file a key came from."""
    baseline = load(root)
    known = by_reference(root)
    left_out = baseline.left_out()
    problems: list[ConfigProblem] = []
    for name, exemption in config.exemptions.items():
        for i, ref in enumerate(exemption.policy_definition_reference_ids):
            key = f"policy.exemptions.{name}.policy_definition_reference_ids[{i}]"
            definition = known.get(ref.lower())
            if definition is None:
                problems.append(ConfigProblem(where(key), key, f"{ref!r} is no built-in definition"
                                              f"{suggest(ref, [d.reference_id for d in baseline.definitions], ':')}"))
            elif definition.reference_id.lower() in left_out:
                problems.append(ConfigProblem(where(key), key, f"{ref!r} is not assigned (class "
                                              f"{left_out[definition.reference_id.lower()]!r} in policy/baseline.toml): "
                                              "there is nothing to exempt"))
        if exemption.expires_on and exemption.expires_on < date.today():
            key = f"policy.exemptions.{name}.expires_on"
            problems.append(ConfigProblem(where(key), key, f"expired on {exemption.expires_on}: the definitions it "
                                          "names count as not met again", severity="warning"))
    return problems


def exempted(config: PolicyConfig, today: date) -> dict[str, tuple[str, Exemption]]:
    """reference id (lower-cased) -> (exemption name, exemption), for exemptions in force today."""
    out: dict[str, tuple[str, Exemption]] = {}
    for name, exemption in config.exemptions.items():
        if exemption.expires_on and exemption.expires_on < today:
            continue
        for ref in exemption.policy_definition_reference_ids:
            out[ref.lower()] = (name, exemption)
    return out
