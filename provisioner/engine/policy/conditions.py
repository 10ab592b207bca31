"""Policy rule conditions over one resource body: allOf/anyOf/not, field/value/count and every operator
(learn.microsoft.com/azure/governance/policy/concepts/definition-structure-policy-rule). Pure.

Semantics kept from Azure's documentation:
- string comparisons are case-insensitive (InvariantCultureIgnoreCase), except `match`/`notMatch`;
- a `field` that selects a collection (`[*]`) holds only if every selected value satisfies the condition
  (an empty collection satisfies it), and `count` counts members "as if each were the only member";
- an absent property compares as the empty string (`virtualNetworkSubnetId equals ""` is how built-ins test
  for "not set"), and `exists` is false for it and for JSON null.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from provisioner.engine.policy.aliases import (
    MISSING,
    Path,
    alias_type,
    child,
    narrow,
    path_of,
    prefix,
    select,
)
from provisioner.engine.policy.expressions import ExpressionError, Scope, is_expression, resolve

OPERATORS = ("equals", "notequals", "like", "notlike", "match", "matchinsensitively", "notmatch",
             "notmatchinsensitively", "contains", "notcontains", "in", "notin", "containskey", "notcontainskey",
             "less", "lessorequals", "greater", "greaterorequals", "exists")
META_FIELDS = ("name", "fullname", "id", "type")


@dataclass(frozen=True)
class Target:
    """The resource a condition reads: its body, and what Azure knows about it besides the body."""

    id: str
    type: str
    body: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.id.rstrip("/").rsplit("/", 1)[-1]

    @property
    def full_name(self) -> str:
        """Parent names and the name: `site/slot` (id segments after the provider namespace, every other one)."""
        low = self.id.lower()
        at = low.rfind("/providers/")
        segments = self.id[at + len("/providers/"):].split("/")[1:] if at >= 0 else [self.name]
        return "/".join(segments[1::2])


@dataclass
class Observation:
    """One field condition as evaluated: reported when a definition is not met."""

    field: str
    path: str
    value: Any
    operator: str
    expected: Any
    held: bool


@dataclass
class Context:
    target: Target
    scope: Scope
    # count bindings: alias or index name (lower-cased) -> (counted path, member value)
    bindings: Mapping[str, tuple[Path | None, Any]] = field(default_factory=dict)
    observations: list[Observation] | None = None
    # applicability: only these field classes count, the others are neutral (policy-applicability.md)
    only: frozenset[str] | None = None
    negated: bool = False
    # In an existenceCondition: the evaluated resource, which field() reads unless the alias is the related type's
    # (effect-audit-if-not-exists.md: "can use field() to check equivalence with values in the if condition").
    primary: Context | None = None


def holds(condition: Mapping[str, Any], ctx: Context) -> bool:
    keys = {k.lower(): v for k, v in condition.items()}
    if "allof" in keys:
        return all(holds(c, ctx) for c in keys["allof"])
    if "anyof" in keys:
        return any(holds(c, ctx) for c in keys["anyof"])
    if "not" in keys:
        return not holds(keys["not"], replace(ctx, negated=not ctx.negated))
    operator = next((k for k in keys if k in OPERATORS), None)
    if operator is None:
        raise ExpressionError(f"no operator in condition {dict(condition)}")
    expected = keys[operator]
    if "count" in keys:
        if _neutral(ctx, "other"):
            return not ctx.negated
        number, want = count(keys["count"], ctx), _resolve(expected, ctx)
        held = compare(number, operator, want)
        if ctx.observations is not None:
            spec = {k.lower(): v for k, v in keys["count"].items()}
            what = spec.get("field") or spec.get("value")
            label = f"count of {path_of(str(what)).text}" if "field" in spec else f"count of {what}"
            label += " meeting its where" if "where" in spec else ""
            ctx.observations.append(Observation("count", label, number, operator, want, held))
        return held
    if "value" in keys:
        if _neutral(ctx, "other"):
            return not ctx.negated
        return compare(_resolve(keys["value"], ctx), operator, _resolve(expected, ctx))
    name = str(_resolve(keys["field"], ctx))
    if _neutral(ctx, _field_class(name)):
        return not ctx.negated
    path, values, collection = lookup(name, ctx)
    want = _resolve(expected, ctx)
    held = all(compare(v, operator, want) for v in values) if collection else compare(values[0], operator, want)
    if ctx.observations is not None:
        ctx.observations.append(Observation(name, path, list(values) if collection else values[0], operator, want, held))
    return held


def _field_class(name: str) -> str:
    low = name.lower()
    return low if low in ("type", "name", "kind") else "other"


def _neutral(ctx: Context, kind: str) -> bool:
    return ctx.only is not None and kind not in ctx.only


def _resolve(value: Any, ctx: Context) -> Any:
    return resolve(value, function_scope(ctx))


def function_scope(ctx: Context) -> Scope:
    return replace(ctx.scope, field=lambda name: field_function(name, ctx), current=lambda name: current(name, ctx))


def lookup(name: str, ctx: Context) -> tuple[str, tuple[Any, ...], bool]:
    """(body path, selected values, whether they are a collection) of a field in the current resource."""
    low = name.lower()
    target = ctx.target
    if low in META_FIELDS:
        value = {"name": target.name, "fullname": target.full_name, "id": target.id, "type": target.type}[low]
        return low, (value,), False
    path = path_of(name)
    found = select(target.body, path)
    if low == "location" and isinstance(found.value, str):
        # "East US 2" equals "eastus2" (definition-structure-policy-rule, Fields: location).
        return path.text, (found.value.replace(" ", "").lower(),), False
    return path.text, found.values, found.collection


def field_function(name: str, ctx: Context) -> Any:
    """field(): the literal value; an array alias gives the array of selected values."""
    if ctx.primary is not None and alias_type(name).lower() != ctx.target.type.lower():
        return field_function(name, ctx.primary)
    _, values, collection = lookup(name, ctx)
    return list(values) if collection else values[0]


def current(name: str | None, ctx: Context) -> Any:
    """current(): the member a `count` is at; current('<alias of the member>.x') reads inside it."""
    if name is None:
        if not ctx.bindings:
            raise ExpressionError("current() outside a count")
        return list(ctx.bindings.values())[-1][1]
    key = name.lower()
    if key in ctx.bindings:
        return ctx.bindings[key][1]
    path = path_of(name)
    for _, (counted, _member) in reversed(list(ctx.bindings.items())):
        if counted is not None and prefix(path, counted):
            found = select(ctx.target.body, path)
            return found.values[0] if found.values else MISSING
    raise ExpressionError(f"current({name!r}) names no enclosing count")


def count(spec: Mapping[str, Any], ctx: Context) -> int:
    keys = {k.lower(): v for k, v in spec.items()}
    where = keys.get("where")
    if "field" in keys:
        alias = str(_resolve(keys["field"], ctx))
        path = path_of(alias)
        if not path.walks:
            raise ExpressionError(f"count.field {alias!r} is not an array alias")
        found = select(ctx.target.body, path)
        if where is None:
            return len(found.values)
        total = 0
        for value, spot in zip(found.values, found.spots, strict=True):
            target = replace(ctx.target, body=narrow(ctx.target.body, path, spot))
            inner = replace(ctx, target=target, bindings={**ctx.bindings, alias.lower(): (path, value)},
                            observations=None, negated=False)
            total += holds(where, inner)
        return total
    members = _resolve(keys.get("value"), ctx)
    if not isinstance(members, list):
        raise ExpressionError(f"count.value is not an array: {members!r}")
    if where is None:
        return len(members)
    name = str(keys.get("name") or "default").lower()
    return sum(holds(where, replace(ctx, bindings={**ctx.bindings, name: (None, m)}, observations=None,
                                    negated=False)) for m in members)


# ----------------------------------------------------------------------------------------------- comparing


def _text(value: Any) -> str | None:
    """A scalar as Azure compares it: booleans as true/false, absent as the empty string."""
    if value is MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value) if not float(value).is_integer() else str(int(value))
    if isinstance(value, str):
        return value
    return None


def _equal(a: Any, b: Any) -> bool:
    ta, tb = _text(a), _text(b)
    if ta is not None and tb is not None:
        return ta.lower() == tb.lower()
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return {k.lower() for k in a} == {k.lower() for k in b} and all(_equal(v, child(b, k)) for k, v in a.items())
    return False


def _order(a: Any, b: Any) -> tuple[Any, Any] | None:
    if a is MISSING or a is None or b is MISSING or b is None:
        return None
    if isinstance(a, int | float) and not isinstance(a, bool) and isinstance(b, int | float) and not isinstance(b, bool):
        return a, b
    if isinstance(a, int | float) and not isinstance(a, bool) or isinstance(b, int | float) and not isinstance(b, bool):
        try:
            return float(str(a)), float(str(b))
        except ValueError:
            return None
    ta, tb = _text(a), _text(b)
    return (ta.lower(), tb.lower()) if ta is not None and tb is not None else None


def _like(value: Any, pattern: Any) -> bool:
    text = _text(value)
    return text is not None and fnmatch.fnmatchcase(text.lower(), str(pattern).lower().replace("[", "[[]"))


def _match(value: Any, pattern: Any, insensitive: bool) -> bool:
    """`#` a digit, `?` a letter, `.` any character, anything else itself (whole value)."""
    text = _text(value)
    if text is None:
        return False
    regex = "".join({"#": r"\d", "?": "[A-Za-z]", ".": "."}.get(ch, re.escape(ch)) for ch in str(pattern))
    return re.fullmatch(regex, text, re.IGNORECASE if insensitive else 0) is not None


def _contains(value: Any, item: Any) -> bool:
    if isinstance(value, list):
        return any(_equal(v, item) for v in value)
    text, sub = _text(value), _text(item)
    return text is not None and sub is not None and sub.lower() in text.lower()


def _has_key(value: Any, key: Any) -> bool:
    return isinstance(value, dict) and any(k.lower() == str(key).lower() for k in value)


def _ordered(check: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def run(a: Any, b: Any) -> bool:
        pair = _order(a, b)
        return pair is not None and check(*pair)
    return run


def _exists(value: Any, want: Any) -> bool:
    present = value is not MISSING and value is not None
    return present == (str(want).lower() == "true")


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "equals": _equal,
    "notequals": lambda a, b: not _equal(a, b),
    "in": lambda a, b: isinstance(b, list) and any(_equal(a, x) for x in b),
    "notin": lambda a, b: not (isinstance(b, list) and any(_equal(a, x) for x in b)),
    "contains": _contains,
    "notcontains": lambda a, b: not _contains(a, b),
    "like": _like,
    "notlike": lambda a, b: not _like(a, b),
    "match": lambda a, b: _match(a, b, False),
    "notmatch": lambda a, b: not _match(a, b, False),
    "matchinsensitively": lambda a, b: _match(a, b, True),
    "notmatchinsensitively": lambda a, b: not _match(a, b, True),
    "containskey": _has_key,
    "notcontainskey": lambda a, b: not _has_key(a, b),
    "less": _ordered(lambda a, b: a < b),
    "lessorequals": _ordered(lambda a, b: a <= b),
    "greater": _ordered(lambda a, b: a > b),
    "greaterorequals": _ordered(lambda a, b: a >= b),
    "exists": _exists,
}


def compare(value: Any, operator: str, expected: Any) -> bool:
    return COMPARE[operator.lower()](value, expected)


def field_classes(condition: Any) -> set[str]:
    """Which kinds of condition an `if` has: type, name, kind, other (policy-applicability.md)."""
    out: set[str] = set()
    if isinstance(condition, list):
        for c in condition:
            out |= field_classes(c)
    elif isinstance(condition, Mapping):
        keys = {k.lower(): v for k, v in condition.items()}
        for logical in ("allof", "anyof"):
            if logical in keys:
                out |= field_classes(keys[logical])
        if "not" in keys:
            out |= field_classes(keys["not"])
        if "field" in keys:
            name = keys["field"]
            out.add(_field_class(name) if not is_expression(name) else "other")
        elif "count" in keys or "value" in keys:
            out.add("other")
    return out
