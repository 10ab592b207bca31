"""App Service tier steps (slot, slot config/settings, sticky names, static web app, autoscale, Key Vault
access and the vault firewall) call the real SDK operations with the right arguments (autospec)."""

import copy
import uuid
from unittest.mock import create_autospec

import pytest
from azure.mgmt.authorization.v2022_04_01.operations import RoleAssignmentsOperations

from provisioner.cli.render import plan_text
from provisioner.core.errors import AzureCallError
from provisioner.core.model import UNKNOWN, Action, PropertyChange
from provisioner.engine.diff import diff
from provisioner.engine.graph import build
from provisioner.engine.reconciler import Policy, decide, plan
from steps._role_assignment import PENDING, assignment_name
from steps.key_vault_access import SECRETS_USER
from tests.support import autospec_clients, serve_identity, session, step

RG = "fundrbolt-staging-rg"
SITE = "fundrbolt-staging-api"
PRINCIPAL = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def c():
    clients = autospec_clients()
    # AuthorizationManagementClient is multi-API (no `:vartype` list): autospec the group pinned to
    # 2022-04-01, the version `clients.authorization.role_assignments` resolves to.
    clients.authorization.role_assignments = create_autospec(RoleAssignmentsOperations, instance=True)
    return clients


@pytest.fixture
def staging():
    return session("staging")


def names(env: str) -> set[str]:
    return {s.name for s in session(env).steps}


# ----------------------------------------------------------------------------- which steps exist where


def test_basic_plan_has_no_slot_and_no_autoscale():
    dev = names("dev")
    assert not dev & {"deployment_slot", "slot_config", "slot_app_settings", "slot_sticky_settings", "autoscale",
                      "key_vault_access:slot"}
    assert {"static_web_app", "key_vault_access"} <= dev


def test_standard_plans_get_the_whole_tier():
    for env in ("staging", "production"):
        assert {"deployment_slot", "slot_config", "slot_app_settings", "slot_sticky_settings", "autoscale",
                "static_web_app", "key_vault_access", "key_vault_access:slot"} <= names(env)


# ----------------------------------------------------------------------------- deployment slot


def test_slot_is_a_copy_of_the_app(c, staging):
    s = step(staging, "deployment_slot")
    desired = s.desired({})
    app = step(staging, "web_app").desired({})
    assert desired == app  # kind, httpsOnly, serverFarmId, reserved, identity, tags, siteConfig
    assert s.ref.id.endswith(f"/providers/Microsoft.Web/sites/{SITE}/slots/staging")
    s.create(c, desired)
    c.web.web_apps.begin_create_or_update_slot.assert_called_once_with(RG, SITE, "staging", desired)
    s.read(c)
    assert c.web.web_apps.get_slot.call_args.args == (RG, SITE, "staging")
    s.update(c, desired, desired, ())
    patch = c.web.web_apps.update_slot.call_args.args[3]
    assert "siteConfig" not in patch["properties"] and patch["identity"] == {
        "type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fundrbolt-staging-rg/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/fundrbolt-staging-app-id": {}}}
    s.delete(c)
    c.web.web_apps.delete_slot.assert_called_once_with(RG, SITE, "staging")


def test_slot_site_config_is_write_only_on_the_slot(staging):
    s = step(staging, "deployment_slot")
    desired = s.desired({})
    observed = {**desired, "kind": "app,linux,container", "properties": {**desired["properties"], "siteConfig": None}}
    # GET .../slots/staging returns siteConfig mostly null (arm-examples GetWebAppSlot): not drift.
    assert diff(desired, observed, s.rules).empty


# ----------------------------------------------------------------------------- slot config and settings


def test_slot_config_is_patched_like_the_app(c, staging):
    s = step(staging, "slot_config")
    desired = s.desired({})
    assert desired == step(staging, "web_app_config").desired({})
    p = desired["properties"]
    assert (p["alwaysOn"], p["healthCheckPath"], p["minTlsVersion"], p["ftpsState"]) == (True, "/health", "1.2", "Disabled")
    assert s.ref.id.endswith(f"/sites/{SITE}/slots/staging/config/web")
    s.create(c, desired)
    c.web.web_apps.update_configuration_slot.assert_called_once_with(RG, SITE, "staging", desired)
    c.web.web_apps.create_or_update_configuration_slot.assert_not_called()
    s.read(c)
    assert c.web.web_apps.get_configuration_slot.call_args.args == (RG, SITE, "staging")


