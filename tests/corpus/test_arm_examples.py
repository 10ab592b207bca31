"""Zero false positives: every arm-examples response satisfies the desired state derived from it, per step."""

from __future__ import annotations

from collections import defaultdict

import pytest

from provisioner.core.model import UNDECLARED
from provisioner.engine.diff import diff
from tests.corpus.derive import (
    EXAMPLES,
    Example,
    cases,
    derive,
    examples,
    leaf_paths,
    step_instances,
)

CASES = list(cases())


def _known() -> defaultdict:
    # Dependencies do not exist in a corpus check: values derived from them are UNKNOWN and get replaced
    # by the example's value (or dropped when the example has none).
    return defaultdict(lambda: None)


def _accounted(path: str, compared: set[str], classified: set[str]) -> bool:
    """Compared (declared by the step), or counted in a class that is not "undeclared" (read-only, not managed
    with a reason, write-only, Azure-managed tag). Case-insensitive: tag keys are (`VNetServer` comes back as
    `VnetServer`, INDEX #16)."""
    low = path.lower()

    def covered(prefixes: set[str]) -> bool:
        return any(low == p.lower() or low.startswith(p.lower() + ".") or low.startswith(p.lower() + "[")
                   for p in prefixes)

    return covered(compared) or covered(classified)


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/arm-examples is not available")
@pytest.mark.parametrize(("example", "step"), CASES, ids=[f"{e.id}:{s.name}" for e, s in CASES])
def test_example_response_is_not_drift(example: Example, step) -> None:
    desired = derive(step.desired(_known()), example, step.rules)
    if not desired:  # e.g. a step that owns only linkedDomains, against an example without them
        pytest.skip(f"{example.id} has none of the properties {step.name} declares")
    rules = as_declared_by(example, step.rules)
    result = diff(desired, example.response, rules)
    noise = [(c.path, c.before, c.after) for c in result.changes]
    assert noise == [], f"false positive on {example.id} for {step.name}: {noise}"
    # Noise filtered, not hidden: everything the response carries was compared or counted by a rule. A field
    # the differ calls "undeclared" (no rule names it) is not accounted for, whatever it was counted as; nor
    # is one the step declares but this case could not derive from the example (an empty list the step owns
    # against an example that has elements): that one is compared in real use, so it is checked against the
    # step's own declaration.
    assert result.ignored
    compared = set(leaf_paths(desired)) | _declared(step)
    classified = {i.path for i in result.ignored if i.kind != UNDECLARED}
    unaccounted = [p for p in leaf_paths(example.response) if not _accounted(p, compared, classified)]
    assert unaccounted == [], unaccounted


def as_declared_by(example: Example, rules):
    """The step's rules as the example's owner would have them: a feature the platform declares absent (a
    VNet-injected server, a SAS policy) that the example uses is part of the state that example asks for."""
    from dataclasses import replace

    from provisioner.engine.diff import get_path

    used = [a for a in rules.absent if get_path(example.response, a) not in (None, [], {}, "")]
    return replace(rules, absent=tuple(a for a in rules.absent if a not in used)) if used else rules


def _declared(step) -> set[str]:
    """What the step declares (lists as the list's own path), as compared paths of a real plan."""
    from provisioner.engine.fields import declared_paths

    paths = declared_paths(step.desired(_known()))
    # Leaves and lists only: an object on the way (`properties`) declares nothing beside what it holds.
    leaves = {p for p in paths if p.endswith("[]") or not any(q.startswith(p + ".") or q.startswith(p + "[")
                                                             for q in paths)}
    # Dicts owned whole (tags, app settings) are compared whole, whatever their value looks like.
    return {p.removesuffix("[]") for p in leaves} | set(step.rules.absent) | set(step.rules.exact)


def _walk(body: object, path: str = ""):
    if isinstance(body, dict):
        for k, v in body.items():
            yield from _walk(v, f"{path}.{k}" if path else k)
    else:
        yield path, body


def _traps(example: Example, step, desired: dict) -> set[str]:
    """Which INDEX.md traps this case exercises (each one passes only if the step's rules handle it)."""
    from provisioner.engine.diff import get_path

    found = set()
    tags = example.response.get("tags")
    if isinstance(tags, dict) and any(k.lower().startswith("hidden-link:") for k in tags):
        found.add("hidden-link tags")
    for path, want in _walk(desired):
        have = get_path(example.response, path)
        if isinstance(want, str) and isinstance(have, str) and want != have:
            if want.startswith("/subscriptions/"):
                found.add("id casing")
            elif want.upper().startswith("P") and want.upper() == have.upper():
                found.add("ISO-8601 duration casing")
            elif path == "location":
                found.add("location normalization")
            else:
                found.add("enum/version casing or default")
        if have is None and any(path == w or path.startswith(w + ".") for w in step.rules.write_only):
            found.add("write-only value never returned")
    if str(example.response.get("name", "")).lower() != step.resource_name.lower() and step.resource_name == "default":
        found.add("renamed singleton")
    return found


