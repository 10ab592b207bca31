"""Corpus helpers: load the arm-examples and derive, per step, the desired body an example response satisfies."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from provisioner.engine.diff import AZURE_MANAGED_TAGS, Rules, covers
from provisioner.engine.step import Step
from tests.support import SHARED, session

EXAMPLES = SHARED / "arm-examples"
ENVS = ("dev", "staging", "production")
DROP: Any = object()  # the example has no value here: the derived desired state does not declare it
# Tags Azure adds by itself (INDEX trap 1): never part of a desired state, so the step must ignore them.
AZURE_TAG_PATTERNS = tuple(p for p, _ in AZURE_MANAGED_TAGS)

# INDEX.md "doc artifact" notes where the request and response disagree by documentation mistake: for these
# paths the desired value is taken from the response (the request value was never what Azure stores).
PATH_ARTIFACTS: dict[str, dict[str, str]] = {
    "Microsoft.Cache/redis/2024-11-01/RedisCacheCreate.json": {
        "location": "doc artifact: East US -> West US", "properties.enableNonSslPort": "doc artifact: true -> false"},
    "Microsoft.Web/staticSites/2024-11-01/CreateOrUpdateStaticSite.json": {"properties.branch": "doc artifact: master -> demo"},
    # The Flex Consumption PUT response omits `kind` (INDEX #6); our read is GET /sites, which returns it
    # (GetWebApp, INDEX #7): the omission is this response's, not something a GET ever shows.
    "Microsoft.Web/sites/2024-11-01/CreateOrUpdateFunctionAppFlexConsumption.json": {"kind": "PUT response omits kind"},
    "Microsoft.Insights/actionGroups/2026-09-01/createOrUpdateActionGroup.json": {
        "identity.type": "doc artifact: the 201 body omits identity (INDEX #51)"},
    "Microsoft.DBforPostgreSQL/flexibleServers/2024-08-01/ServerCreate.json": {
        "properties.network.privateDnsZoneArmResourceId": "doc artifact: gains '.azure.com'"},
}
# A PUT request checked against the GET of the same resource in another file: the GET is where Azure shows
# its normalization (`Pt1m` sent, `PT1M` read back: INDEX #45/#47). Paths the two documents disagree on by
# documentation history are taken from the GET (the legacy `notificationgroups` id segment, INDEX #47).
PAIRS: dict[str, tuple[str, dict[str, str]]] = {
    "Microsoft.Insights/metricAlerts/2018-03-01/getMetricAlertSingleResource.json": (
        "Microsoft.Insights/metricAlerts/2018-03-01/createOrUpdateMetricAlertSingleResource.json",
        {"properties.actions": "doc artifact: legacy notificationgroups segment and webhookProperties key"}),
}
# Whole requests that are doc artifacts: the response alone is used (as for a GET).
REQUEST_ARTIFACTS: dict[str, str] = {
    "Microsoft.Insights/metricAlerts/2018-03-01/createOrUpdateWebTestMetricAlert.json":
        "doc artifact: request tags/scopes swap the component and webtest names",
}


@dataclass(frozen=True)
class Example:
    file: str  # relative to EXAMPLES
    code: str  # response status code
    arm_type: str
    request: dict | None
    response: dict

    paired: str | None = None  # the PUT file whose request is checked against this GET response

    @property
    def id(self) -> str:
        return f"{self.file}:{self.code}" + (f"<-{Path(self.paired).name}" if self.paired else "")


def _type_of(rel: Path) -> str:
    # <Provider>/<type>[/<child>]/<api-version>/<file>.json
    return "/".join(rel.parts[:-2])


def examples() -> list[Example]:
    """Every response body in the corpus (202/204/404 without a body are skipped: nothing to compare)."""
    out: list[Example] = []
    if not EXAMPLES.is_dir():
        return out
    for path in sorted(EXAMPLES.rglob("*.json")):
        rel = path.relative_to(EXAMPLES)
        doc = json.loads(path.read_text())
        bodies = [d for d in doc.get("parameters", {}).values() if isinstance(d, dict)]
        request = bodies[0] if len(bodies) == 1 else None
        if str(rel) in REQUEST_ARTIFACTS:
            request = None
        for code, resp in doc.get("responses", {}).items():
            body = resp.get("body") if isinstance(resp, dict) else None
            if code.startswith("2") and isinstance(body, dict) and body:
                out.append(Example(str(rel), code, _type_of(rel), request, body))
                if str(rel) in PAIRS:
                    put = json.loads((EXAMPLES / PAIRS[str(rel)][0]).read_text())
                    sent = [d for d in put.get("parameters", {}).values() if isinstance(d, dict)][0]
                    out.append(Example(str(rel), code, _type_of(rel), sent, body, PAIRS[str(rel)][0]))
    return out


def step_instances() -> dict[str, list[Step]]:
    """Registered step instances of every environment, by lower-cased ARM type (first env wins per name)."""
    seen: dict[str, Step] = {}
    for env in ENVS:
        for s in session(env).steps:
            seen.setdefault(s.name, s)
    by_type: dict[str, list[Step]] = defaultdict(list)
    for s in seen.values():
        by_type[s.type.lower()].append(s)
    return by_type


def candidates(example: Example, by_type: dict[str, list[Step]]) -> list[Step]:
    """Steps of the example's type; where several share a type (sites/config web vs appsettings), the
    one whose child name matches the example's name."""
    found = by_type.get(example.arm_type.lower(), [])
    name = str(example.response.get("name") or "").rsplit("/", 1)[-1].lower()
    named = [s for s in found if s.resource_name.lower() == name]
    return named or found