def test_slot_app_settings_are_the_apps_plus_overrides(c, staging):
    s = step(staging, "slot_app_settings")
    known = {"key_vault": {"properties": {"vaultUri": "https://fundrbolt-staging-kv.vault.azure.net/"}},
             "app_insights": {"properties": {"ConnectionString": "InstrumentationKey=abc"}}}
    desired = s.desired(known)
    app = step(staging, "app_settings").desired(known)["properties"]
    # The same app with the same settings (Key Vault references included), except the slot's own.
    assert desired["properties"] == {**app, "ENVIRONMENT": "staging-slot"}
    assert any(str(v).startswith("@Microsoft.KeyVault(") for v in desired["properties"].values())
    assert {"deployment_slot", "key_vault_access:slot"} <= set(s.depends_on)
    # The slot waits for everything the app waits for, its own identity's role standing in for the app's.
    assert set(step(staging, "app_settings").depends_on) - {"web_app", "key_vault_access"} <= set(s.depends_on)
    s.read(c)
    assert c.web.web_apps.list_application_settings_slot.call_args.args == (RG, SITE, "staging")
    s.create(c, desired)
    c.web.web_apps.update_application_settings_slot.assert_called_once_with(RG, SITE, "staging", desired)


def test_swap_warm_up_is_declared_where_there_is_a_slot(staging):
    """App Service's swap warm-up on the health path, only 200 valid (deploy-staging-slots.md "Specify custom
    warm-up"): on the app and the slot wherever a slot exists; dev (Basic, no slot) has neither."""
    for name in ("app_settings", "slot_app_settings"):
        props = step(staging, name).desired({})["properties"]
        assert props["WEBSITE_SWAP_WARMUP_PING_PATH"] == "/health"
        assert props["WEBSITE_SWAP_WARMUP_PING_STATUSES"] == "200"
    dev = step(session("dev"), "app_settings").desired({})["properties"]
    assert not any(k.startswith("WEBSITE_SWAP_WARMUP") for k in dev)


def override(sess, section: str, **values):
    """Change one config section of a loaded session (sections are frozen models: replace the model)."""
    sess.env.sections[section] = sess.env.sections[section].model_copy(update=values)


def test_slot_app_settings_owned_whole_and_secrets_hidden(staging):
    override(staging, "deployment_slot", app_settings={"DB_PASSWORD": "s3cret"})
    s = step(staging, "slot_app_settings")
    desired = s.desired({})
    hand_added = diff(desired, {"properties": {**desired["properties"], "HAND_ADDED": "y"}}, s.rules)
    assert [c.path for c in hand_added.changes] == ["properties.HAND_ADDED"]
    changed = diff(desired, {"properties": {**desired["properties"], "DB_PASSWORD": "old"}}, s.rules)
    [change] = changed.changes
    assert change.sensitive and "s3cret" not in repr(change) and "old" not in repr(change)


# ----------------------------------------------------------------------------- sticky setting names


def test_sticky_names(c, staging):
    s = step(staging, "slot_sticky_settings")
    desired = s.desired({})
    assert desired == {"properties": {"appSettingNames": ["ENVIRONMENT", "LOG_LEVEL"]}}
    s.read(c)
    assert c.web.web_apps.list_slot_configuration_names.call_args.args == (RG, SITE)
    s.create(c, desired)
    c.web.web_apps.update_slot_configuration_names.assert_called_once_with(RG, SITE, desired)


def test_sticky_names_compare_as_a_set_and_a_sticky_connection_string_is_drift(c, staging):
    s = step(staging, "slot_sticky_settings")
    desired = s.desired({})
    observed = {"properties": {"appSettingNames": ["LOG_LEVEL", "ENVIRONMENT"], "connectionStringNames": None,
                               "azureStorageConfigNames": None}}
    assert diff(desired, observed, s.rules).empty
    # No connection string exists (the connection_strings step owns an empty set): one made sticky by hand is
    # drift, and the PUT of the names (which replaces all three lists) drops it.
    observed["properties"]["connectionStringNames"] = ["DB"]
    assert [(c.path, c.before) for c in diff(desired, observed, s.rules).changes] == [
        ("properties.connectionStringNames", ["DB"])]
    s.update(c, desired, observed, ())
    sent = c.web.web_apps.update_slot_configuration_names.call_args.args[2]
    assert sent == {"properties": {"appSettingNames": ["ENVIRONMENT", "LOG_LEVEL"]}}


