"""The vault's network and tenant: VNet + integration subnet steps, the site joining it, the subscription's
tenant, and the wait for Key Vault references, against autospec'd SDK clients."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from provisioner.cli.session import check_tenant, load_session
from provisioner.core.errors import ConfigError, ProvisionerError
from provisioner.core.model import UNKNOWN
from steps import ALL_STEPS, _kv_references
from tests.support import TENANT, references, session, step

RG = "fundrbolt-dev-rg"
VNET = "fundrbolt-dev-vnet"
SUBNET_ID = (f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{RG}/providers/"
             f"Microsoft.Network/virtualNetworks/{VNET}/subnets/app-integration")


def test_virtual_network_create_update_keeps_its_subnets(c, dev):
    s = step(dev, "virtual_network")
    desired = s.desired({})
    assert desired["properties"] == {"addressSpace": {"addressPrefixes": ["10.40.0.0/16"]}, "enableDdosProtection": False,
                                     "privateEndpointVNetPolicies": "Disabled"}
    s.read(c)
    assert c.network.virtual_networks.get.call_args.args == (RG, VNET)
    s.create(c, desired)
    assert c.network.virtual_networks.begin_create_or_update.call_args.args == (RG, VNET, desired)
    observed = {**desired, "properties": {**desired["properties"], "subnets": [
        {"name": "app-integration", "id": SUBNET_ID, "properties": {"addressPrefix": "10.40.1.0/26"}}]}}
    s.update(c, desired, observed, ())
    body = c.network.virtual_networks.begin_create_or_update.call_args.args[2]
    # A PUT without the subnet list would delete them (or fail: in use by the app).
    assert body["properties"]["subnets"] == [{"name": "app-integration", "properties": {"addressPrefix": "10.40.1.0/26"}}]


def test_subnet_is_delegated_to_app_service_with_a_key_vault_endpoint(c, dev):
    s = step(dev, "subnet")
    assert s.depends_on == ("virtual_network",) and s.lane == step(dev, "virtual_network").lane
    desired = s.desired({})
    assert desired == {"properties": {
        "addressPrefix": "10.40.1.0/26",
        "delegations": [{"name": "app-service", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}],
        "serviceEndpoints": [{"service": "Microsoft.KeyVault"}, {"service": "Microsoft.Storage"}],
        "privateEndpointNetworkPolicies": "Disabled", "privateLinkServiceNetworkPolicies": "Enabled",
        "defaultOutboundAccess": True}}
    s.read(c)
    assert c.network.subnets.get.call_args.args == (RG, VNET, "app-integration")
    s.create(c, desired)
    assert c.network.subnets.begin_create_or_update.call_args.args == (RG, VNET, "app-integration", desired)


def test_site_and_slot_join_the_subnet_and_route_all_traffic_through_it():
    staging = session("staging")
    for name in ("web_app", "deployment_slot"):
        props = step(staging, name).desired({})["properties"]
        assert props["virtualNetworkSubnetId"].endswith("/virtualNetworks/fundrbolt-staging-vnet/subnets/app-integration")
        assert props["vnetRouteAllEnabled"] is True
    assert "subnet" in step(staging, "web_app").depends_on


@pytest.mark.parametrize(("key", "value", "message"), [
    ("address_space", "10.40.0.0/33", "not a network in CIDR form"),
    ("address_space", "52.0.0.0/16", "private IPv4 range"),
    ("app_subnet_prefix", "10.41.0.0/26", "outside network.address_space"),
    ("app_subnet_prefix", "10.40.1.0/29", "/28 or larger"),
])
def test_network_validation(envs: Path, key, value, message):
    common = envs / "common.toml"
    shipped = {"address_space": '"10.40.0.0/16"', "app_subnet_prefix": '"10.40.1.0/26"'}[key]
    common.write_text(common.read_text().replace(f'\n{key} = {shipped}', f'\n{key} = "{value}"', 1))
    with pytest.raises(ConfigError) as err:
        load_session("dev", ALL_STEPS, envs)
    [p] = [p for p in err.value.problems if p.key == f"network.{key}"]
    assert message in p.message and p.file.endswith("common.toml")


# ----------------------------------------------------------------------------- tenant


def test_vault_tenant_is_the_subscription_tenant_never_a_placeholder(c, dev):
    s = step(dev, "key_vault")
    assert s.desired({})["properties"]["tenantId"] is UNKNOWN  # nothing learned, nothing pinned
    s.gather(c, {})
    assert s.desired({})["properties"]["tenantId"] == TENANT


def test_a_pinned_tenant_must_be_the_subscription_tenant(c, envs: Path):
    dev_file = envs / "dev.toml"
    dev_file.write_text('tenant_id = "11111111-1111-1111-1111-111111111111"\n' + dev_file.read_text())
    s = load_session("dev", ALL_STEPS, envs)
    with pytest.raises(ConfigError) as err:
        check_tenant(s.env, c)
    [p] = err.value.problems
    assert (p.file, p.key) == (str(dev_file), "tenant_id")
    assert TENANT in p.message and "AKV10032" in p.message
    dev_file.write_text(dev_file.read_text().replace("11111111-1111-1111-1111-111111111111", TENANT))
    assert check_tenant(load_session("dev", ALL_STEPS, envs).env, c) == TENANT


# ----------------------------------------------------------------------------- Key Vault references


def test_settings_write_waits_until_every_reference_resolves(c, dev):
    web = c.web.web_apps
    web.get_app_settings_key_vault_references.side_effect = [
        references("DATABASE_URL", "REDIS_URL", "JWT_SECRET_KEY", status="AccessToKeyVaultDenied"),
        *[references("DATABASE_URL", "REDIS_URL", "JWT_SECRET_KEY", status="AccessToKeyVaultDenied")] * 3,
        references("DATABASE_URL", "REDIS_URL", "JWT_SECRET_KEY"),
    ]
    s = step(dev, "app_settings")
    s.create(c, {"properties": {"A": "b"}})
    web.update_application_settings.assert_called_once()
    assert web.get_app_settings_key_vault_references.call_count == 5
    web.restart.assert_called_once_with(RG, "fundrbolt-dev-api")  # how App Service re-reads a reference


def test_unresolved_references_fail_naming_each_and_why(c):
    c.web.web_apps.get_app_settings_key_vault_references_slot.return_value = [
        *references("REDIS_URL"), *references("DATABASE_URL", status="AccessToKeyVaultDenied", details="no role")]
    with pytest.raises(ProvisionerError) as err:
        _kv_references.await_resolved(c, RG, "api", "staging", ["DATABASE_URL", "REDIS_URL"], timeout=0.05)
    assert str(err.value).endswith("DATABASE_URL: AccessToKeyVaultDenied (no role)")
    assert "api/slots/staging" in str(err.value) and "REDIS_URL" not in str(err.value)
    c.web.web_apps.get_app_settings_key_vault_references.assert_not_called()


def test_no_references_means_no_wait(c):
    _kv_references.await_resolved(c, RG, "api", None, [])
    c.web.web_apps.get_app_settings_key_vault_references.assert_not_called()


def test_enum_statuses_are_read_as_their_value(c):
    from azure.mgmt.web.models import ResolveStatus

    ref = SimpleNamespace(name="X", properties=SimpleNamespace(status=ResolveStatus.RESOLVED, details=""))
    c.web.web_apps.get_app_settings_key_vault_references.return_value = [ref]
    _kv_references.await_resolved(c, RG, "api", None, ["X"], timeout=0.05)


def test_a_repaired_vault_network_restarts_the_app_and_slot(c):
    staging = session("staging")
    s = step(staging, "key_vault")
    s.gather(c, {})
    desired = s.desired({})
    from provisioner.core.model import PropertyChange

    s.update(c, desired, desired, (PropertyChange("properties.networkAcls.virtualNetworkRules", [], []),))
    c.keyvault.vaults.update.assert_called_once()
    c.web.web_apps.restart.assert_called_once_with("fundrbolt-staging-rg", "fundrbolt-staging-api")
    c.web.web_apps.restart_slot.assert_called_once_with("fundrbolt-staging-rg", "fundrbolt-staging-api", "staging")
    c.web.web_apps.restart.reset_mock()
    s.update(c, desired, desired, (PropertyChange("tags.Owner", "x", "operations"),))
    c.web.web_apps.restart.assert_not_called()  # only a network change shut the app out


def test_a_new_role_assignment_waits_for_the_apps_references(c):
    from unittest.mock import create_autospec

    from azure.mgmt.authorization.v2022_04_01.operations import RoleAssignmentsOperations

    c.authorization.role_assignments = create_autospec(RoleAssignmentsOperations, instance=True)
    s = step(session("staging"), "key_vault_access:slot")
    c.web.web_apps.get_app_settings_key_vault_references_slot.side_effect = [
        references("DATABASE_URL", status="AccessToKeyVaultDenied"),
        *[references("DATABASE_URL", status="AccessToKeyVaultDenied")] * 4,
        references("DATABASE_URL")]
    s.create(c, s.desired({"deployment_slot": {"identity": {"principalId": "p"}}}))
    c.authorization.role_assignments.create.assert_called_once()
    c.web.web_apps.restart_slot.assert_called_with("fundrbolt-staging-rg", "fundrbolt-staging-api", "staging")


def test_an_unreadable_subscription_is_left_to_the_vault_step(c, dev):
    from provisioner.core.errors import AzureCallError

    def refuse():
        raise AzureCallError("403 AuthorizationFailed: no", code="AuthorizationFailed", status=403)

    c.subscription_tenant = refuse
    assert check_tenant(dev.env, c) is None  # the plan goes on; key_vault reports it as not read
    with pytest.raises(AzureCallError):
        step(dev, "key_vault").gather(c, {})
