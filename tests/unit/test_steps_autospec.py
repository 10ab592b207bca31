"""Each step calls the real SDK operations with the right arguments (autospec'd from the SDK classes)."""


from provisioner.engine.reconciler import Policy, decide
from tests.support import session, step

RG = "fundrbolt-dev-rg"


def test_resource_group(c, dev):
    s = step(dev, "resource_group")
    desired = s.desired({})
    s.read(c)
    c.resource.resource_groups.get.assert_called_once()
    assert c.resource.resource_groups.get.call_args.args == (RG,)
    s.create(c, desired)
    c.resource.resource_groups.create_or_update.assert_called_once_with(RG, {"location": "eastus", "tags": s.tags()})
    s.update(c, desired, desired, ())
    c.resource.resource_groups.update.assert_called_once_with(RG, {"tags": s.tags()})


def test_app_service_plan_is_linux_and_sized(c, dev):
    s = step(dev, "app_service_plan")
    desired = s.desired({})
    assert desired["properties"]["reserved"] is True and desired["kind"] == "linux"
    assert desired["sku"] == {"name": "B1", "tier": "Basic", "capacity": 1}
    s.create(c, desired)
    c.web.app_service_plans.begin_create_or_update.assert_called_once_with(RG, "fundrbolt-dev-plan", desired)


def test_web_app_create_and_patch(c, dev):
    s = step(dev, "web_app")
    desired = s.desired({})
    assert desired["properties"]["httpsOnly"] is True
    # its own identity (Key Vault references, AcrPull) and the database identity it shares with the slot
    assert desired["identity"] == {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fundrbolt-dev-rg/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/fundrbolt-dev-app-id": {}}}
    assert desired["properties"]["serverFarmId"].endswith("/serverfarms/fundrbolt-dev-plan")
    s.create(c, desired)
    c.web.web_apps.begin_create_or_update.assert_called_once_with(RG, "fundrbolt-dev-api", desired)
    s.update(c, desired, desired, ())
    patch = c.web.web_apps.update.call_args.args[2]
    assert "siteConfig" not in patch["properties"]


def test_site_config_is_patched_not_put(c, dev):
    s = step(dev, "web_app_config")
    desired = s.desired({})
    p = desired["properties"]
    assert (p["alwaysOn"], p["healthCheckPath"], p["minTlsVersion"], p["ftpsState"]) == (True, "/health", "1.2", "Disabled")
    s.create(c, desired)
    c.web.web_apps.update_configuration.assert_called_once_with(RG, "fundrbolt-dev-api", desired)
    c.web.web_apps.create_or_update_configuration.assert_not_called()
    s.read(c)
    assert c.web.web_apps.get_configuration.call_args.args == (RG, "fundrbolt-dev-api")


def test_app_settings_read_via_list_and_written_whole(c, dev):
    s = step(dev, "app_settings")
    desired = s.desired({})
    assert desired["properties"]["ENVIRONMENT"] == "dev"
    s.read(c)
    assert c.web.web_apps.list_application_settings.call_args.args == (RG, "fundrbolt-dev-api")
    s.create(c, desired)
    c.web.web_apps.update_application_settings.assert_called_once_with(RG, "fundrbolt-dev-api", desired)


def test_key_vault(c, dev):
    s = step(dev, "key_vault")
    desired = s.desired({})
    p = desired["properties"]
    assert p["enableSoftDelete"] is True and p["enableRbacAuthorization"] is True
    # dev: off, and compared (on by hand is drift nobody can undo); Azure refuses an explicit false, so it is
    # never sent
    assert p["enablePurgeProtection"] is False
    c.keyvault.vaults.get_deleted.return_value = None  # no soft-deleted vault holds the name
    s.create(c, desired)
    [(_rg, _name, sent)] = [call.args for call in c.keyvault.vaults.begin_create_or_update.call_args_list]
    assert (_rg, _name) == (RG, "fundrbolt-dev-kv") and "enablePurgeProtection" not in sent["properties"]
    assert sent["properties"] == {k: v for k, v in p.items() if k != "enablePurgeProtection"}
    s.update(c, desired, desired, ())
    patch = c.keyvault.vaults.update.call_args.args[2]["properties"]
    assert "softDeleteRetentionInDays" not in patch and "enablePurgeProtection" not in patch
    observed = {**desired, "properties": {**p, "enablePurgeProtection": True}}
    change = next(c for c in decide(s, desired, observed, Policy(), False).properties
                  if c.path == "properties.enablePurgeProtection")
    assert change.requires_replace  # irreversible: never an update


def test_production_vault_has_purge_protection():
    s = step(session("production"), "key_vault")
    assert s.desired({})["properties"]["enablePurgeProtection"] is True


def test_storage_account(c, dev):
    s = step(dev, "storage_account")
    desired = s.desired({})
    p = desired["properties"]
    assert (p["minimumTlsVersion"], p["allowBlobPublicAccess"], p["supportsHttpsTrafficOnly"]) == ("TLS1_2", False, True)
    s.create(c, desired)
    c.storage.storage_accounts.begin_create.assert_called_once_with(RG, "fundrboltdevst", desired)
    s.update(c, desired, desired, ())
    assert "kind" not in c.storage.storage_accounts.update.call_args.args[2]
    s.read(c)
    c.storage.storage_accounts.get_properties.assert_called_once()


def test_log_analytics(c, dev):
    s = step(dev, "log_analytics")
    desired = s.desired({})
    assert desired["properties"]["retentionInDays"] == 90
    s.create(c, desired)
    c.loganalytics.workspaces.begin_create_or_update.assert_called_once_with(RG, "fundrbolt-dev-logs", desired)


def test_every_step_tags_everything():
    for env in ("dev", "staging", "production"):
        for s in session(env).steps:
            d = s.desired({})
            if "tags" in d:
                # Web tests also send the Azure link tag `hidden-link:<component id>` (azure-sdk-facts §1).
                ours = {k for k in d["tags"] if not k.startswith("hidden-link:")}
                assert ours == {"Environment", "Project", "Owner", "CostCenter", "ManagedBy"}, s.name


def test_soft_deleted_vault_is_recovered_not_purged(c, dev):
    s = step(dev, "key_vault")
    desired = s.desired({})
    c.keyvault.vaults.get_deleted.return_value = {"name": "fundrbolt-dev-kv"}  # raw() hands back the body
    s.create(c, desired)
    c.keyvault.vaults.get_deleted.assert_called_once()
    assert c.keyvault.vaults.get_deleted.call_args.args == ("fundrbolt-dev-kv", "eastus")
    body = c.keyvault.vaults.begin_create_or_update.call_args.args[2]
    assert body["properties"]["createMode"] == "recover"
    assert "createMode" not in desired["properties"]  # the declared state is untouched
    c.keyvault.vaults.update.assert_called_once()  # the recovered vault gets the declared settings
    c.keyvault.vaults.begin_purge_deleted.assert_not_called()
