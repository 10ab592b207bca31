"""Shared building blocks for steps: ARM-located resources, name rules and common normalizers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from provisioner.core.errors import ConfigProblem
from provisioner.core.model import ResourceRef
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import AZURE_MANAGED_TAGS, Rules, location, lower
from provisioner.engine.step import Step

# Every tracked resource: location is fixed at create (a change means re-create), and ARM normalizes
# `East US` to `eastus` (arm-examples: webtests 'South Central US' -> 'southcentralus').
COMMON = Rules(normalizers=(("location", location),), replace_on=("location",))
# Azure manages some tags itself (arm-examples: webtests and metric alerts gain `hidden-link:` tags): one rule
# for every step in the differ, provisioner.engine.diff.AZURE_MANAGED_TAGS. Kept as a name for older step code.
AZURE_TAGS = AZURE_MANAGED_TAGS


class ArmStep(Step):
    """A resource addressed as /subscriptions/../resourceGroups/../providers/<type>/<name>."""

    def parent_path(self) -> str | None:
        return None

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.env.subscription_id, self.resource_group, self.type, self.resource_name, self.parent_path())

    def base(self, **properties: Any) -> dict[str, Any]:
        """The envelope every tracked resource shares: location, tags, properties."""
        body: dict[str, Any] = {"location": self.env.location, "tags": self.tags()}
        if properties:
            body["properties"] = properties
        return body


def absent_is(default: Any) -> Callable[[Any], Any]:
    """A normalizer for settings ARM returns as null until someone sets them; null means the default
    (e.g. publicNetworkAccess null = Enabled, cors null = no origins)."""
    def normalize(value: Any) -> Any:
        value = default if value is None else value
        return value.lower() if isinstance(value, str) else value
    return normalize


# Types whose platform resources have no managed identity declare `identity: {"type": "None"}` (NONE): one
# attached by hand gives the resource an identity that can be granted access elsewhere, which is drift, and
# the next PUT or PATCH sends "None" back. ARM returns no identity at all for most of them until one is set.
NONE = {"type": "None"}
NO_IDENTITY = Rules(normalizers=(("identity.type", absent_is("None")),),
                    absent=("identity.userAssignedIdentities", "identity.principalId"), exact=(), case_insensitive_keys=())


def off_is_none(value: Any) -> Any:
    """A feature object that is switched off (`{"enabled": false, ...}`) is no feature at all."""
    return None if isinstance(value, dict) and value.get("enabled") is False else value


def rules(*parts: Rules) -> Rules:
    out = COMMON
    for part in parts:
        out = out.merged(part)
    return out


def name_problems(env: EnvironmentSpec, key: str, pattern: str, rule: str,
                  extra: Callable[[str], str | None] | None = None) -> list[ConfigProblem]:
    """Check a resource name made by `naming.<key>` against Azure's rule for its type."""
    try:
        value = env.resource_name(key)
    except Exception as exc:  # a bad template is reported by the config layer with its key
        return [ConfigProblem(env.where(f"naming.{key}"), f"naming.{key}", str(exc))]
    problems = []
    if not re.fullmatch(pattern, value):
        problems.append(ConfigProblem(env.where(f"naming.{key}"), f"naming.{key}", f"{value!r} is not a valid name: {rule}"))
    elif extra and (msg := extra(value)):
        problems.append(ConfigProblem(env.where(f"naming.{key}"), f"naming.{key}", f"{value!r} is not a valid name: {msg}"))
    return problems


def no_double_hyphen(value: str) -> str | None:
    return "must not contain '--'" if "--" in value else None


__all__ = ["AZURE_TAGS", "NO_IDENTITY", "NONE", "absent_is", "COMMON", "ArmStep", "lower", "name_problems", "no_double_hyphen", "rules"]
