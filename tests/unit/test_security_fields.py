""""Not managed" must be earned: every field that can run code, route traffic, grant access, ship data
elsewhere or weaken transport (by the words of its name, tests/risky_fields.py) or that an applicable Azure
Policy built-in names (tests/builtins.py) is compared; the few that are not carry a reason a test checks.

The two lists are independent of the steps: one is Microsoft's, the other is read off the SDK models' field
names. What a step declares never decides what must be compared.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter, defaultdict
from typing import Any

import pytest

from provisioner.engine.diff import PathPatterns, covers, rule_path
from provisioner.engine.fields import account_type, declared_paths, model_fields
from provisioner.engine.step import Step
from tests.builtins import Covered, Named, applies, definitions, known_types, named_fields, resolve
from tests.risky_fields import EXCEPTIONS, risky
from tests.support import ROOT, autospec_clients, session

ENVS = ("dev", "staging", "production")

def _types() -> dict[type, tuple[Step, list[dict], set[str]]]:
    out: dict[type, tuple[Step, list[dict], set[str]]] = {}
    for env in ENVS:
        for s in session(env).steps:
            sample, bodies, names = out.setdefault(type(s), (s, [], set()))
            bodies.append(s.desired({}))
            names.add(s.resource_name)
    return out


TYPES = _types()
IDS = [f"{t.__module__.removeprefix('steps.')}.{t.__name__}" for t in TYPES]
ACCOUNTING = {cls: account_type(cls.__name__, cls.model, cls.model_at, sample.rules, bodies)
              for cls, (sample, bodies, _names) in TYPES.items()}


def _builtin_paths() -> dict[str, set[str]]:
    """ARM type (lower-cased) -> wire paths the applicable built-ins name on it."""
    ours = {s.type: s.desired({}).get("kind") for s, _b, _n in TYPES.values()}
    types = known_types(ours)
    out: dict[str, set[str]] = defaultdict(set)
    for d in definitions():
        if any(applies(d, t, k) for t, k in ours.items()):
            for n in named_fields(d, types):
                out[n.arm_type.lower()].add(n.path)
    return out


BUILTINS = _builtin_paths()


def _reason(rules: Any, path: str) -> str | None:
    index = PathPatterns(list(rules.not_managed) + list(rules.ignore) + [(w, "write-only") for w in rules.write_only])
    found = index.covering(path)
    return found[0][1] if found else None


def _compared(cls: type, path: str) -> bool:
    """Compared by the step: a compared leaf (the accounting's class), inside something declared absent, a map owned
    whole (every key compared, an extra one is drift), or an object whose every writable leaf is compared."""
    acc = ACCOUNTING[cls]
    rules = TYPES[cls][0].rules
    if path in acc.compared or any(covers(a, path) for a in rules.absent) or rule_path(path) in rules.exact:
        return True
    below = [w for w in model_fields(cls.model, cls.model_at).writable if w.startswith((path + ".", path + "[]"))]
    return bool(below) and all(w in acc.compared for w in below)


def _config_step(cls: type) -> type:
    """The step that compares a site's (slot's) config/web, for siteConfig seen through the site."""
    want = "Microsoft.Web/sites/slots/config" if "slots" in cls.type.lower() else "Microsoft.Web/sites/config"
    return next(c for c, (s, _, names) in TYPES.items() if c.type == want and "web" in names)


_DERIVED = re.compile(r"^derived by Azure from the (?P<step>\w+) step's (?P<path>[\w.]+) \(compared\)")


def _earned(cls: type, path: str, reason: str) -> str | None:
    """None when the reason holds up here; else what is wrong. `owned by ...` is checked on its own below."""
    if reason.startswith("owned by"):
        return None
    if reason.startswith("subordinate to "):
        other = reason.removeprefix("subordinate to ").split(" ", 1)[0]
        return None if _compared(cls, rule_path(other)) else f"{other} (which it is said to be subordinate to) is not compared"
    derived = _DERIVED.match(reason)
    if derived:
        # A value Azure derives from another resource's field (config/web's identity number from the site's
        # identity): earned only if the step of that resource compares that field.
        owners = [c for c, (s, _b, _n) in TYPES.items() if s.name == derived["step"]]
        return None if owners and all(_compared(o, derived["path"]) for o in owners) else \
            f"{derived['path']} of {derived['step']} (which it is said to be derived from) is not compared"
    if reason == "write-only" and path.startswith("properties.siteConfig."):
        # GET on a site returns siteConfig mostly null: its values are config/web's, compared (or earned) there.
        config = _config_step(cls)
        inner = "properties." + path.removeprefix("properties.siteConfig.")
        if _compared(config, inner) or (config.type, inner) in EXCEPTIONS:
            return None
        there = _reason(TYPES[config][0].rules, inner)
        if there and _earned(config, inner, there) is None:
            return None
        return f"{inner} is not compared by {config.__name__} ({there})"
    if reason == "write-only" and any(covers(w, path) for w in TYPES[cls][0].rules.write_only):
        return None  # a request input GET never returns (a password, createMode): nothing there to compare
    return f"not managed: {reason}"


@pytest.mark.parametrize("cls", list(TYPES), ids=IDS)
def test_every_field_that_can_hurt_is_compared_or_its_reason_is_earned(cls):
    sample, _bodies, _names = TYPES[cls]
    acc = ACCOUNTING[cls]
    named = BUILTINS.get(cls.type.lower(), set())
    problems = []
    for path in sorted(model_fields(cls.model, cls.model_at).writable):
        why = risky(path) or (["named by an Azure Policy built-in"] if path in named else [])
        if not why or _compared(cls, path) or path in acc.compared:
            continue
        if (cls.type, path) in EXCEPTIONS:
            continue
        reason = _reason(sample.rules, path) or "neither declared nor listed"
        wrong = _earned(cls, path, reason)
        if wrong:
            problems.append(f"{path} ({', '.join(why)}): {wrong}")
    assert problems == [], f"{cls.__module__}.{cls.__name__} ({cls.type}):\n  " + "\n  ".join(problems)


def test_every_exception_is_still_needed():
    for (arm_type, path), why in EXCEPTIONS.items():
        assert why.strip()
        matches = [c for c in TYPES if c.type == arm_type]
        assert matches, f"no step of {arm_type}: drop the exception for {path}"
        for cls in matches:
            assert risky(path) and not _compared(cls, path), f"{arm_type} {path} no longer needs its exception"


# --------------------------------------------------------------------------- "owned by X" is true of X
_OWNED = re.compile(r"^owned by (?:the )?(?P<owner>[\w:.-]+?)(?: step)?(?: \((?P<detail>[^)]*)\))?$")


def _owned_reasons() -> list[tuple[type, str, str]]:
    out = []
    for cls, (sample, _b, _n) in TYPES.items():
        for pattern, reason in sample.rules.not_managed:
            if reason.startswith("owned by"):
                out.append((cls, pattern, reason))
    return out


OWNED = _owned_reasons()


def _written(owner: Step) -> list[dict]:
    """Every body the owner step sends when it creates and updates its resource (autospec'd SDK clients)."""
    clients = autospec_clients()
    desired = owner.desired({})
    # A create that needs more than a mock gives still records what it sent; update is tried too.
    with contextlib.suppress(Exception):
        owner.create(clients, desired)
    with contextlib.suppress(Exception):
        owner.update(clients, desired, desired, ())
    bodies: list[dict] = []
    for group_owner in vars(clients).values():
        for group in vars(group_owner).values() if hasattr(group_owner, "__dict__") else ():
            for call in getattr(group, "mock_calls", []):
                bodies += [a for a in (*call.args, *call.kwargs.values()) if isinstance(a, dict)]
    return bodies


def _has(body: Any, path: str) -> bool:
    parts = path.split(".", 1)
    key = parts[0].removesuffix("[]")
    if not isinstance(body, dict) or key not in body:
        return False
    value = body[key]
    if len(parts) == 1:
        return True
    items = value if parts[0].endswith("[]") and isinstance(value, list) else [value]
    return any(_has(item, parts[1]) for item in items)


def _find_owner(cls: type, name: str) -> Step | None:
    for env in ENVS:
        s = session(env)
        if any(type(x) is cls for x in s.steps):
            found = next((x for x in s.steps if x.name == name), None)
            if found is not None:
                return found
    return None


@pytest.mark.parametrize(("cls", "pattern", "reason"), OWNED, ids=[f"{c.__name__}:{p}" for c, p, _ in OWNED])
def test_a_reason_owned_by_x_is_true_of_x(cls, pattern, reason):
    found = _OWNED.match(reason)
    assert found, f"{cls.__name__} {pattern}: write `owned by the <step> step (<path there>)`, not {reason!r}"
    name, detail = found.group("owner"), found.group("detail") or ""
    owner = _find_owner(cls, name)
    assert owner is not None, f"{cls.__name__} {pattern}: {reason!r} names no step of an environment that has it"
    if name == "autoscale":
        # Azure's autoscale engine sets the plan's instance count within the setting's bounds: the setting
        # must target this plan and bound the count.
        sample = TYPES[cls][0]
        body = owner.desired({})["properties"]
        assert body["targetResourceUri"].lower() == sample.ref.id.lower()
        assert all(p["capacity"]["minimum"] and p["capacity"]["maximum"] for p in body["profiles"])
        return
    path = detail if detail.startswith("properties") else pattern
    if owner.type.lower() == f"{cls.type}/{pattern.rsplit('.', 1)[-1]}".lower():
        # A list of child resources each owned by its own step (a VNet's subnets): the child step accounts for
        # every field of its resource, and compares the ones that can hurt (the tests above, for its type).
        assert not ACCOUNTING[type(owner)].missing
        return
    written = _written(owner)
    sets_it = any(_has(b, path) for b in written)
    compares_it = _compared(type(owner), path)
    assert sets_it or compares_it, (f"{cls.__name__} {pattern}: {reason!r}, but {name} neither sends {path} when it "
                                    f"writes nor compares it")


def test_deployments_own_the_images_tag_and_the_env_files_its_registry():
    """`deploy backend` writes linuxFxVersion (autospec'd client): a new tag from the declared registry is
    not drift for slot_config, the same image from another registry is."""
    from provisioner.engine.diff import diff
    from provisioner.operate.backend import Backend, BackendTarget, Gates

    s = session("staging")
    config = next(x for x in s.steps if x.name == "slot_config")
    for image, drift in (("fundrbolt.azurecr.io/fundrbolt-api:2026.12.01", False), ("docker.io/mallory/api:1", True)):
        clients = autospec_clients()
        clients.target.arm_endpoint = None
        target = BackendTarget(config.resource_group, config.site, config.slot, "staging")
        backend = Backend(clients, target, Gates(), lambda _m: None)
        with contextlib.suppress(Exception):  # the marker setting that follows needs more than a mock gives
            backend.set_version(image, image, config.slot)
        sent = clients.web.web_apps.update_configuration_slot.call_args.args[3]
        desired = config.desired({})
        observed = {"properties": {**desired["properties"], **sent["properties"]}}
        paths = [c.path for c in diff(desired, observed, config.rules).changes]
        assert paths == (["properties.linuxFxVersion"] if drift else []), (image, paths)


# --------------------------------------------------------------------------- coverage against the built-ins
def _declared(cls: type) -> set[str]:
    return {rule_path(p) for b in TYPES[cls][1] for p in declared_paths(b)}


def classify(named: Named) -> Covered:
    """Where a field a built-in names stands: compared by a step of its type (and, where the definition names
    the related resource, of that name), read-only, not managed with an earned reason, or on a resource the
    platform does not provision. Anything else is `uncompared`."""
    steps = [c for c, (_s, _b, names) in TYPES.items() if c.type.lower() == named.arm_type.lower()
             and (named.child is None or named.child.lower() in {n.lower() for n in names})]
    if not steps:
        return Covered(named, "not provisioned", f"no step provisions {named.arm_type} {named.child or ''}".strip())
    for cls in steps:
        owner = f"{cls.__module__.removeprefix('steps.')}.{cls.__name__}"
        fields = model_fields(cls.model, cls.model_at)
        known = fields.writable | fields.read_only
        # An alias's `sku` is the site's properties.sku where the type has no top-level one.
        path = resolve(named.path, known) or resolve(f"properties.{named.path}", known) or named.path
        declared = _declared(cls)
        if _compared(cls, path) or path in declared or any(path.startswith(d + ".") for d in declared if d.endswith("[]")):
            return Covered(named, "compared", owner)
        if path in fields.read_only or any(path.startswith(r + ".") or path.startswith(r + "[]")
                                            for r in fields.read_only if r not in fields.writable):
            return Covered(named, "read-only", owner)
        reason = _reason(TYPES[cls][0].rules, path)
        found = _OWNED.match(reason or "")
        child = next((c for c in TYPES if found and c.type.lower() == f"{cls.type}/{path.split('.')[1].removesuffix('[]')}".lower()), None)
        if child is not None and path.count(".") > 1:
            # A child resource's field seen in the parent's list (a VNet's subnets[]): its own step's class.
            inner = path.split(".", 2)[2]  # aliases leave the element's own `properties.` out
            return classify(Named(child.type, inner if inner.startswith(("properties.", "name")) else f"properties.{inner}",
                                  named.alias, named.definition))
        if reason and _earned(cls, path, reason) is None:
            return Covered(named, "earned", f"{owner}: {reason}")
        if reason or path in fields.writable:
            return Covered(named, "uncompared", f"{owner}: {reason or 'neither declared nor listed'}")
    return Covered(named, "not provisioned", f"not a field of {', '.join(c.__name__ for c in steps)}")


def coverage() -> tuple[Counter[str], list[Covered]]:
    ours = {s.type: s.desired({}).get("kind") for s, _b, _n in TYPES.values()}
    types = known_types(ours)
    rows = []
    seen = set()
    for d in definitions():
        if not any(applies(d, t, k) for t, k in ours.items()):
            continue
        for n in named_fields(d, types):
            key = (n.arm_type.lower(), n.path.lower(), (n.child or "").lower())
            if key not in seen:
                seen.add(key)
                rows.append(classify(n))
    return Counter(r.status for r in rows), rows


def test_coverage_against_the_builtins_is_stated_and_complete(capsys):
    counts, rows = coverage()
    uncompared = [f"{r.named.arm_type} {r.named.path} ({r.named.definition}): {r.detail}" for r in rows
                  if r.status == "uncompared"]
    assert uncompared == [], "\n".join(uncompared)
    writable = counts["compared"] + counts["earned"] + counts["uncompared"]
    figure = f"{counts['compared']} of {writable}"
    with capsys.disabled():
        print(f"\nbuilt-ins: {dict(counts)}")
    docs = (ROOT / "docs" / "drift.md").read_text()
    assert f"**{figure}**" in docs, f"docs/drift.md must state the coverage a test computes: **{figure}**"
