"""Owned collections that route traffic: DNS record sets (and dangling CNAMEs), private endpoint connections,
subnets, role assignments anywhere in the group, and the decisions on them (pure, with autospec'd clients)."""

from __future__ import annotations

from unittest.mock import create_autospec

from provisioner.core.model import Action
from provisioner.engine import children
from steps.owned_access import GroupRoleAssignments, SubscriptionRoleAssignments
from steps.owned_routes import DnsRecordSets, PrivateEndpointConnections, dangling, record_targets
from tests.support import SUB, autospec_clients, session

GROUP = f"/subscriptions/{SUB}/resourceGroups/fundrbolt-production-rg"


def _refs(s):
    return [(x.name, x.ref) for x in s.steps]


def test_record_sets_no_step_declares_are_reported_with_what_they_point_at():
    s = session("production")
    zone = next(c for c in s.children if isinstance(c, DnsRecordSets))
    declared = zone.declared(_refs(s))
    assert {"cname/api", "txt/asuid.api", "ns/dev", "ns/staging"} <= declared
    listed = [children.Child(f"{zone.parent_id}/NS/shop", "NS/shop", {
        "name": "shop", "recordType": "NS", "targets": ["ns1.evil.example."]}),
              children.Child(f"{zone.parent_id}/NS/@", "NS/@", {"name": "@", "recordType": "NS", "targets": []}),
              children.Child(f"{zone.parent_id}/CNAME/api", "CNAME/api", {"name": "api", "recordType": "CNAME"})]
    [shop] = children.undeclared(zone, listed, declared, [], SUB, "fundrbolt-production-rg")
    assert (shop.action, shop.ref.type, shop.step) == (Action.DELETE, "Microsoft.Network/dnsZones/NS",
                                                       "dns_zone/recordSets/NS/shop")
    assert shop.refused.startswith("left for a person")
    assert ("properties.targets", ["ns1.evil.example."]) in [(p.path, p.before) for p in shop.properties]


def test_record_targets_by_type():
    assert record_targets("CNAME", {"CNAMERecord": {"cname": "x.azurewebsites.net"}}) == ["x.azurewebsites.net"]
    assert record_targets("A", {"ARecords": [{"ipv4Address": "203.0.113.1"}]}) == ["203.0.113.1"]
    assert record_targets("TXT", {"TXTRecords": [{"value": ["v=spf1 ", "-all"]}]}) == ["v=spf1  -all"]
    assert record_targets("MX", {"MXRecords": [{"exchange": "mail.example.org", "preference": 10}]}) == ["mail.example.org"]


def test_a_cname_to_an_azure_name_anyone_can_claim_is_dangling():
    from azure.mgmt.web import WebSiteManagementClient

    c = autospec_clients()
    # A client-level operation (POST /providers/Microsoft.Web/checknameavailability), not an operation group.
    c.web.check_name_availability = create_autospec(WebSiteManagementClient, instance=True).check_name_availability
    c.web.check_name_availability.return_value = {"nameAvailable": True}
    assert dangling(c, "fundrbolt-old-api.azurewebsites.net.").startswith("dangling: fundrbolt-old-api.azurewebsites.net")
    assert c.web.check_name_availability.call_args.args[-1] == {"name": "fundrbolt-old-api", "type": "Microsoft.Web/sites"}
    c.web.check_name_availability.return_value = {"nameAvailable": False}
    assert dangling(c, "fundrbolt-production-api.azurewebsites.net") is None
    c.storage.storage_accounts.check_name_availability.return_value = {"nameAvailable": True}
    assert dangling(c, "oldbackups.blob.core.windows.net").startswith("dangling: oldbackups.blob.core.windows.net")
    assert "not check" in dangling(c, "shop.trafficmanager.net")
    assert dangling(c, "shop.example.org") is None


def test_private_endpoint_connections_from_elsewhere_are_revoked_ours_are_not():
    s = session("staging")
    vault = next(c for c in s.children if isinstance(c, PrivateEndpointConnections) and c.parent_step == "key_vault")
    group = f"/subscriptions/{SUB}/resourceGroups/fundrbolt-staging-rg"
    ours = children.Child(f"{vault.parent_id}/privateEndpointConnections/a", "a", {"properties": {
        "privateEndpoint": {"id": f"{group}/providers/Microsoft.Network/privateEndpoints/kv-pe"}}})
    theirs = children.Child(f"{vault.parent_id}/privateEndpointConnections/b", "b", {"properties": {
        "privateEndpoint": {"id": f"/subscriptions/{SUB}/resourceGroups/mallory/providers/Microsoft.Network/privateEndpoints/x"},
        "privateLinkServiceConnectionState": {"status": "Approved"}}})
    [change] = children.undeclared(vault, [ours, theirs], vault.declared(_refs(s)), [], SUB, "fundrbolt-staging-rg")
    assert change.ref.name == "b" and change.refused is None and change.collection == "key_vault/privateEndpointConnections"


def test_role_assignments_anywhere_in_the_group_are_one_collection_and_the_subscription_is_reported():
    s = session("production")
    group = next(c for c in s.children if isinstance(c, GroupRoleAssignments) and not isinstance(c, SubscriptionRoleAssignments))
    owner = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    storage = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/fundrboltproductionst"
    at_storage = children.Child(f"{storage}/providers/Microsoft.Authorization/roleAssignments/g1", "g1", {"properties": {
        "scope": storage, "principalId": "p", "roleDefinitionId": owner}})
    inherited = children.Child(f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/g2", "g2",
                               {"properties": {"scope": f"/subscriptions/{SUB}", "principalId": "p"}})
    [change] = children.undeclared(group, [at_storage, inherited], group.declared(_refs(s)), [], SUB, "fundrbolt-production-rg")
    assert change.ref.name == "g1" and change.refused is None
    # Production locks the storage account: the grant under it is left for a person (ARM would say ScopeLocked).
    [held] = children.undeclared(group, [at_storage], set(), [storage], SUB, "fundrbolt-production-rg")
    assert held.refused and "management lock" in held.refused
    sub = next(c for c in s.children if isinstance(c, SubscriptionRoleAssignments))
    [reported] = children.undeclared(sub, [inherited], set(), [], SUB, "fundrbolt-production-rg")
    assert reported.refused.startswith("left for a person")
    sub.known = {"p"}
    assert children.undeclared(sub, [inherited], set(), [], SUB, "fundrbolt-production-rg") == []


def test_a_subscription_the_identity_may_not_read_is_skipped():
    from provisioner.core.errors import AzureCallError

    s = session("dev")
    sub = next(c for c in s.children if isinstance(c, SubscriptionRoleAssignments))
    from azure.mgmt.authorization.v2022_04_01.operations import RoleAssignmentsOperations

    c = autospec_clients()
    c.caller_object_id = lambda: None
    c.authorization.role_assignments = create_autospec(RoleAssignmentsOperations, instance=True)
    c.authorization.role_assignments.list_for_scope.side_effect = AzureCallError("403 AuthorizationFailed", "AuthorizationFailed", 403)
    assert sub.list(c) == [] and "AuthorizationFailed" in (sub.skipped or "")
