"""Key Vault as strict as Azure: token tenant (AKV10032), firewall, RBAC and its propagation, ARM secrets,
VNet integration and the app's Key Vault reference statuses. Each rule is shown refused, then admitted."""

from __future__ import annotations

import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.web import WebSiteManagementClient

from provisioner.localcloud import LocalCloud
from provisioner.localcloud.providers import register_all

from .conftest import RG, SUB, AllowHttp, StaticCred, jwt, rid
from .test_keyvault import grant

TENANT = "7a1b2c3d-0000-4000-8000-00000000abcd"
OPERATOR = "11111111-2222-3333-4444-555555555555"
READER = "21090545-7ca7-4776-b22c-e363652d74d2"


@pytest.fixture
def cloud():
    with LocalCloud(tenant_id=TENANT) as c:
        register_all(c)
        yield c


def vault(make, name: str, tenant: str = TENANT, acls: dict | None = None) -> dict:
    body = {"location": "eastus", "properties": {"tenantId": tenant, "sku": {"family": "A", "name": "standard"},
                                                 "enableRbacAuthorization": True, **({"networkAcls": acls} if acls else {})}}
    return make(KeyVaultManagementClient).vaults.begin_create_or_update(RG, name, body).result()


def secrets(cloud, v, token: str) -> SecretClient:
    return SecretClient(v.properties.vault_uri, StaticCred(token), verify_challenge_resource=False,
                        connection_verify=str(cloud.ca_file))


def refused(fn) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as err:
        fn()
    return err.value


def test_subscription_names_the_cloud_tenant(make, cloud):
    sub = SubscriptionClient(StaticCred(), base_url=cloud.url, per_call_policies=[AllowHttp()]).subscriptions.get(SUB)
    assert sub.tenant_id == TENANT


def test_vault_of_another_tenant_refuses_tokens(make, cloud, rg):
    foreign = vault(make, "kv-foreign", tenant="00000000-0000-0000-0000-000000000000")
    grant(make, foreign.id, OPERATOR)
    err = refused(lambda: secrets(cloud, foreign, jwt(oid=OPERATOR)).set_secret("a", "b"))
    assert err.status_code == 401 and "AKV10032" in str(err.message)
    ours = vault(make, "kv-ours")
    grant(make, ours.id, OPERATOR)
    assert secrets(cloud, ours, jwt(oid=OPERATOR, tid=TENANT)).set_secret("a", "b").value == "b"


def test_firewall_denies_by_default_and_admits_listed_addresses(make, cloud, rg):
    closed = vault(make, "kv-closed", acls={"defaultAction": "Deny", "bypass": "AzureServices"})
    grant(make, closed.id, OPERATOR)
    err = refused(lambda: secrets(cloud, closed, jwt(oid=OPERATOR)).get_secret("x"))
    assert err.status_code == 403 and "ForbiddenByFirewall" in str(err) and cloud.client_ip in str(err.message)
    vault(make, "kv-closed", acls={"defaultAction": "Deny", "bypass": "AzureServices",
                                   "ipRules": [{"value": f"{cloud.client_ip}/32"}]})
    client = secrets(cloud, closed, jwt(oid=OPERATOR))
    client.set_secret("x", "1")
    assert client.get_secret("x").value == "1"


def test_rbac_needs_a_data_plane_role(make, cloud, rg):
    v = vault(make, "kv-rbac")
    nobody = str(uuid.uuid4())
    for token in ("alice@fundrbolt.app", jwt(oid=nobody)):
        err = refused(lambda token=token: secrets(cloud, v, token).get_secret("x"))
        assert err.status_code == 403 and "ForbiddenByRbac" in str(err)
    grant(make, v.id, OPERATOR)
    secrets(cloud, v, jwt(oid=OPERATOR)).set_secret("x", "1")
    grant(make, v.id, nobody, READER)  # metadata only, never a value
    assert [s.name for s in secrets(cloud, v, jwt(oid=nobody)).list_properties_of_secrets()] == ["x"]
    assert refused(lambda: secrets(cloud, v, jwt(oid=nobody)).get_secret("x")).status_code == 403