# ----------------------------------------------------------------------------- static web app


def test_static_web_app(c, staging):
    s = step(staging, "static_web_app")
    desired = s.desired({})
    assert desired["location"] == "eastus2" and desired["sku"] == {"name": "Standard", "tier": "Standard"}
    assert "repositoryUrl" not in desired["properties"]
    s.create(c, desired)
    c.web.static_sites.begin_create_or_update_static_site.assert_called_once_with(RG, "fundrbolt-staging-admin", desired)
    s.read(c)
    assert c.web.static_sites.get_static_site.call_args.args == (RG, "fundrbolt-staging-admin")
    s.delete(c)
    c.web.static_sites.begin_delete_static_site.assert_called_once_with(RG, "fundrbolt-staging-admin")


def test_static_web_app_patches_properties_and_puts_tags(c, staging):
    s = step(staging, "static_web_app")
    desired = s.desired({})
    s.update(c, desired, desired, (PropertyChange("properties.allowConfigFileUpdates", False, True),))
    c.web.static_sites.update_static_site.assert_called_once_with(
        RG, "fundrbolt-staging-admin", {"properties": desired["properties"]})
    s.update(c, desired, desired, (PropertyChange("tags.Owner", "x", "operations"),))
    c.web.static_sites.begin_create_or_update_static_site.assert_called_once()


def test_static_web_app_normalizes_region_and_enum_case(staging):
    s = step(staging, "static_web_app")
    desired = s.desired({})
    # arm-examples GetStaticSite: location comes back as a display name ("West US 2"), sku echoed.
    observed = {**desired, "location": "East US 2", "sku": {"name": "standard", "tier": "STANDARD"},
                "properties": {**desired["properties"], "stagingEnvironmentPolicy": "enabled", "defaultHostname": "x"}}
    assert diff(desired, observed, s.rules).empty


# ----------------------------------------------------------------------------- autoscale


def test_autoscale_body(c):
    prod = session("production")
    s = step(prod, "autoscale")
    desired = s.desired({})
    p = desired["properties"]
    assert p["enabled"] is True
    assert p["targetResourceUri"].endswith("/serverfarms/fundrbolt-production-plan")
    [profile] = p["profiles"]
    assert profile["capacity"] == {"minimum": "2", "maximum": "5", "default": "2"}
    out, scale_in = profile["rules"]
    assert (out["metricTrigger"]["operator"], out["metricTrigger"]["threshold"], out["metricTrigger"]["timeWindow"]) == ("GreaterThan", 70, "PT5M")
    assert (out["scaleAction"]["direction"], out["scaleAction"]["value"], out["scaleAction"]["cooldown"]) == ("Increase", "1", "PT5M")
    assert (scale_in["metricTrigger"]["operator"], scale_in["metricTrigger"]["threshold"], scale_in["metricTrigger"]["timeWindow"]) == ("LessThan", 30, "PT10M")
    assert (scale_in["scaleAction"]["direction"], scale_in["scaleAction"]["cooldown"]) == ("Decrease", "PT10M")
    rg = "fundrbolt-production-rg"
    s.create(c, desired)
    c.monitor.autoscale_settings.create_or_update.assert_called_once_with(rg, "fundrbolt-production-autoscale", desired)
    s.update(c, desired, desired, ())
    c.monitor.autoscale_settings.update.assert_called_once_with(
        rg, "fundrbolt-production-autoscale", {"tags": desired["tags"], "properties": p})
    s.read(c)
    assert c.monitor.autoscale_settings.get.call_args.args == (rg, "fundrbolt-production-autoscale")


def test_autoscale_staging_limits(staging):
    cap = step(staging, "autoscale").desired({})["properties"]["profiles"][0]["capacity"]
    assert cap == {"minimum": "1", "maximum": "2", "default": "1"}  # 1-2 to fit the budget (envs/staging.toml)


