"""Local-cloud fidelity for user-assigned identities and the sites that carry them.

Oracles: azure-rest-api-specs msi 2024-11-30 examples (IdentityCreate.json: 201 then 200, clientId/principalId/
tenantId/isolationScope, an id spelled `/resourcegroups/`; IdentityDelete.json: 200 or 204), the msi and web SDK
models (read-only principalId/clientId), and App Service's FailedIdentityOperation answer for an identity it cannot
find (Azure/azure-libraries-for-net#690)."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.msi.v2024_11_30 import ManagedServiceIdentityClient
from azure.mgmt.web import WebSiteManagementClient

from .conftest import SUB


@pytest.fixture
def msi(make):
    return make(ManagedServiceIdentityClient)


@pytest.fixture
def web(make):
    return make(WebSiteManagementClient)


def _identity_id(rg: str, name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"


def _site(web, rg: str, identity: dict) -> dict:
    plan = web.app_service_plans.begin_create_or_update(rg, "plan", {
        "location": "eastus", "kind": "linux", "properties": {"reserved": True},
        "sku": {"name": "S1", "tier": "Standard"}}).result()
    return web.web_apps.begin_create_or_update(rg, "app-1", {
        "location": "eastus", "kind": "app,linux,container", "identity": identity,
        "properties": {"serverFarmId": plan.id}}).result().as_dict()  # wire names (azure-mgmt-web 10 models)


def test_an_identity_gets_ids_of_its_own_and_new_ones_when_created_again(msi, rg):
    made = msi.user_assigned_identities.create_or_update(rg, "app-id", {"location": "eastus", "tags": {"a": "b"}})
    for value in (made.client_id, made.principal_id, made.tenant_id):
        uuid.UUID(value)
    assert made.client_id != made.principal_id and made.isolation_scope == "None"
    assert made.id.lower() == _identity_id(rg, "app-id").lower() and "/resourcegroups/" in made.id  # as the example
    # A PUT again keeps the principal; a sent principalId is read-only and ignored.
    again = msi.user_assigned_identities.create_or_update(rg, "app-id", {"location": "eastus", "tags": {}})
    assert (again.principal_id, again.client_id) == (made.principal_id, made.client_id)
    msi.user_assigned_identities.delete(rg, "app-id")
    with pytest.raises(HttpResponseError) as gone:
        msi.user_assigned_identities.get(rg, "app-id")
    assert gone.value.status_code == 404
    reborn = msi.user_assigned_identities.create_or_update(rg, "app-id", {"location": "eastus"})
    assert reborn.principal_id != made.principal_id and reborn.client_id != made.client_id


def test_a_site_carries_an_identity_that_exists_with_that_identitys_ids(msi, web, rg):
    made = msi.user_assigned_identities.create_or_update(rg, "app-id", {"location": "eastus"})
    site = _site(web, rg, {"type": "SystemAssigned, UserAssigned",
                           "userAssignedIdentities": {_identity_id(rg, "app-id"): {}}})
    ident = site["identity"]
    assert ident["principalId"] and ident["principalId"] != made.principal_id  # its own system identity
    (key, entry), = ident["userAssignedIdentities"].items()
    assert key.lower() == _identity_id(rg, "app-id").lower()
    assert (entry["principalId"], entry["clientId"]) == (made.principal_id, made.client_id)


def test_a_site_naming_an_identity_that_does_not_exist_is_refused(web, rg):
    with pytest.raises(HttpResponseError) as refused:
        _site(web, rg, {"type": "SystemAssigned, UserAssigned",
                        "userAssignedIdentities": {_identity_id(rg, "missing-id"): {}}})
    assert refused.value.status_code == 400 and refused.value.error.code == "FailedIdentityOperation"
    assert "missing-id" in str(refused.value)
    with pytest.raises(HttpResponseError) as nothing:
        web.web_apps.get(rg, "app-1")
    assert nothing.value.status_code == 404  # nothing was created


def test_the_identity_block_is_refused_where_the_identity_service_refuses_it(msi, web, rg):
    """Quoted answers: a non-UserAssigned type sent with userAssignedIdentities (Azure/azure-rest-api-specs#17650),
    UserAssigned naming none (microsoft/CromwellOnAzure#765), a key that is not a resource id
    (MicrosoftDocs/azure-docs#112377). A PATCH of the type alone takes the identities off, as the type says."""
    msi.user_assigned_identities.create_or_update(rg, "app-id", {"location": "eastus"})
    for identity, words in (
            ({"type": "SystemAssigned", "userAssignedIdentities": {_identity_id(rg, "app-id"): {}}},
             "a non-UserAssigned identity type should not contain: userAssignedIdentities"),
            ({"type": "UserAssigned", "userAssignedIdentities": {}},
             "The identity ids must not be null or empty for 'UserAssigned' identity type."),
            ({"type": "UserAssigned", "userAssignedIdentities": {"app-id": {}}}, "Property id 'app-id' at path '' is invalid")):
        with pytest.raises(HttpResponseError) as refused:
            _site(web, rg, identity)
        assert refused.value.status_code == 400 and words in str(refused.value), str(refused.value)
    _site(web, rg, {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {_identity_id(rg, "app-id"): {}}})
    web.web_apps.update(rg, "app-1", {"identity": {"type": "SystemAssigned"}})
    assert not web.web_apps.get(rg, "app-1").as_dict()["identity"].get("userAssignedIdentities")