def test_role_assignments_propagate_slowly_under_realistic_latency(rg):
    with LocalCloud(latency="realistic", time_scale=0.01) as c:  # 180 s -> 1.8 s
        register_all(c)
        def make(cls, **kw):
            return cls(StaticCred(), SUB, base_url=c.url, per_call_policies=[AllowHttp()], polling_interval=0.05, **kw)

        from azure.mgmt.resource.resources import ResourceManagementClient

        make(ResourceManagementClient).resource_groups.create_or_update(RG, {"location": "eastus"})
        v = vault(make, "kv-slow", tenant="00000000-0000-0000-0000-000000000000")
        grant(make, v.id, OPERATOR)
        client = secrets(c, v, jwt(oid=OPERATOR))
        assert refused(lambda: client.set_secret("x", "1")).status_code == 403
        deadline = time.monotonic() + 10
        while True:
            try:
                client.set_secret("x", "1")
                break
            except HttpResponseError:
                assert time.monotonic() < deadline, "the role never took effect"
                time.sleep(0.2)


def test_arm_secrets_pass_the_firewall_and_never_return_values(make, cloud, rg):
    v = vault(make, "kv-arm", acls={"defaultAction": "Deny", "bypass": "AzureServices"})
    kv = make(KeyVaultManagementClient)
    first = kv.secrets.create_or_update(RG, "kv-arm", "s1", {"tags": {"k": "1"}, "properties": {"value": "v1"}})
    assert first.properties.value is None and first.properties.secret_uri_with_version.startswith(v.properties.vault_uri)
    kv.secrets.update(RG, "kv-arm", "s1", {"tags": {"k": "2"}})
    got = kv.secrets.get(RG, "kv-arm", "s1")
    assert got.tags == {"k": "2"} and got.properties.secret_uri_with_version == first.properties.secret_uri_with_version
    second = kv.secrets.create_or_update(RG, "kv-arm", "s1", {"properties": {"value": "v2"}})
    assert second.properties.secret_uri_with_version != first.properties.secret_uri_with_version  # every PUT: a version
    assert cloud.secrets.latest_value("kv-arm", "s1") == "v2" and "v2" not in str(kv.secrets.get(RG, "kv-arm", "s1"))


def _network(make):
    net = make(NetworkManagementClient)
    net.virtual_networks.begin_create_or_update(RG, "vnet", {"location": "eastus", "properties": {
        "addressSpace": {"addressPrefixes": ["10.20.0.0/24"]}}}).result()
    return net


