"""The site's identity re-created (turned off and on: a new principal): its vault role is a new assignment, never
a replace; the stale one is revoked, or left for a person under production's lock on the vault (issue 7 point 5).
Real SDK over HTTP against the local cloud."""

from __future__ import annotations

import pytest

from provisioner.cli.render import plan_text
from provisioner.cli.session import Connection, Session, apply, make_plan
from provisioner.core.model import Action, Change, Plan, Status
from provisioner.engine.executor import Timing
from provisioner.engine.reconciler import Policy
from provisioner.localcloud import LocalCloud
from tests.e2e.helpers import Run, cli, rest, rg_path
from tests.support import sub_session

pytestmark = pytest.mark.e2e
ASSIGNMENTS = "/providers/Microsoft.Authorization/roleAssignments/"


def _site(env: str) -> str:
    return f"{rg_path(env)}/providers/Microsoft.Web/sites/fundrbolt-{env}-api"


def _vault(env: str) -> str:
    return f"{rg_path(env)}/providers/Microsoft.KeyVault/vaults/fundrbolt-{env}-kv"


def _principal(cloud: LocalCloud, env: str) -> str:
    status, body = rest(cloud.url, "GET", _site(env))
    assert status == 200, body
    return str(body["identity"]["principalId"])


def _grants(cloud: LocalCloud, env: str) -> dict[str, str]:
    """Assignment name -> principal, for the role assignments at the vault."""
    prefix = (_vault(env) + ASSIGNMENTS).lower()
    return {rid.rsplit("/", 1)[-1]: body["properties"]["principalId"] for rid, body in cloud.state().items()
            if rid.lower().startswith(prefix)}


def _recreate_identity(cloud: LocalCloud, env: str) -> tuple[str, str]:
    """Someone turns the site's system identity off and on again (its service principal is deleted with it), as the
    portal's System assigned switch does: the user-assigned identity the site carries stays."""
    old = _principal(cloud, env)
    status, site = rest(cloud.url, "GET", _site(env))
    shared = {k: {} for k in (site["identity"].get("userAssignedIdentities") or {})}
    for kind in (("UserAssigned", "SystemAssigned, UserAssigned") if shared else ("None", "SystemAssigned")):
        status, body = rest(cloud.url, "PATCH", _site(env), {"identity": {"type": kind, **(
            {"userAssignedIdentities": shared} if shared else {})}})
        assert status == 200, body
    new = _principal(cloud, env)
    assert new != old
    return old, new


def _run(s: Session, conn: Connection) -> tuple[Plan, dict[str, Status]]:
    plan, known = make_plan(s, conn, Policy())
    outcomes, _ = apply(s, conn, plan, known)
    bad = {o.change.step: o.error for o in outcomes if o.status in (Status.FAILED, Status.SKIPPED)}
    assert not bad, bad
    return plan, {o.change.step: o.status for o in outcomes}


def _the_two(plan: Plan) -> tuple[Change, Change]:
    grant = next(c for c in plan.changes if c.step == "key_vault_access")
    [stale] = [c for c in plan.changes if c.collection == "resource_group/roleAssignments"]
    return grant, stale


def test_outside_production_the_new_principal_gets_a_new_assignment_and_the_stale_one_is_revoked(cloud, clients):
    s = sub_session("dev", "app_settings")  # the app reads its secrets through Key Vault references
    conn = Connection(clients, Timing.local())
    _run(s, conn)
    first = _grants(cloud, "dev")
    old, new = _recreate_identity(cloud, "dev")
    assert set(first.values()) == {old}
    rest(cloud.url, "POST", _site("dev") + "/restart")
    status, refs = rest(cloud.url, "GET", _site("dev") + "/config/configreferences/appsettings")
    assert status == 200 and {r["properties"]["status"] for r in refs["value"]} == {"AccessToKeyVaultDenied"}

    plan, known = make_plan(s, conn, Policy())
    grant, stale = _the_two(plan)
    # Before: a REPLACE (delete + create under the site-derived name). Now: a new assignment for the new principal.
    assert grant.action is Action.CREATE and grant.refused is None and grant.ref.name not in first
    assert ("properties.principalId", new) in {(p.path, p.after) for p in grant.properties}
    assert stale.action is Action.DELETE and stale.ref.name in first and stale.refused is None
    assert ("properties.principalId", old) in {(p.path, p.before) for p in stale.properties}
    assert {c.step for c in plan.pending} == {grant.step, stale.step}
    outcomes, _ = apply(s, conn, plan, known)
    assert {o.change.step: o.status for o in outcomes if o.change.action is not Action.NOOP} == {
        grant.step: Status.APPLIED, stale.step: Status.APPLIED}
    assert _grants(cloud, "dev") == {grant.ref.name: new}
    # The new role reached the app: it re-read its references (key_vault_access waits for that).
    _, refs = rest(cloud.url, "GET", _site("dev") + "/config/configreferences/appsettings")
    assert {r["properties"]["status"] for r in refs["value"]} == {"Resolved"}
    again, _ = make_plan(s, conn, Policy())
    assert not again.has_changes and not again.errors, [c.step for c in again.pending]