def test_autoscale_normalizes_numbers_enum_case_and_ids(staging):
    s = step(staging, "autoscale")
    desired = s.desired({})
    observed = copy.deepcopy(desired)
    prof = observed["properties"]["profiles"][0]
    prof["capacity"] = {"minimum": 1, "maximum": 2, "default": 1}  # numbers, not strings
    rule = prof["rules"][0]
    rule["metricTrigger"].update(operator="greaterThan", statistic="average", timeAggregation="AVERAGE",
                                 metricNamespace="Microsoft.Web/serverFarms", threshold=70.0, timeWindow="Pt5m")
    rule["scaleAction"].update(direction="increase", type="changeCount", value=1)
    # arm-examples getAutoscaleSetting: lower-cased provider in ids; server-set properties.name.
    observed["properties"]["targetResourceUri"] = desired["properties"]["targetResourceUri"].lower()
    observed["properties"]["name"] = "fundrbolt-staging-autoscale"
    observed["location"] = "East US"
    assert diff(desired, observed, s.rules).empty
    prof["capacity"]["maximum"] = 3
    assert [c.path for c in diff(desired, observed, s.rules).changes] == ["properties.profiles[cpu].capacity.maximum"]


# ----------------------------------------------------------------------------- Key Vault access


def test_role_assignment(c, staging):
    s = step(staging, "key_vault_access")
    vault = f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/fundrbolt-staging-kv"
    assert s.scope == vault
    assert s.depends_on == ("key_vault", "web_app")
    assert s.desired({})["properties"]["principalId"] is UNKNOWN
    desired = s.desired({"web_app": {"identity": {"type": "SystemAssigned", "principalId": PRINCIPAL}}})
    assert s.resource_name == assignment_name(vault, PRINCIPAL, SECRETS_USER)
    assert s.ref.id == f"{vault}/providers/Microsoft.Authorization/roleAssignments/{s.resource_name}"
    p = desired["properties"]
    assert p["principalId"] == PRINCIPAL and p["principalType"] == "ServicePrincipal"
    assert p["roleDefinitionId"].endswith("/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6")
    s.create(c, desired)
    c.authorization.role_assignments.create.assert_called_once_with(vault, s.resource_name, desired)
    serve_identity(c, PRINCIPAL)
    s.read(c)
    assert c.web.web_apps.get.call_args.args == (RG, SITE)  # the principal, from the live site
    assert c.authorization.role_assignments.get.call_args.args == (vault, s.resource_name)
    s.delete(c)
    c.authorization.role_assignments.delete.assert_called_once_with(vault, s.resource_name)


def test_role_assignment_name_is_derived_from_vault_principal_and_role():
    a, b = step(session("staging"), "key_vault_access"), step(session("staging"), "key_vault_access")
    slot = step(session("staging"), "key_vault_access:slot")
    assert a.resource_name == PENDING  # the principal is not known before the site is read
    a.desired({"web_app": {"identity": {"principalId": PRINCIPAL}}})
    b.desired({"web_app": {"identity": {"principalId": PRINCIPAL.upper()}}})
    assert a.resource_name == b.resource_name  # same principal: re-runs find their own assignment, never two
    assert uuid.UUID(a.resource_name).version == 5
    slot.desired({"deployment_slot": {"identity": {"principalId": "99999999-2222-3333-4444-555555555555"}}})
    assert slot.resource_name != a.resource_name and slot.depends_on == ("key_vault", "deployment_slot")
    prod = step(session("production"), "key_vault_access")
    prod.desired({"web_app": {"identity": {"principalId": PRINCIPAL}}})
    assert prod.resource_name != a.resource_name  # another vault, another assignment
    old = a.resource_name
    a.desired({"web_app": {"identity": {"principalId": "99999999-2222-3333-4444-555555555555"}}})
    assert a.resource_name != old  # identity re-created: a new assignment, the old one is the collection's


def test_slot_assignment_reads_the_slot_identity(c, staging):
    s = step(staging, "key_vault_access:slot")
    known = {"web_app": {"identity": {"principalId": "app"}}, "deployment_slot": {"identity": {"principalId": PRINCIPAL}}}
    assert s.desired(known)["properties"]["principalId"] == PRINCIPAL
    serve_identity(c, PRINCIPAL, slot=True)
    s.read(c)
    assert c.web.web_apps.get_slot.call_args.args == (RG, SITE, "staging")
    assert c.authorization.role_assignments.get.call_args.args == (s.scope, s.resource_name)
    c.web.web_apps.get.assert_not_called()