def test_subnet_rules(make, cloud, rg):
    net = _network(make)
    with pytest.raises(HttpResponseError, match="outside"):
        net.subnets.begin_create_or_update(RG, "vnet", "apps", {"properties": {"addressPrefix": "10.30.0.0/26"}}).result()
    net.subnets.begin_create_or_update(RG, "vnet", "apps", {"properties": {"addressPrefix": "10.20.0.0/26"}}).result()
    with pytest.raises(HttpResponseError, match="overlaps"):
        net.subnets.begin_create_or_update(RG, "vnet", "other", {"properties": {"addressPrefix": "10.20.0.32/27"}}).result()
    assert [s.name for s in net.virtual_networks.get(RG, "vnet").subnets] == ["apps"]
    # The vault's VNet rule needs the subnet's Microsoft.KeyVault service endpoint.
    subnet_id = rid("Microsoft.Network/virtualNetworks/vnet/subnets/apps")
    acls = {"defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [{"id": subnet_id}]}
    with pytest.raises(HttpResponseError, match="service endpoint"):
        vault(make, "kv-vnet", acls=acls)
    net.subnets.begin_create_or_update(RG, "vnet", "apps", {"properties": {
        "addressPrefix": "10.20.0.0/26", "serviceEndpoints": [{"service": "Microsoft.KeyVault"}]}}).result()
    vault(make, "kv-vnet", acls=acls)


def _site(make, subnet_id: str | None = None, route_all: bool = True):
    web = make(WebSiteManagementClient)
    plan = web.app_service_plans.begin_create_or_update(RG, "plan", {"location": "eastus", "sku": {"name": "B1"},
                                                                      "properties": {"reserved": True}}).result()
    props = {"serverFarmId": plan.id, **({"virtualNetworkSubnetId": subnet_id, "vnetRouteAllEnabled": route_all}
                                          if subnet_id else {})}
    return web, web.web_apps.begin_create_or_update(RG, "api", {"location": "eastus", "kind": "app,linux",
                                                                "identity": {"type": "SystemAssigned"},
                                                                "properties": props}).result()


def test_vnet_integration_needs_a_delegated_subnet(make, cloud, rg):
    net = _network(make)
    net.subnets.begin_create_or_update(RG, "vnet", "apps", {"properties": {"addressPrefix": "10.20.0.0/26"}}).result()
    subnet_id = rid("Microsoft.Network/virtualNetworks/vnet/subnets/apps")
    with pytest.raises(HttpResponseError, match="delegation"):
        _site(make, subnet_id)
    net.subnets.begin_create_or_update(RG, "vnet", "apps", {"properties": {"addressPrefix": "10.20.0.0/26", "delegations": [
        {"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}}).result()
    _site(make, subnet_id)
    with pytest.raises(HttpResponseError, match="in use"):
        net.subnets.begin_delete(RG, "vnet", "apps").result()


def test_key_vault_reference_status_follows_secret_role_and_network(make, cloud, rg):
    net = _network(make)
    subnet_id = rid("Microsoft.Network/virtualNetworks/vnet/subnets/apps")
    net.subnets.begin_create_or_update(RG, "vnet", "apps", {"properties": {
        "addressPrefix": "10.20.0.0/26", "serviceEndpoints": [{"service": "Microsoft.KeyVault"}],
        "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}]}}).result()
    v = vault(make, "kv-refs", acls={"defaultAction": "Deny", "bypass": "AzureServices",
                                     "ipRules": [{"value": "20.1.2.3/32"}]})
    web, site = _site(make, subnet_id)
    ref = f"@Microsoft.KeyVault(SecretUri={v.properties.vault_uri}secrets/db/)"
    web.web_apps.update_application_settings(RG, "api", {"properties": {"DB": ref, "PLAIN": "x"}})

    def status() -> str:
        refs = list(web.web_apps.get_app_settings_key_vault_references(RG, "api"))
        assert [r.name for r in refs] == ["DB"]
        return refs[0].properties.status

    assert status() == "AccessToKeyVaultDenied"  # an IP allow-list does not admit App Service's fetch
    acls = {"defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [{"id": subnet_id}]}
    vault(make, "kv-refs", acls=acls)
    web.web_apps.restart(RG, "api")
    assert status() == "AccessToKeyVaultDenied"  # no role yet
    grant(make, v.id, site.identity.principal_id, "4633458b-17de-408a-b874-0445c86b69e6")
    web.web_apps.restart(RG, "api")
    assert status() == "SecretNotFound"
    make(KeyVaultManagementClient).secrets.create_or_update(RG, "kv-refs", "db", {"properties": {"value": "pg://"}})
    assert status() == "SecretNotFound"  # cached until the app re-reads
    web.web_apps.restart(RG, "api")
    assert status() == "Resolved"


def test_conditions_on_secret_names_follow_the_attribute_each_action_offers(make, cloud, rg):
    """learn.microsoft.com/azure/key-vault/general/rbac-abac: setSecret offers the name as a Request attribute (the
    secret may not exist yet), delete as a Resource attribute; the examples below are the page's own. A delete is
    its own data action (`secrets/delete`), not a set."""
    from azure.mgmt.authorization import AuthorizationManagementClient

    v = vault(make, "kv-abac")
    who = str(uuid.uuid4())
    condition = ("((!(ActionMatches{'Microsoft.KeyVault/vaults/secrets/setSecret/action'})) OR "
                 "(@Request[Microsoft.KeyVault/vaults/secrets:name] StringStartsWith 'app-')) AND "
                 "((!(ActionMatches{'Microsoft.KeyVault/vaults/secrets/delete'})) OR "
                 "(@Resource[Microsoft.KeyVault/vaults/secrets:name] StringStartsWith 'temp-'))")
    officer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"  # Key Vault Secrets Officer
    make(AuthorizationManagementClient).role_assignments.create(v.id, str(uuid.uuid4()), {"properties": {
        "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{officer}",
        "principalId": who, "principalType": "ServicePrincipal", "condition": condition, "conditionVersion": "2.0"}})
    client = secrets(cloud, v, jwt(oid=who))
    client.set_secret("app-one", "1")
    client.set_secret("app-temp", "2")
    assert refused(lambda: client.set_secret("db-password", "3")).status_code == 403
    grant(make, v.id, OPERATOR)
    secrets(cloud, v, jwt(oid=OPERATOR)).set_secret("temp-scratch", "4")
    client.begin_delete_secret("temp-scratch").result()
    assert refused(lambda: client.begin_delete_secret("app-one").result()).status_code == 403
