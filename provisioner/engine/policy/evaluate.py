"""Deciding compliance (pure): which resources a definition applies to, the related resources an IfNotExists
effect looks for, and each definition's state in an environment, with its exemption.

Follows learn.microsoft.com/azure/governance/policy/concepts: policy-applicability.md (which conditions decide
applicability per effect), compliance-states.md (an audit/modify/deny rule whose `if` holds is non-compliant; an
IfNotExists rule is non-compliant when no related resource meets its existenceCondition; a definition rolls up
non-compliant > compliant > exempt), effect-audit-if-not-exists.md (where related resources are looked for).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from provisioner.engine.policy.baseline import Exemption
from provisioner.engine.policy.conditions import Context, Observation, Target, field_classes, holds, lookup
from provisioner.engine.policy.definitions import IF_NOT_EXISTS, Definition
from provisioner.engine.policy.expressions import ExpressionError, Scope, resolve

# Extension resources: they live under the evaluated resource's id, `/providers/<type>` (diagnostic settings).
EXTENSION_TYPES = frozenset({"microsoft.insights/diagnosticsettings"})


@dataclass(frozen=True)
class Resource:
    """A body as GET returned it, with the API version it was read with (`requestContext().apiVersion`: "the
    latest API version is always used during compliance evaluation on existing resources")."""

    id: str
    type: str
    body: Mapping[str, Any]
    api_version: str = ""

    @property
    def target(self) -> Target:
        return Target(self.id, self.type, self.body)


@dataclass(frozen=True)
class Environment:
    subscription_id: str
    resource_group: Mapping[str, Any]  # the group's GET body (resourcegroup() in expressions)
    resources: tuple[Resource, ...]


@dataclass(frozen=True)
class Assignment:
    definition: Definition
    values: Mapping[str, Any]

    @property
    def effect(self) -> str:
        return self.definition.effect(self.values)


@dataclass(frozen=True)
class Query:
    """Where an IfNotExists rule looks for related resources: one ARM path (a collection when `many`)."""

    path: str
    type: str
    many: bool


@dataclass(frozen=True)
class Finding:
    resource_id: str
    state: str  # compliant | non-compliant | error
    detail: str = ""


@dataclass(frozen=True)
class Result:
    """One assigned definition in one environment."""

    definition: Definition
    effect: str
    state: str  # compliant | non-compliant | exempt | not-applicable | error
    findings: tuple[Finding, ...] = ()
    exemption: tuple[str, Exemption] | None = None
    evaluated: str = ""  # the state before the exemption (an exemption of a compliant definition is unused)


@dataclass(frozen=True)
class Inputs:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def _scope(a: Assignment, env: Environment, r: Resource, now: datetime) -> Scope:
    return Scope(parameters=a.values, subscription_id=env.subscription_id, resource_group=env.resource_group,
                 api_version=r.api_version, now=now)


def _context(a: Assignment, env: Environment, r: Resource, now: datetime, **kw: Any) -> Context:
    return Context(target=r.target, scope=_scope(a, env, r, now), **kw)


def counted_classes(condition: Any) -> frozenset[str] | None:
    """The field classes that decide applicability of a non-IfNotExists rule (policy-applicability.md table);
    None: applicable to every resource."""
    classes = field_classes(condition)
    if classes <= {"kind"} or classes <= {"name"}:
        return None
    if "type" not in classes:
        return frozenset(classes - {"other"}) or None
    if classes <= {"type", "kind"} or classes <= {"type", "name"}:
        return frozenset({"type"})
    return frozenset(classes - {"other"})


def applies(a: Assignment, env: Environment, r: Resource, now: datetime) -> bool:
    """Whether the definition applies to the resource. Indexed mode evaluates only types that have a location
    and tags (definition-structure-basics.md, Mode)."""
    if a.definition.mode.lower() == "indexed" and "location" not in {k.lower() for k in r.body}:
        return False
    condition = a.definition.condition
    if a.effect in IF_NOT_EXISTS:
        return holds(condition, _context(a, env, r, now))
    only = counted_classes(condition)
    if only is None:
        return True
    return holds(condition, _context(a, env, r, now, only=only))


def query(a: Assignment, env: Environment, r: Resource, now: datetime) -> Query:
    """Where `then.details` says to look for related resources of `r`."""
    details = a.definition.details
    scope = _scope(a, env, r, now)
    ctx = _context(a, env, r, now)
    fn_scope = replace(scope, field=lambda name: _plain(lookup(name, ctx)))
    dtype = str(resolve(_get(details, "type"), fn_scope))
    name = _get(details, "name")
    name = None if name is None else str(resolve(name, fn_scope))
    low, rtype = dtype.lower(), r.type.lower()
    many = name is None or name.endswith("/?")
    name = None if name is None else name.removesuffix("/?").removesuffix("?")
    if low.startswith(rtype + "/"):
        child = dtype[len(r.type) + 1:]
        base = f"{r.id}/{child}"
        return Query(f"{base}/{name}" if name and not many else base, dtype, many)
    if low in EXTENSION_TYPES:
        base = f"{r.id}/providers/{dtype}"
        return Query(f"{base}/{name}" if name and not many else base, dtype, many)
    group = _get(details, "resourceGroupName")
    group = str(resolve(group, fn_scope)) if group is not None else r.id.split("/")[4]
    existence = str(_get(details, "existenceScope") or "ResourceGroup").lower()
    base = f"/subscriptions/{env.subscription_id}" + ("" if existence == "subscription" else f"/resourceGroups/{group}")
    provider, *kinds = dtype.split("/")
    if name and not many:
        names = name.split("/")
        return Query(base + f"/providers/{provider}/" + "/".join(f"{k}/{n}" for k, n in zip(kinds, names, strict=False)),
                     dtype, False)
    return Query(base + f"/providers/{dtype}", dtype, True)


def _plain(found: tuple[str, tuple[Any, ...], bool]) -> Any:
    _, values, collection = found
    return list(values) if collection else values[0]


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    return next((v for k, v in mapping.items() if k.lower() == key.lower()), None)


def queries(assignments: Sequence[Assignment], env: Environment, now: datetime) -> set[Query]:
    """Every related-resource lookup the IfNotExists rules need for this environment (read, then decide)."""
    out: set[Query] = set()
    for a in assignments:
        if a.effect not in IF_NOT_EXISTS:
            continue
        for r in env.resources:
            try:
                if applies(a, env, r, now):
                    out.add(query(a, env, r, now))
            except ExpressionError:
                continue  # reported by evaluate()
    return out


def _exists(a: Assignment, env: Environment, r: Resource, related: Sequence[Resource], now: datetime) -> tuple[bool, str]:
    condition = _get(a.definition.details, "existenceCondition")
    if not related:
        return False, "no related resource"
    if condition is None:
        return True, ""
    notes = []
    primary = _context(a, env, r, now)
    for other in related:
        seen: list[Observation] = []
        ctx = replace(_context(a, env, other, now, observations=seen), primary=primary)
        if holds(condition, ctx):
            return True, ""
        notes.append(f"{_short(other.id)}: {describe(seen)}")
    return False, "; ".join(notes)


def _short(resource_id: str) -> str:
    parts = resource_id.split("/")
    return "/".join(parts[-2:]) if len(parts) > 2 else resource_id


def describe(observations: Sequence[Observation]) -> str:
    """The property values a rule saw, once each (type/kind/name conditions left out)."""
    shown: dict[str, str] = {}
    for o in observations:
        if o.field.lower() in ("type", "kind", "name", "fullname", "id"):
            continue
        shown.setdefault(o.path, f"{o.path} = {_value(o.value)}")
    return ", ".join(shown.values()) or "(no property)"


def _value(value: Any) -> str:
    import json

    from provisioner.engine.policy.aliases import MISSING

    if value is MISSING or value is None:
        return "(absent)"
    return json.dumps(value) if not isinstance(value, str) else f'"{value}"'


def finding(a: Assignment, env: Environment, r: Resource, related: Mapping[Query, Sequence[Resource] | str],
            now: datetime) -> Finding | None:
    """The resource's state under one definition; None when the definition does not apply to it."""
    try:
        if not applies(a, env, r, now):
            return None
        if a.effect in IF_NOT_EXISTS:
            q = query(a, env, r, now)
            found = related.get(q)
            if isinstance(found, str):
                return Finding(r.id, "error", f"cannot read {q.path}: {found}")
            ok, why = _exists(a, env, r, list(found or ()), now)
            if ok:
                return Finding(r.id, "compliant")
            label = q.type + (f" {q.path.rsplit('/', 1)[-1]!r}" if not q.many else "")
            return Finding(r.id, "non-compliant", f"no {label} meets the existence condition ({why})")
        seen: list[Observation] = []
        if holds(a.definition.condition, _context(a, env, r, now, observations=seen)):
            return Finding(r.id, "non-compliant", describe(seen))
        return Finding(r.id, "compliant")
    except ExpressionError as exc:
        return Finding(r.id, "error", f"cannot evaluate: {exc}")


def evaluate(assignments: Sequence[Assignment], env: Environment, related: Mapping[Query, Sequence[Resource] | str],
             exemptions: Mapping[str, tuple[str, Exemption]], now: datetime) -> list[Result]:
    """Each assigned definition's state: its findings over every resource, rolled up, then its exemption."""
    out = []
    for a in assignments:
        effect = a.effect
        if effect == "disabled":
            continue
        findings = tuple(f for r in env.resources if (f := finding(a, env, r, related, now)) is not None)
        states = {f.state for f in findings}
        state = ("error" if "error" in states else "non-compliant" if "non-compliant" in states
                 else "compliant" if findings else "not-applicable")
        exemption = exemptions.get(a.definition.reference_id.lower()) or exemptions.get(a.definition.name.lower())
        if exemption and state == "non-compliant":
            out.append(Result(a.definition, effect, "exempt", findings, exemption, state))
        else:
            out.append(Result(a.definition, effect, state, findings, exemption if exemption else None, state))
    return out


def target_types(definition: Definition) -> set[str]:
    """The resource types a rule's `if` names (`type` equals / in / like): what the reader must list."""
    out: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, Mapping):
            keys = {k.lower(): v for k, v in node.items()}
            if str(keys.get("field", "")).lower() == "type":
                for op in ("equals", "in", "like"):
                    value = keys.get(op)
                    if isinstance(value, str) and not value.startswith("["):
                        out.add(value)
                    elif isinstance(value, list):
                        out.update(v for v in value if isinstance(v, str))
            for k, v in keys.items():
                if k in ("allof", "anyof", "not"):
                    walk(v)

    walk(definition.condition)
    return out


@dataclass(frozen=True)
class Summary:
    """Definition counts of one audit: what the docs' coverage figure is made of."""

    assigned: int
    applicable: int
    met: int
    exempted: int
    not_met: int
    errors: int

    @property
    def not_applicable(self) -> int:
        return self.assigned - self.applicable


def summarize(results: Sequence[Result], assigned: int) -> Summary:
    states = [r.state for r in results]
    applicable = sum(s in ("compliant", "non-compliant", "exempt", "error") for s in states)
    return Summary(assigned, applicable, states.count("compliant"), states.count("exempt"),
                   states.count("non-compliant"), states.count("error"))