def test_new_principal_is_a_new_assignment_not_a_replace(c, staging):
    s = step(staging, "key_vault_access")
    desired = s.desired({"web_app": {"identity": {"principalId": PRINCIPAL}}})
    observed = {"properties": {**desired["properties"], "principalId": PRINCIPAL.upper(), "scope": s.scope,
                               "roleDefinitionId": desired["properties"]["roleDefinitionId"].lower()}}
    assert decide(s, desired, observed, Policy(), False).action is Action.NOOP  # GUID/id case is not drift
    assert not s.rules.replace_on  # nothing about an assignment is changed in place, or by delete + create
    old = s.resource_name
    # The identity was re-created: the read looks for the assignment named after the new principal.
    serve_identity(c, "99999999-2222-3333-4444-555555555555")
    c.authorization.role_assignments.get.side_effect = AzureCallError("404 RoleAssignmentNotFound: x", status=404)
    assert s.read(c) is None and s.resource_name != old
    # Under its name, then under the name an earlier version gave the grant (absent here too).
    assert [x.args for x in c.authorization.role_assignments.get.call_args_list] == [
        (s.scope, s.resource_name), (s.scope, s.earlier())]
    desired = s.desired({"web_app": {"identity": {"principalId": "99999999-2222-3333-4444-555555555555"}}})
    change = decide(s, desired, None, Policy(), False)
    assert change.action is Action.CREATE and change.refused is None and s.resource_name in change.ref.id


def test_a_grant_made_under_the_earlier_owner_derived_name_is_adopted_while_its_principal_is_the_same(c, staging):
    """Environments provisioned before the names followed the principal hold the role under uuid5(vault|site
    id|role). A second grant could not be made (409 RoleAssignmentExists), and under production's lock the old
    one cannot be removed: it is ours, as long as it is for the principal the site has now."""
    s = step(staging, "key_vault_access")
    earlier = str(uuid.uuid5(uuid.UUID("7c3e9a52-5a0e-4d55-9b1e-0f6f2b1d4c11"),
                             f"{s.scope}|/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/{RG}"
                             f"/providers/microsoft.web/sites/{SITE}|{SECRETS_USER}".lower()))
    assert s.earlier() == earlier
    assert step(staging, "key_vault_access:slot").earlier() != earlier
    serve_identity(c, PRINCIPAL)
    grant = {"properties": {"principalId": PRINCIPAL, "principalType": "ServicePrincipal", "scope": s.scope,
                            "roleDefinitionId": s.role_definition_id}}
    c.authorization.role_assignments.get.side_effect = lambda scope, name, **kw: grant if name == earlier else None
    assert s.read(c) == grant and s.resource_name == earlier
    desired = s.desired({"web_app": {"identity": {"principalId": PRINCIPAL}}})
    assert s.resource_name == earlier and decide(s, desired, grant, Policy(), False).action is Action.NOOP
    # The identity re-created: the earlier grant is not for it; a new assignment, the earlier one is stale.
    serve_identity(c, "99999999-2222-3333-4444-555555555555")
    assert s.read(c) is None and s.resource_name == assignment_name(s.scope, "99999999-2222-3333-4444-555555555555",
                                                                    SECRETS_USER)


def test_before_the_site_has_an_identity_the_plan_creates_once_it_is_known_not_an_error(c, staging):
    """The site does not exist yet (or has no identity): no role assignment is read (there is no name to read),
    and the plan says create, its principal known after apply; no error, not refused, not waiting."""
    s = step(staging, "key_vault_access")
    c.web.web_apps.get.side_effect = AzureCallError("404 ResourceNotFound: no site", status=404)
    the_plan, _ = plan("staging", [s], build([(s.name, ())]), c)
    [change] = the_plan.changes
    assert the_plan.errors == () and change.action is Action.CREATE and change.refused is None
    assert change.waiting is None and s.resource_name == PENDING
    assert ("properties.principalId", UNKNOWN) in {(p.path, p.after) for p in change.properties}
    c.authorization.role_assignments.get.assert_not_called()
    assert "known after apply" in plan_text(the_plan)
    serve_identity(c, None)  # a site without an identity: the same
    the_plan, _ = plan("staging", [s], build([(s.name, ())]), c)
    assert the_plan.errors == () and the_plan.changes[0].action is Action.CREATE
    c.authorization.role_assignments.get.assert_not_called()


def test_principal_not_found_is_retried(c, staging):
    s = step(staging, "key_vault_access")
    c.authorization.role_assignments.create.side_effect = AzureCallError(
        "400 PrincipalNotFound: Principal does not exist in the directory", code="PrincipalNotFound", status=400)
    with pytest.raises(AzureCallError) as info:
        s.create(c, s.desired({"web_app": {"identity": {"principalId": PRINCIPAL}}}))
    assert info.value.retryable
    c.authorization.role_assignments.create.side_effect = AzureCallError("403 AuthorizationFailed: no", code="AuthorizationFailed", status=403)
    with pytest.raises(AzureCallError) as info:
        s.create(c, s.desired({"web_app": {"identity": {"principalId": PRINCIPAL}}}))
    assert not info.value.retryable


