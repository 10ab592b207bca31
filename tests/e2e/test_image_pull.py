"""The private image is pulled with the app's identity (AcrPull on the registry), and the image itself belongs to
deployments: set at create, never compared or reverted (real SDK, local cloud)."""

from __future__ import annotations

import pytest

from provisioner.cli.session import Connection, Session, apply, make_plan
from provisioner.core.model import Action, Status
from provisioner.engine.executor import Timing
from provisioner.engine.graph import build
from provisioner.engine.reconciler import Policy
from provisioner.localcloud.cloud import SHARED_REGISTRY
from steps.acr_pull import ACR_PULL
from tests.support import closure, session

pytestmark = pytest.mark.e2e


def _sub(env: str, *names: str) -> Session:
    full = session(env)
    wanted = {n for name in names for n in closure(full, name)}
    steps = [s for s in full.steps if s.name in wanted]
    return Session(full.env, steps, build([(s.name, s.depends_on) for s in steps]))


def _run(sub: Session, clients) -> dict:
    conn = Connection(clients, Timing.local())
    plan, known = make_plan(sub, conn, Policy())
    outcomes, _ = apply(sub, conn, plan, known)
    return {o.change.step: o for o in outcomes}


def test_acr_pull_needs_the_registry_to_exist_then_each_identity_gets_it(cloud, clients):
    state = cloud.state()
    cloud.set_state({k: v for k, v in state.items() if "containerregistry" not in k.lower()})
    sub = _sub("production", "web_app_config", "slot_config")
    outcomes = _run(sub, clients)
    # As ARM: a role assignment on a scope that does not exist is refused (404 ParentResourceNotFound).
    assert outcomes["acr_pull"].status is Status.FAILED and "not found" in (outcomes["acr_pull"].error or "")
    assert outcomes["web_app_config"].status is Status.SKIPPED

    cloud.set_state({**cloud.state(), **{k: v for k, v in state.items() if "containerregistry" in k.lower()}})
    outcomes = _run(sub, clients)
    assert all(o.status in (Status.APPLIED, Status.UNCHANGED) for o in outcomes.values()), {
        k: o.error for k, o in outcomes.items() if o.status not in (Status.APPLIED, Status.UNCHANGED)}
    now = cloud.state()
    grants = [b for rid, b in now.items() if rid.lower().startswith(SHARED_REGISTRY.lower() + "/providers/microsoft.authorization/roleassignments/")]
    principals = {b["properties"]["principalId"] for b in grants}
    site = next(b for rid, b in now.items() if rid.lower().endswith("/sites/fundrbolt-production-api"))
    slot = next(b for rid, b in now.items() if rid.lower().endswith("/sites/fundrbolt-production-api/slots/staging"))
    assert principals == {site["identity"]["principalId"], slot["identity"]["principalId"]}
    assert all(b["properties"]["roleDefinitionId"].endswith(ACR_PULL) for b in grants)
    configs = [b for rid, b in now.items() if rid.lower().endswith("/config/web")]
    assert configs and all(b["properties"]["acrUseManagedIdentityCreds"] is True for b in configs)

    again, _ = make_plan(sub, Connection(clients, Timing.local()), Policy())
    assert again.pending == ()


def test_the_running_image_belongs_to_deployments(cloud, clients):
    sub = _sub("dev", "web_app_config")
    _run(sub, clients)
    site = next(rid for rid in cloud.state() if rid.lower().endswith("/sites/fundrbolt-dev-api"))
    assert cloud.state()[site + "/config/web"]["properties"]["linuxFxVersion"] == "DOCKER|fundrbolt.azurecr.io/fundrbolt-api:latest"
    from tests.e2e.helpers import rest

    def after_setting(image: str, caller: str):
        """The web_app_config change a plan shows once `caller` set the running image."""
        status, _ = rest(cloud.url, "PATCH", site + "/config/web", {"properties": {"linuxFxVersion": f"DOCKER|{image}"}},
                         caller=caller, api_version="2024-11-01")
        assert status == 200
        plan, _ = make_plan(sub, Connection(clients, Timing.local()), Policy())
        return next(c for c in plan.changes if c.step == "web_app_config")

    change = after_setting("fundrbolt.azurecr.io/fundrbolt-api:sha-1234", "ci@fundrbolt.app")
    assert change.action is Action.NOOP
    # Deployments own the tag, the env files the registry: the same image from another registry is drift.
    change = after_setting("evil.example.com/fundrbolt-api:sha-1234", "mallory@example.com")
    assert change.action is Action.UPDATE and [d.path for d in change.properties] == ["properties.linuxFxVersion"]


def test_a_tag_added_to_the_site_by_hand_is_drift_and_provision_removes_it(cloud, clients):
    from tests.e2e.helpers import rest

    sub = _sub("staging", "deployment_slot")
    _run(sub, clients)
    site = next(rid for rid in cloud.state() if rid.lower().endswith("/sites/fundrbolt-staging-api"))
    for target in (site, site + "/slots/staging"):
        # The portal changes tags through the Tags API (a site PATCH would ignore them, as on Azure).
        status, _ = rest(cloud.url, "PATCH", target + "/providers/Microsoft.Resources/tags/default",
                         {"operation": "Merge", "properties": {"tags": {"HandMade": "by-alice"}}}, api_version="2021-04-01")
        assert status == 200
        assert cloud.state()[target]["tags"]["HandMade"] == "by-alice"
        status, body = rest(cloud.url, "PATCH", target, {"tags": {"Other": "x"}})
        assert status == 200 and "Other" not in body["tags"]
    plan, _ = make_plan(sub, Connection(clients, Timing.local()), Policy())
    drifted = {c.step: [p.path for p in c.properties] for c in plan.pending}
    assert drifted == {"web_app": ["tags.HandMade"], "deployment_slot": ["tags.HandMade"]}
    outcomes = _run(sub, clients)  # before: PATCH ignored the tags and the step "did not converge"
    assert {k: o.status for k, o in outcomes.items() if k in drifted} == {k: Status.APPLIED for k in drifted}
    assert all("HandMade" not in (cloud.state()[t].get("tags") or {}) for t in (site, site + "/slots/staging"))