def test_the_traps_are_exercised() -> None:
    """INDEX.md's traps appear in the corpus for the types we manage, and every such case above passed."""
    seen: dict[str, list[str]] = defaultdict(list)
    for example, step in CASES:
        desired = derive(step.desired(_known()), example, step.rules)
        for trap in _traps(example, step, desired):
            seen[trap].append(f"{example.id}:{step.name}")
    managed = set(step_instances())
    expect = {"id casing"}
    if {"microsoft.insights/metricalerts", "microsoft.insights/webtests"} & managed:
        expect |= {"hidden-link tags", "location normalization"}
    if "microsoft.insights/metricalerts" in managed:
        expect.add("ISO-8601 duration casing")
    if "microsoft.dbforpostgresql/flexibleservers" in managed:
        expect.add("write-only value never returned")
    if "microsoft.storage/storageaccounts/managementpolicies" in managed:
        expect.add("renamed singleton")
    assert expect <= set(seen), {t: seen.get(t) for t in expect}


def test_every_managed_type_with_examples_is_covered() -> None:
    by_type = step_instances()
    covered = {e.arm_type.lower() for e, _ in CASES}
    with_examples = {e.arm_type.lower() for e in examples()}
    missing = sorted(t for t in by_type if t in with_examples and t not in covered)
    assert missing == []


# Types to which Azure adds `hidden-link:*` tags by itself (INDEX trap 1: webtests and metric alerts).
HIDDEN_LINK_TYPES = ("microsoft.insights/webtests", "microsoft.insights/metricalerts")


def test_steps_whose_types_gain_azure_tags_manage_them() -> None:
    """A hand-added tag is drift, but an Azure-added hidden-link tag is not: one rule in the differ for every
    step (provisioner.engine.diff.AZURE_MANAGED_TAGS), so these types need nothing of their own."""
    offenders = []
    for t in HIDDEN_LINK_TYPES:
        for s in step_instances().get(t, []):
            desired = s.desired(defaultdict(lambda: None))
            observed = {**desired, "tags": {**desired["tags"], "hidden-link:/subscriptions/x/components/ai": "Resource"}}
            if [c.path for c in diff(desired, observed, s.rules).changes if c.path.startswith("tags")]:
                offenders.append(s.name)
    assert offenders == []


# What the corpus proves rests on the cases whose desired state comes from the example's REQUEST (what a
# user asked for) and is then diffed against the RESPONSE (what Azure stored): only those can fail on a
# normalization the differ lacks. Leaves taken from the response itself can only agree with it. Measured
# on this corpus; a change that makes fewer cases real (a step declaring less, derive falling back to the
# response) fails here instead of quietly weakening the figure. Raise the pins when the corpus grows.
PINNED_REAL_CASES = 72
PINNED_REQUEST_LEAVES = 540


def _provenance() -> tuple[int, int, int, int]:
    """(cases run, request-vs-response cases, leaves from requests, leaves from responses)."""
    run = real = from_request = from_response = 0
    for example, step in CASES:
        sources: list[tuple[str, str]] = []
        if not derive(step.desired(_known()), example, step.rules, sources):
            continue  # skipped by the test above
        run += 1
        n = sum(1 for _, origin in sources if origin == "request")
        from_request += n
        from_response += len(sources) - n
        real += 1 if example.request is not None and n else 0
    return run, real, from_request, from_response


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/arm-examples is not available")
def test_request_vs_response_cases_do_not_drop(capsys) -> None:
    run, real, from_request, from_response = _provenance()
    with capsys.disabled():
        print(f"\ncorpus: {run} cases, {real} request-vs-response; compared leaves: {from_request} from requests, "
              f"{from_response} from responses")
    assert real >= PINNED_REAL_CASES, f"only {real} request-vs-response cases (pinned {PINNED_REAL_CASES})"
    assert from_request >= PINNED_REQUEST_LEAVES, f"only {from_request} leaves from requests ({PINNED_REQUEST_LEAVES})"


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/arm-examples is not available")
def test_the_accounted_check_can_fail() -> None:
    """A field no rule names (Azure adds one, or the model moves on) is "undeclared" and fails the check above:
    it used to pass as "ignored" whatever its class (issue 16: 48 such fields went through)."""
    example, step = next((e, s) for e, s in CASES if s.name == "storage_account")
    desired = derive(step.desired(_known()), example, step.rules)
    response = {**example.response, "properties": {**example.response["properties"], "handMadeFeature": "on"}}
    result = diff(desired, response, as_declared_by(example, step.rules))
    classified = {i.path for i in result.ignored if i.kind != UNDECLARED}
    compared = set(leaf_paths(desired)) | _declared(step)
    assert [p for p in leaf_paths(response) if not _accounted(p, compared, classified)] == ["properties.handMadeFeature"]