# ----------------------------------------------------------------------------- Key Vault firewall


SUBNET = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fundrbolt-staging-rg/providers/"
          "Microsoft.Network/virtualNetworks/fundrbolt-staging-vnet/subnets/app-integration")


def test_vault_firewall_admits_the_app_subnet_not_its_outbound_ips(staging):
    # App Service fetches Key Vault references from addresses that are not its outbound IPs: an IP rule for
    # them would not let the app in, and would let in everyone else sharing those addresses.
    s = step(staging, "key_vault")
    assert "subnet" in s.depends_on and "web_app" not in s.depends_on
    known = {"web_app": {"properties": {"possibleOutboundIpAddresses": "20.1.2.3, 20.1.2.4"}}}
    acls = s.desired(known)["properties"]["networkAcls"]
    assert acls == {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [],
                    "virtualNetworkRules": [{"id": SUBNET}]}


def test_vault_firewall_adds_allowed_ips():
    prod = session("production")
    override(prod, "key_vault", allowed_ips=["52.1.1.1", "40.0.0.0/24"])
    ip_rules = step(prod, "key_vault").desired({})["properties"]["networkAcls"]["ipRules"]
    assert ip_rules == [{"value": "40.0.0.0/24"}, {"value": "52.1.1.1/32"}]


def test_vault_network_rules_compare_as_sets_with_32_normalized(staging):
    override(staging, "key_vault", allowed_ips=["20.1.2.3", "20.1.2.4"])
    s = step(staging, "key_vault")
    s.gather(autospec_clients(), {})  # the tenant, from the subscription
    desired = s.desired({})
    observed = {**desired, "properties": {**desired["properties"], "vaultUri": "https://x.vault.azure.net/",
                                          "networkAcls": {"defaultAction": "deny", "bypass": "AzureServices",
                                                          "ipRules": [{"value": "20.1.2.4"}, {"value": "20.1.2.3/32"}],
                                                          "virtualNetworkRules": [{"id": SUBNET.lower(),
                                                                                   "ignoreMissingVnetServiceEndpoint": False}]}}}
    assert diff(desired, observed, s.rules).empty
    observed["properties"]["networkAcls"]["ipRules"] = [{"value": "20.1.2.3/32"}]
    assert [c.path for c in diff(desired, observed, s.rules).changes] == ["properties.networkAcls.ipRules[20.1.2.4/32]"]
    observed["properties"]["networkAcls"]["virtualNetworkRules"] = []
    assert [c.path for c in diff(desired, observed, s.rules).changes] == [
        "properties.networkAcls.ipRules[20.1.2.4/32]", f"properties.networkAcls.virtualNetworkRules[{SUBNET}]"]


def test_graph_has_no_cycle_and_web_app_does_not_need_the_vault():
    for env in ("dev", "staging", "production"):
        g = session(env).graph
        # The subnet (with its Key Vault service endpoint) exists before the vault names it and the app joins it.
        assert g.order.index("subnet") < min(g.order.index("key_vault"), g.order.index("web_app"))
        assert "key_vault" not in g.dependents("key_vault") and "web_app" not in g.dependents("key_vault")


def test_repeated_create_of_our_own_assignment_is_success(c, staging):
    s = step(staging, "key_vault_access")
    desired = s.desired({"web_app": {"identity": {"principalId": PRINCIPAL}}})
    c.authorization.role_assignments.create.side_effect = AzureCallError(
        "409 RoleAssignmentExists: The role assignment already exists.", code="RoleAssignmentExists", status=409)
    c.authorization.role_assignments.get.return_value = {"properties": desired["properties"]}
    serve_identity(c, PRINCIPAL)
    s.create(c, desired)  # our name exists: an earlier attempt landed
    assert c.authorization.role_assignments.get.call_args.args == (s.scope, s.resource_name)
    c.authorization.role_assignments.get.side_effect = AzureCallError("404 RoleAssignmentNotFound: x", status=404)
    with pytest.raises(AzureCallError, match="already exists"):
        s.create(c, desired)  # granted under another name by someone else: say so
