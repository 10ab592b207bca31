"""The private image: registry id validation, AcrPull per identity (named from the principal), the MI pull flag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import steps
from provisioner.cli.session import load_session
from provisioner.core.errors import ConfigError
from provisioner.core.model import UNKNOWN
from steps._role_assignment import PENDING, assignment_name
from steps.acr_pull import ACR_PULL
from tests.support import SUB, autospec_clients, session, step
from tests.support import edit_env as edit

REGISTRY = f"/subscriptions/{SUB}/resourceGroups/fundrbolt-shared-rg/providers/Microsoft.ContainerRegistry/registries/fundrbolt"
KEY = "web_app.container_registry_id"


def problems(envs: Path, env: str = "dev") -> list[Any]:
    try:
        return [p for p in load_session(env, steps.ALL_STEPS, envs).warnings if p.key == KEY]
    except ConfigError as exc:
        return [p for p in exc.problems if p.key == KEY]


def test_shipped_files_pull_privately_from_the_shared_registry():
    s = session("production")
    assert {x.name for x in s.steps if x.name.startswith("acr_pull")} == {"acr_pull", "acr_pull:slot"}
    assert step(s, "acr_pull").scope == REGISTRY
    assert step(s, "web_app_config").desired({})["properties"]["acrUseManagedIdentityCreds"] is True
    assert {x.name for x in session("dev").steps if x.name.startswith("acr_pull")} == {"acr_pull"}  # no slot


def test_a_private_image_without_a_registry_id_is_refused(envs):
    edit(envs, "common.toml", 'container_registry_id = "', '# container_registry_id = "')
    [p] = problems(envs)
    assert p.severity == "error" and "fundrbolt.azurecr.io" in p.message and p.file.endswith("common.toml")


@pytest.mark.parametrize("bad", [
    "/subscriptions/{subscription_id}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/fundrbolt",
    "fundrbolt.azurecr.io",
    "/subscriptions/{subscription_id}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/a-b",
])
def test_a_registry_id_must_be_a_registry_arm_id(envs, bad):
    edit(envs, "common.toml", "/subscriptions/{subscription_id}/resourceGroups/fundrbolt-shared-rg/providers/"
                              "Microsoft.ContainerRegistry/registries/fundrbolt", bad)
    [p] = problems(envs)
    assert p.severity == "error" and "not a container registry id" in p.message


def test_the_image_login_server_must_match_the_registry(envs):
    edit(envs, "common.toml", "registries/fundrbolt\"", "registries/otherreg\"")
    [p] = problems(envs)
    assert p.severity == "error" and "otherreg" in p.message


def test_a_public_image_needs_no_role_and_no_managed_identity_pull(envs):
    edit(envs, "common.toml", 'container_image = "fundrbolt.azurecr.io/fundrbolt-api:latest"',
         'container_image = "ghcr.io/fundrbolt/api:latest"')
    [p] = problems(envs)
    assert p.severity == "warning"  # the id is not used
    s = load_session("production", steps.ALL_STEPS, envs)
    assert not [x for x in s.steps if x.name.startswith("acr_pull")]
    assert step(s, "web_app_config").desired({})["properties"]["acrUseManagedIdentityCreds"] is False
    assert "acr_pull" not in step(s, "web_app_config").depends_on


def test_assignment_is_named_from_scope_principal_and_role_a_new_principal_is_a_new_assignment():
    grant = step(session("production"), "acr_pull")
    assert grant.desired({"web_app": None})["properties"]["principalId"] is UNKNOWN
    assert grant.resource_name == PENDING
    first = grant.desired({"web_app": {"identity": {"principalId": "AAAA"}}})
    name = grant.resource_name
    assert name == assignment_name(REGISTRY, "aaaa", ACR_PULL) and first["properties"]["principalId"] == "aaaa"
    grant.desired({"web_app": {"identity": {"principalId": "bbbb"}}})
    assert grant.resource_name != name  # re-created identity: a new assignment, the old one is left to report
    assert grant.ref.id == f"{REGISTRY}/providers/Microsoft.Authorization/roleAssignments/{grant.resource_name}"


def test_read_learns_the_principal_from_the_site_then_gets_the_assignment():
    s = session("production")
    grant = step(s, "acr_pull")
    from unittest.mock import create_autospec

    from azure.mgmt.authorization.v2022_04_01.operations import RoleAssignmentsOperations

    c = autospec_clients()
    # 2022-04-01 is the version `clients.authorization.role_assignments` resolves to (multi-API client).
    c.authorization.role_assignments = create_autospec(RoleAssignmentsOperations, instance=True)
    c.web.web_apps.get.side_effect = lambda *a, **k: k["cls"](type("R", (), {"http_response": type("H", (), {
        "json": lambda self: {"identity": {"principalId": "cccc"}}})()})(), None, {})
    grant.read(c)
    assert c.web.web_apps.get.call_args.args == ("fundrbolt-production-rg", "fundrbolt-production-api")
    assert c.authorization.role_assignments.get.call_args.args == (REGISTRY, assignment_name(REGISTRY, "cccc", ACR_PULL))
    body = grant.desired({"web_app": {"identity": {"principalId": "cccc"}}})
    grant.create(c, body)
    c.authorization.role_assignments.create.assert_called_once_with(REGISTRY, grant.resource_name, body)
    assert body["properties"]["roleDefinitionId"].endswith(f"/roleDefinitions/{ACR_PULL}")


def test_site_tags_are_repaired_through_the_tags_api_because_a_site_patch_ignores_them():
    from provisioner.core.model import PropertyChange

    s = session("staging")
    for name, patch_op in (("web_app", "update"), ("deployment_slot", "update_slot")):
        site = step(s, name)
        desired = site.desired({})
        c = autospec_clients()
        site.update(c, desired, desired, (PropertyChange("tags.HandMade", "x", None),))
        c.resource.tags.begin_create_or_update_at_scope.assert_called_once_with(
            site.ref.id, {"properties": {"tags": desired["tags"]}})
        getattr(c.web.web_apps, patch_op).assert_not_called()  # only tags differed
        c = autospec_clients()
        site.update(c, desired, desired, (PropertyChange("properties.httpsOnly", False, True),))
        c.resource.tags.begin_create_or_update_at_scope.assert_not_called()
        sent = getattr(c.web.web_apps, patch_op).call_args.args[-1]
        assert "tags" not in sent and "siteConfig" not in sent["properties"]
