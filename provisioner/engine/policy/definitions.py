"""Built-in policy definitions as Microsoft publishes them (policy/builtins/, copied unchanged from
Azure/azure-policy): loading, parameters with their defaults, the effect an assignment gets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from provisioner.engine.policy.expressions import ExpressionError, Scope, resolve

# The repository's copy of the definitions (policy/builtins/INDEX.md says how they were chosen).
POLICY_DIR = Path(__file__).resolve().parents[3] / "policy"
IF_NOT_EXISTS = ("auditifnotexists", "deployifnotexists")


@dataclass(frozen=True)
class Definition:
    """One built-in. `reference_id` is its file name without `.json`: unique among the copies, and what an
    exemption's policyDefinitionReferenceIds and the baseline name it by (an initiative's reference id)."""

    name: str  # the GUID (`name` in the file)
    id: str  # /providers/Microsoft.Authorization/policyDefinitions/<name>
    reference_id: str
    display_name: str
    category: str
    file: str  # path under policy/builtins
    mode: str
    version: str
    parameters: Mapping[str, Any]
    rule: Mapping[str, Any]

    @property
    def condition(self) -> Mapping[str, Any]:
        return _key(self.rule, "if") or {}

    @property
    def then(self) -> Mapping[str, Any]:
        return _key(self.rule, "then") or {}

    @property
    def details(self) -> Mapping[str, Any]:
        value = _key(self.then, "details")
        return value if isinstance(value, Mapping) else {}

    def required(self) -> tuple[str, ...]:
        """Parameters without a defaultValue: an assignment must give them."""
        return tuple(k for k, v in self.parameters.items() if "defaultValue" not in v)

    def values(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Every parameter's value: the assignment's, else the definition's default."""
        out = {k: v["defaultValue"] for k, v in self.parameters.items() if "defaultValue" in v}
        lower = {k.lower(): k for k in self.parameters}
        for key, value in given.items():
            out[lower.get(key.lower(), key)] = value
        return out

    def effect(self, values: Mapping[str, Any]) -> str:
        """The effect for these parameter values, lower-cased (`auditifnotexists`)."""
        raw = _key(self.then, "effect")
        try:
            return str(resolve(raw, Scope(parameters=values))).lower()
        except ExpressionError:
            return str(raw).lower()

    @property
    def if_not_exists(self) -> bool:
        return self.effect(self.values({})) in IF_NOT_EXISTS


def _key(mapping: Any, key: str) -> Any:
    if not isinstance(mapping, Mapping):
        return None
    for k, v in mapping.items():
        if k.lower() == key:
            return v
    return None


def load(path: Path, root: Path) -> Definition:
    doc = json.loads(path.read_text())
    props = doc["properties"]
    return Definition(
        name=doc["name"], id=doc["id"], reference_id=path.stem, display_name=props["displayName"],
        category=str((props.get("metadata") or {}).get("category") or path.parent.name),
        file=str(path.relative_to(root)), mode=props.get("mode", "Indexed"), version=str(props.get("version", "")),
        parameters=props.get("parameters") or {}, rule=props["policyRule"])


@cache
def builtins(root: Path = POLICY_DIR) -> tuple[Definition, ...]:
    """Every definition under <root>/builtins, in file order."""
    base = root / "builtins"
    return tuple(load(p, base) for p in sorted(base.glob("*/*.json")))


def by_reference(root: Path = POLICY_DIR) -> dict[str, Definition]:
    """reference id (lower-cased) -> definition; the definition's GUID name also finds it."""
    out: dict[str, Definition] = {}
    for d in builtins(root):
        out[d.reference_id.lower()] = d
        out[d.name.lower()] = d
    return out
