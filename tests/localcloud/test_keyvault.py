"""Key Vault: vault CRUD with soft delete, recover, purge protection, and the secrets data plane."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.keyvault.models import (
    Sku,
    VaultCreateOrUpdateParameters,
    VaultPatchParameters,
    VaultPatchProperties,
    VaultProperties,
)

from .conftest import SUB, StaticCred, jwt, raw

TENANT = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def kv(make):
    return make(KeyVaultManagementClient)


def _params(purge_protection: bool | None = None, create_mode: str | None = None):
    return VaultCreateOrUpdateParameters(location="East US", properties=VaultProperties(
        tenant_id=TENANT, sku=Sku(family="A", name="standard"), enable_rbac_authorization=True,
        enable_purge_protection=purge_protection, create_mode=create_mode))


def test_vault_lifecycle_soft_delete_and_recover(cloud, kv, rg):
    vault = kv.vaults.begin_create_or_update(rg, "kv-fund-1", _params()).result()
    assert vault.location == "eastus" and vault.properties.provisioning_state == "Succeeded"
    assert vault.properties.vault_uri == f"{cloud.tls_url}/keyvault/kv-fund-1/"
    assert vault.properties.enable_soft_delete is True and vault.properties.soft_delete_retention_in_days == 90
    assert vault.tags == {}
    patched = kv.vaults.update(rg, "kv-fund-1", VaultPatchParameters(
        tags={"env": "dev"}, properties=VaultPatchProperties(enabled_for_deployment=True)))
    assert patched.tags == {"env": "dev"} and patched.properties.enabled_for_deployment is True
    assert patched.properties.enable_rbac_authorization is True
    assert [v.name for v in kv.vaults.list_by_resource_group(rg)] == ["kv-fund-1"]

    kv.vaults.delete(rg, "kv-fund-1")
    with pytest.raises(ResourceNotFoundError):
        kv.vaults.get(rg, "kv-fund-1")
    deleted = kv.vaults.get_deleted("kv-fund-1", "eastus")
    assert deleted.properties.vault_id.endswith("/vaults/kv-fund-1")
    assert deleted.properties.purge_protection_enabled is False
    assert [d.name for d in kv.vaults.list_deleted()] == ["kv-fund-1"]

    with pytest.raises(HttpResponseError) as err:
        kv.vaults.begin_create_or_update(rg, "kv-fund-1", _params()).result()
    assert err.value.status_code == 409 and err.value.error.code == "ConflictError"
    assert "deleted state" in err.value.error.message

    recovered = kv.vaults.begin_create_or_update(rg, "kv-fund-1", _params(create_mode="recover")).result()
    assert recovered.properties.provisioning_state == "Succeeded"
    with pytest.raises(ResourceNotFoundError):
        kv.vaults.get_deleted("kv-fund-1", "eastus")

    kv.vaults.delete(rg, "kv-fund-1")
    kv.vaults.begin_purge_deleted("kv-fund-1", "eastus").result()
    assert list(kv.vaults.list_deleted()) == []
    kv.vaults.begin_create_or_update(rg, "kv-fund-1", _params()).result()  # the name is free again


def test_purge_protection_blocks_purge(kv, rg):
    kv.vaults.begin_create_or_update(rg, "kv-fund-2", _params(purge_protection=True)).result()
    kv.vaults.delete(rg, "kv-fund-2")
    with pytest.raises(HttpResponseError) as err:
        kv.vaults.begin_purge_deleted("kv-fund-2", "eastus").result()
    assert err.value.status_code == 409
    assert kv.vaults.get_deleted("kv-fund-2", "eastus").properties.purge_protection_enabled is True


def test_group_delete_soft_deletes_vault(cloud, kv, make, rg):
    from azure.mgmt.resource.resources import ResourceManagementClient

    kv.vaults.begin_create_or_update(rg, "kv-fund-3", _params()).result()
    make(ResourceManagementClient).resource_groups.begin_delete(rg).result()
    assert kv.vaults.get_deleted("kv-fund-3", "eastus").name == "kv-fund-3"


OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"  # Key Vault Secrets Officer


def grant(make, scope: str, principal: str, role: str = OFFICER) -> None:
    import uuid

    from azure.mgmt.authorization import AuthorizationManagementClient

    make(AuthorizationManagementClient).role_assignments.create(scope, str(uuid.uuid4()), {"properties": {
        "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}",
        "principalId": principal, "principalType": "User"}})


def test_secrets_data_plane(cloud, kv, make, rg):
    vault = kv.vaults.begin_create_or_update(rg, "kv-fund-4", _params()).result()
    operator = "11111111-2222-3333-4444-555555555555"
    grant(make, vault.id, operator)
    # The secrets SDK refuses http outright: the vault URI is the cloud's loopback https listener.
    client = SecretClient(vault.properties.vault_uri, StaticCred(jwt(oid=operator)), verify_challenge_resource=False,
                          connection_verify=str(cloud.ca_file))
    first = client.set_secret("db-password", "s3cret-1")
    second = client.set_secret("db-password", "s3cret-2", content_type="text/plain")
    assert first.properties.version != second.properties.version
    assert client.get_secret("db-password").value == "s3cret-2"
    assert client.get_secret("db-password", first.properties.version).value == "s3cret-1"
    assert [s.name for s in client.list_properties_of_secrets()] == ["db-password"]
    assert len(list(client.list_properties_of_secret_versions("db-password"))) == 2
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("missing")
    client.begin_delete_secret("db-password").result()
    with pytest.raises(ResourceExistsError):
        client.set_secret("db-password", "again")
    client.purge_deleted_secret("db-password")
    client.set_secret("db-password", "fresh")
    logged = [r for r in cloud.requests() if r["kind"] == "dataplane"]
    assert logged[0]["status"] == 401 and all("s3cret" not in str(r) for r in cloud.requests())
    assert "s3cret" not in str(cloud.state())


def test_deleted_vault_get_missing_is_404(cloud, rg):
    status, body, _ = raw(cloud, "GET", f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/locations/eastus/"
                          "deletedVaults/nope?api-version=2026-05-15")
    assert status == 404 and body["error"]["code"] == "ResourceNotFound"