def test_under_the_vault_lock_the_stale_assignment_is_left_for_a_person_and_the_run_succeeds(cloud, clients):
    s = sub_session("production", "key_vault_access", "lock:key_vault")
    conn = Connection(clients, Timing.local())
    _run(s, conn)
    first = _grants(cloud, "production")
    old, new = _recreate_identity(cloud, "production")
    [stale_name] = first
    # As on Azure, the vault's lock refuses deleting an assignment scoped to it: a replace would fail here.
    status, body = rest(cloud.url, "DELETE", _vault("production") + ASSIGNMENTS + stale_name, api_version="2022-04-01")
    assert (status, body["error"]["code"]) == (409, "ScopeLocked")

    plan, _ = make_plan(s, conn, Policy())
    grant, stale = _the_two(plan)
    assert grant.action is Action.CREATE and grant.refused is None
    assert stale.action is Action.DELETE and stale.ref.name == stale_name
    assert stale.refused and stale.refused.startswith("left for a person:") and "fundrbolt-production-kv" in stale.refused
    assert "left for a person" in plan_text(plan)
    plan, statuses = _run(s, conn)
    assert statuses[grant.step] is Status.APPLIED and statuses[stale.step] is Status.LEFT_FOR_A_PERSON
    assert _grants(cloud, "production") == {stale_name: old, grant.ref.name: new}

    again, _ = make_plan(s, conn, Policy())
    assert not again.errors
    [held] = again.pending  # only what a person must do
    assert held.step == stale.step and held.refused == stale.refused


def test_a_grant_under_the_earlier_owner_derived_name_is_kept_until_the_identity_changes(cloud, clients):
    """An environment provisioned when the name came from the site's id: the same grant, adopted (a second one
    would be refused, 409 RoleAssignmentExists), not revoked; once the identity is re-created it is stale."""
    s = sub_session("dev", "key_vault_access")
    conn = Connection(clients, Timing.local())
    _run(s, conn)
    grant = next(x for x in s.steps if x.name == "key_vault_access")
    [(name, principal)] = _grants(cloud, "dev").items()
    body = {"properties": {"roleDefinitionId": grant.role_definition_id, "principalId": principal,
                           "principalType": "ServicePrincipal"}}
    # As the earlier version left it: one grant, under the owner-derived name.
    assert rest(cloud.url, "DELETE", _vault("dev") + ASSIGNMENTS + name, api_version="2022-04-01")[0] == 200
    status, answer = rest(cloud.url, "PUT", _vault("dev") + ASSIGNMENTS + grant.earlier(), body, api_version="2022-04-01")
    assert status == 201, answer
    status, answer = rest(cloud.url, "PUT", _vault("dev") + ASSIGNMENTS + name, body, api_version="2022-04-01")
    assert (status, answer["error"]["code"]) == (409, "RoleAssignmentExists")  # why it must be adopted

    plan, _ = make_plan(s, conn, Policy())
    assert not plan.has_changes and not plan.errors, [(c.step, c.action) for c in plan.pending]
    old, new = _recreate_identity(cloud, "dev")
    assert old == principal
    plan, statuses = _run(s, conn)
    grant_change, stale = _the_two(plan)
    assert grant_change.action is Action.CREATE and stale.ref.name == grant.earlier() and stale.refused is None
    assert _grants(cloud, "dev") == {grant_change.ref.name: new}


def test_production_through_the_cli_provision_exits_0_and_the_plan_says_what_is_left(cloud):
    """The same as an operator sees it: `plan` shows the new assignment and the stale one left for a person,
    `provision --yes` exits 0, and the re-plan lists only the stale one (and production's usual waits)."""
    assert cli("provision", "--env", "production", "--arm-endpoint", cloud.url, "--yes").code == 0
    old, new = _recreate_identity(cloud, "production")

    def pending(run: Run) -> dict[str, dict]:
        return {c["step"]: c for c in run.json()["changes"] if c["action"] != "noop" and not c.get("waiting")}

    plan = cli("plan", "--env", "production", "--arm-endpoint", cloud.url, "--output", "json")
    assert plan.code == 2, plan.err
    changes = pending(plan)
    [stale] = [c for c in changes.values() if c.get("collection") == "resource_group/roleAssignments"]
    assert changes["key_vault_access"]["action"] == "create" and not changes["key_vault_access"].get("refused")
    assert {"path": "properties.principalId", "before": old, "after": None} in stale["properties"]
    assert stale["action"] == "delete" and stale["refused"].startswith("left for a person:")
    run = cli("provision", "--env", "production", "--arm-endpoint", cloud.url, "--yes")
    assert run.code == 0, run.err[-2000:]
    assert "left for a person" in run.err
    assert new in _grants(cloud, "production").values() and old in _grants(cloud, "production").values()
    again = cli("plan", "--env", "production", "--arm-endpoint", cloud.url, "--output", "json")
    assert set(pending(again)) == {stale["step"]}, again.out
