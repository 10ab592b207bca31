"""Azure Policy's built-in definitions as a test oracle: which apply to what we provision, and which fields
(wire paths of which ARM type) they name. Microsoft's list of the settings that matter, not ours.

The definitions are ../shared/azure-policy (copied unchanged from Azure/azure-policy; INDEX.md there). A
definition applies to one of our resources unless its `if` is false for that resource's type and kind
(three-valued: a condition on any other field, a parameter or a count is "could be either", so a definition
is kept whenever it could match). The fields it names are the aliases in its `if` (on the resource itself)
and in `then.details` (on the related resource `details.type`, e.g. a site's config/web or a diagnostic
setting). An alias is `<ARM type>/<path>`; the path is the resource's `properties.<path>` unless it is one of
the top-level members (sku, kind, identity, ...) of that type's SDK model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from typing import Any

from tests.support import SHARED

POLICIES = SHARED / "azure-policy"
TOP_LEVEL = ("sku", "kind", "identity", "location", "tags", "zones", "extendedLocation", "plan", "name", "type", "id")
# Aliases that are about a resource as a whole, not a field of it.
ENVELOPE_ALIASES = ("type", "name", "fullName", "id", "location", "kind", "tags")


@dataclass(frozen=True)
class Definition:
    file: str  # relative to POLICIES
    name: str  # displayName
    effect: str  # the default effect
    rule: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def details_type(self) -> str | None:
        details = self.rule.get("then", {}).get("details")
        return details.get("type") if isinstance(details, dict) else None


@cache
def definitions() -> tuple[Definition, ...]:
    out = []
    for path in sorted(POLICIES.rglob("*.json")):
        doc = json.loads(path.read_text())["properties"]
        effect = ((doc.get("parameters") or {}).get("effect") or {}).get("defaultValue") or str(
            doc["policyRule"]["then"].get("effect"))
        out.append(Definition(str(path.relative_to(POLICIES)), doc["displayName"], effect, doc["policyRule"]))
    return tuple(out)


# ------------------------------------------------------------------------------------- does it apply?
def _test(op: str, expected: Any, actual: str | None) -> bool | None:
    """One condition on a field we know (`type`, `kind`), as Azure Policy evaluates it (case-insensitive)."""
    if isinstance(expected, str) and expected.startswith("["):
        return None  # a parameter or expression: could be either
    low = (actual or "").lower()
    exp = [str(e).lower() for e in expected] if isinstance(expected, list) else str(expected).lower()
    if op == "exists":
        return (actual is not None) == (str(expected).lower() == "true")
    if actual is None:
        return op.startswith("not")  # a missing field equals nothing, and is "not" everything
    table = {
        "equals": lambda: low == exp, "notEquals": lambda: low != exp,
        "in": lambda: low in exp, "notIn": lambda: low not in exp,
        "like": lambda: fnmatchcase(low, str(exp)), "notLike": lambda: not fnmatchcase(low, str(exp)),
        "contains": lambda: str(exp) in low, "notContains": lambda: str(exp) not in low,
    }
    return table[op]() if op in table else None


def _eval(cond: Any, facts: dict[str, str | None]) -> bool | None:
    if not isinstance(cond, dict):
        return None
    if "allOf" in cond:
        parts = [_eval(c, facts) for c in cond["allOf"]]
        return False if False in parts else (True if all(p is True for p in parts) else None)
    if "anyOf" in cond:
        parts = [_eval(c, facts) for c in cond["anyOf"]]
        return True if True in parts else (False if all(p is False for p in parts) else None)
    if "not" in cond:
        inner = _eval(cond["not"], facts)
        return None if inner is None else not inner
    name = cond.get("field")
    if name not in facts:
        return None  # another field, a value or a count: could be either
    ops = [k for k in cond if k not in ("field",)]
    return _test(ops[0], cond[ops[0]], facts[name]) if ops else None


def applies(definition: Definition, arm_type: str, kind: str | None) -> bool:
    return _eval(definition.rule.get("if"), {"type": arm_type, "kind": kind}) is not False


# ------------------------------------------------------------------------------------- named fields
def _aliases(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "field" and isinstance(value, str):
                yield value
            elif isinstance(value, str):
                yield from re.findall(r"field\('([^']+)'\)", value)
            else:
                yield from _aliases(value)
    elif isinstance(node, list):
        for item in node:
            yield from _aliases(item)


@dataclass(frozen=True)
class Named:
    """A field a definition names: the ARM type it lives on, its wire path (`[]` for arrays), the alias."""

    arm_type: str
    path: str
    alias: str
    definition: str
    child: str | None = None  # the related resource's name where the definition names one (config `web`)


def _split(alias: str, types: Iterable[str]) -> tuple[str, str] | None:
    """`Microsoft.Web/sites/config/web.cors.allowedOrigins[*]` -> (`Microsoft.Web/sites/config`,
    `web.cors.allowedOrigins[*]`): the longest known type the alias starts with."""
    low = alias.lower()
    for t in sorted(types, key=len, reverse=True):
        if low.startswith(t.lower() + "/"):
            return t, alias[len(t) + 1:]
    return None


def wire_path(rest: str, top_level: Iterable[str] = TOP_LEVEL) -> str:
    rest = rest.replace("[*]", "[]")
    if rest.startswith("web."):  # config/web's own aliases (`.../config/web.linuxFxVersion`)
        rest = rest[len("web."):]
    head = re.split(r"[.\[]", rest, maxsplit=1)[0]
    return rest if head in top_level else f"properties.{rest}"


def named_fields(definition: Definition, types: Iterable[str]) -> list[Named]:
    """Every field the definition names, on its own type (from `if`) or the related one (`then.details`)."""
    types = list(types)
    out = []
    details = definition.rule.get("then", {}).get("details")
    sources: list[tuple[Any, str | None]] = [(definition.rule.get("if"), None)]
    child = None
    if isinstance(details, dict):
        sources += [(details.get("existenceCondition"), details.get("type")),
                    (details.get("deployment"), details.get("type"))]
        name = details.get("name")
        child = name if isinstance(name, str) and not name.startswith("[") else None
    for node, related in sources:
        for alias in _aliases(node):
            if alias in ENVELOPE_ALIASES or alias.startswith("["):
                continue
            found = _split(alias, types)
            if found is None:
                continue
            arm_type, rest = found
            named_child = child if related and arm_type.lower() == str(related).lower() else None
            out.append(Named(arm_type, wire_path(rest), alias, definition.name, named_child))
    return out


# Types the definitions talk about: ours, and the related ones their details name.
def known_types(ours: Iterable[str]) -> list[str]:
    types = {t for t in ours}
    for d in definitions():
        if d.details_type:
            types.add(d.details_type)
        for alias in _aliases(d.rule):
            parts = alias.split("/")
            if len(parts) >= 3 and "." in parts[0]:
                types.add("/".join(parts[:2]))
    return sorted(types)


# ------------------------------------------------------------------------------------- coverage
@dataclass(frozen=True)
class Covered:
    named: Named
    status: str  # compared | read-only | earned | not provisioned | uncompared
    detail: str  # the step type that compares it, the reason, or what is not provisioned


def resolve(path: str, known: Iterable[str]) -> str | None:
    """The model's own spelling of an alias path: case-insensitive (`xmanagedServiceIdentityId`), and with the
    array markers the alias may leave out (`logs.enabled` is `logs[].enabled`)."""
    want = path.replace("[]", "").lower()
    return next((k for k in sorted(known) if k.replace("[]", "").lower() == want), None)
