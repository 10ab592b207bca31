"""The audit: read the live environment, decide each assigned built-in's state (provisioner/engine/policy),
with the environment's exemptions. Reading is provisioner/azure/policy_reader; deciding is pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from provisioner.core.errors import ProvisionerError
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.policy.baseline import Baseline, Exemption, PolicyConfig, exempted, load
from provisioner.engine.policy.definitions import POLICY_DIR, by_reference
from provisioner.engine.policy.evaluate import (
    Assignment,
    Environment,
    Query,
    Resource,
    Result,
    Summary,
    evaluate,
    queries,
    summarize,
    target_types,
)

GROUP_API = "2025-04-01"


@dataclass(frozen=True)
class AuditReport:
    env: str
    resource_group: str
    baseline: Baseline
    results: tuple[Result, ...]
    summary: Summary
    exemptions: Mapping[str, Exemption]
    resources: int
    now: datetime
    # exemption name -> why it is not in force for anything (it names only compliant or inapplicable definitions)
    unused: Mapping[str, str] = field(default_factory=dict)

    @property
    def compliant(self) -> bool:
        return self.summary.not_met == 0 and self.summary.errors == 0


def assignments(baseline: Baseline, facts: Mapping[str, str]) -> list[Assignment]:
    """The assigned built-ins with their parameter values; placeholders come from the environment's facts."""
    return [Assignment(d, baseline.values(d, facts)) for d in baseline.assigned]


def child_types(assigned: list[Assignment]) -> set[str]:
    """Child resource types some rule targets directly (slots, blob services, subnets): listed under parents."""
    return {t for a in assigned for t in target_types(a.definition) if t.count("/") >= 2}


def read_environment(reader: Any, env: EnvironmentSpec, kinds: set[str], workers: int) -> Environment:
    from provisioner.azure.policy_reader import read_all, type_of

    sub, group = env.subscription_id, env.resource_name("resource_group")
    base = f"/subscriptions/{sub}/resourceGroups/{group}"
    group_body = reader.get(base, GROUP_API)
    if group_body is None:
        raise ProvisionerError(f"resource group {group} does not exist in subscription {sub}: nothing to audit "
                               f"(run provisioner provision --env {env.name} first)")
    listed = reader.many(f"{base}/resources", GROUP_API)
    ids = sorted({str(item["id"]) for item in listed if item.get("id")}, key=str.lower)
    bodies = read_all(((rid, partial(reader.get, rid)) for rid in ids), workers)
    top = [Resource(rid, type_of(rid), body) for rid, body in bodies.items() if isinstance(body, dict)]
    failed = {rid: why for rid, why in bodies.items() if isinstance(why, str)}
    if failed:
        rid, why = next(iter(failed.items()))
        raise ProvisionerError(f"cannot read {len(failed)} resource(s), e.g. {rid}: {why}")
    lists = []
    for r in top:
        for kind in kinds:
            parent, _, leaf = kind.rpartition("/")
            if parent.lower() == r.type.lower():
                lists.append((f"{r.id}/{leaf}", kind))
    children = read_all((((path, kind), partial(reader.many, path)) for path, kind in lists), workers)
    found = list(top)
    for (_path, kind), items in children.items():
        if isinstance(items, str):
            raise ProvisionerError(f"cannot list {_path}: {items}")
        found += [Resource(str(i["id"]), kind, i) for i in items if i.get("id")]
    from provisioner.azure.policy_reader import api_version

    stamped = tuple(Resource(r.id, r.type, r.body, api_version(r.type)) for r in found)
    return Environment(sub, group_body, stamped)


def read_related(reader: Any, wanted: set[Query], workers: int) -> dict[Query, tuple[Resource, ...] | str]:
    from provisioner.azure.policy_reader import api_version, read_all

    def one(q: Query) -> tuple[Resource, ...]:
        items = reader.many(q.path) if q.many else [b for b in [reader.get(q.path)] if b]
        return tuple(Resource(str(i.get("id") or q.path), q.type, i, api_version(q.type)) for i in items)

    return read_all(((q, partial(one, q)) for q in wanted), workers)


def audit(clients: Any, env: EnvironmentSpec, config: PolicyConfig, facts: Mapping[str, str],
          root: Path = POLICY_DIR, now: datetime | None = None, workers: int = 8) -> AuditReport:
    from provisioner.azure.policy_reader import Reader

    moment = now or datetime.now(UTC)
    baseline = load(root)
    assigned = assignments(baseline, facts)
    reader = Reader(clients)
    snapshot = read_environment(reader, env, child_types(assigned), workers)
    related = read_related(reader, queries(assigned, snapshot, moment), workers)
    in_force = {by_reference(root)[k].reference_id.lower(): v for k, v in exempted(config, moment.date()).items()
                if k in by_reference(root)}
    results = tuple(evaluate(assigned, snapshot, related, in_force, moment))
    unused = {}
    for name in config.exemptions:
        states = {r.evaluated for r in results if r.exemption and r.exemption[0] == name}
        if "non-compliant" not in states:
            unused[name] = ("every definition it names is met here" if states - {"not-applicable"}
                            else "no definition it names applies here")
    return AuditReport(env.name, env.resource_name("resource_group"), baseline, results,
                       summarize(results, len(assigned)), dict(config.exemptions), len(snapshot.resources), moment,
                       unused)