def cases() -> Iterator[tuple[Example, Step]]:
    by_type = step_instances()
    for ex in examples():
        for s in candidates(ex, by_type):
            yield ex, s


def _get(body: Any, key: str) -> Any:
    return body.get(key) if isinstance(body, dict) else None


def _tags(request: Any, response: Any) -> Any:
    src = request if isinstance(request, dict) else response
    if not isinstance(src, dict):  # e.g. `tags: ""` on App Insights components (INDEX: doc artifact)
        return DROP
    return {k: v for k, v in src.items() if not any(fnmatchcase(k, p) for p in AZURE_TAG_PATTERNS)}


def recase(value: Any, template: Any) -> Any:
    """An example's ARM id in the casing our steps write (`resourceGroups`, `Microsoft.OperationalInsights`):
    segments equal to the step's own id ignoring case take its casing; names keep the example's. A GET
    that lower-cases ids (INDEX #41, #52, #54) then tests the differ's id normalization."""
    if not (isinstance(value, str) and isinstance(template, str) and value.startswith("/subscriptions/")
            and template.startswith("/subscriptions/")):
        return value
    ours = {seg.lower(): seg for seg in template.split("/")}
    return "/".join(ours.get(seg.lower(), seg) for seg in value.split("/"))


def derive(shape: dict, example: Example, rules: Rules, sources: list[tuple[str, str]] | None = None) -> dict:
    """The step's desired body with every leaf taken from the example: the request's value where it has
    one (what a user asked for), else the response's (a default Azure filled in), else not declared.
    `sources`, when given, receives (path, "request" | "response") for every leaf derived."""
    artifacts = PAIRS[example.file][1] if example.paired else PATH_ARTIFACTS.get(example.file, {})
    exact = set(rules.exact)
    seen: list[tuple[str, str]] = sources if sources is not None else []

    def fill(path: str, want: Any, req: Any, resp: Any) -> Any:
        if path in artifacts:
            req = None
        if path == "tags":
            seen.append((path, "request" if isinstance(req, dict) else "response"))
            return _tags(req, resp)
        if path in exact:  # owned whole (app settings): the example's dict as it is
            src = req if isinstance(req, dict) else resp
            seen.append((path, "request" if isinstance(req, dict) else "response"))
            return dict(src) if isinstance(src, dict) else DROP
        if isinstance(want, dict):
            out = {}
            for key, sub in want.items():
                got = fill(f"{path}.{key}" if path else key, sub, _get(req, key), _get(resp, key))
                if got is not DROP:
                    out[key] = got
            return out or DROP
        if isinstance(want, list):
            src = req if isinstance(req, list) else resp if isinstance(resp, list) else None
            if src is None:
                return DROP
            if not want and any(isinstance(s, dict) for s in src):
                # The step declares an empty list (e.g. no function receivers): it says nothing about the
                # shape of the example's elements, so there is no desired state to derive for them.
                return DROP
            if want and all(isinstance(w, dict) for w in want) and all(isinstance(s, dict) for s in src):
                other = resp if src is req and isinstance(resp, list) else []
                items = []
                for i, item in enumerate(src):
                    fallback = other[i] if i < len(other) else None
                    got = fill(f"{path}[]", want[min(i, len(want) - 1)],
                               item if src is req else None, fallback if src is req else item)
                    items.append(_whole_element({} if got is DROP else got, item, f"{path}[]", rules))
                return items
            template = next((w for w in want if isinstance(w, str)), None)
            seen.append((path, "request" if src is req else "response"))
            return [recase(v, template) for v in src]
        if req is not None:
            seen.append((path, "request"))
            return recase(req, want)
        if resp is not None:
            seen.append((path, "response"))
            return recase(resp, want)
        return DROP

    out = fill("", shape, example.request, example.response)
    return {} if out is DROP else out


def _whole_element(got: dict, item: dict, path: str, rules: Rules) -> dict:
    """A declared list is owned element by element (issue 9): keys the example's element has beyond our
    template (a prefixMatch filter, dividePerInstance) are part of the state it asks for, except read-only ones."""
    out = dict(got)
    for key, value in item.items():
        sub = f"{path}.{key}"
        if any(covers(p, sub) for p in rules.read_only) or value is None:
            continue
        if key not in out:
            out[key] = value
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = _whole_element(out[key], value, sub, rules)
    return out


def leaf_paths(body: Any, path: str = "") -> list[str]:
    """Dotted paths of a body's leaves (lists and empty dicts are leaves), as the differ names them."""
    if isinstance(body, dict) and body:
        return [p for k, v in body.items() for p in leaf_paths(v, f"{path}.{k}" if path else k)]
    return [path]
