"""Control-plane RBAC as ARM enforces it, each built-in role allowed and refused on a sample of actions. The
oracle is Microsoft's published definition of each role (quoted next to each case, from
MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles/*.md), never our own table: a grant
goes through the ARM API (PUT roleAssignments as the subscription's administrator), the calls through the real
SDK or plain HTTP as the principal."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.redis import RedisManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.web import WebSiteManagementClient

from provisioner.azure.calls import permission_message

from .conftest import RG, SUB, AllowHttp, StaticCred, jwt, raw

GROUP = f"/subscriptions/{SUB}/resourceGroups/{RG}"
OTHER = f"/subscriptions/{SUB}/resourceGroups/rg-other"
ROLE = {
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "Website Contributor": "de139f84-1756-47ae-9be6-808fbbe84772",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Locks Contributor": "28bf596f-4eb7-45ce-b5bc-6cf482fec137",
}
API = "api-version=2022-04-01"


def role_id(name: str) -> str:
    return f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{ROLE.get(name, name)}"


def grant(cloud, principal: str, role: str, scope: str = f"/subscriptions/{SUB}", condition: str | None = None,
          principal_type: str | None = "ServicePrincipal", as_token: str = "admin@fundrbolt.app") -> tuple[int, dict]:
    """A role assignment made through ARM, as `az role assignment create` sends it."""
    props: dict = {"roleDefinitionId": role_id(role), "principalId": principal}
    if principal_type:
        props["principalType"] = principal_type
    if condition:
        props.update(condition=condition, conditionVersion="2.0")
    status, body, _ = raw(cloud, "PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
                          f"?{API}", {"properties": props}, token=as_token)
    return status, body


def principal(cloud, *roles: str, scope: str = f"/subscriptions/{SUB}") -> str:
    """A new service principal's token, holding `roles` at `scope`."""
    oid = str(uuid.uuid4())
    for role in roles:
        assert grant(cloud, oid, role, scope)[0] == 201
    return jwt(oid=oid, appid=str(uuid.uuid4()), tid="00000000-0000-0000-0000-000000000000")


def call(cloud, token: str, method: str, path: str, body: dict | None = None, api: str = API) -> tuple[int, dict]:
    sep = "&" if "?" in path else "?"
    status, answer, _ = raw(cloud, method, f"{path}{sep}{api}", body, token=token)
    return status, answer


def refused_for(answer: tuple[int, dict], action: str, scope: str) -> bool:
    """ARM's 403 AuthorizationFailed naming the action and the scope, as the tool's error mapper reads it."""
    status, body = answer
    message = (body or {}).get("error", {}).get("message", "")
    line = permission_message(status, (body or {}).get("error", {}).get("code"), message) or ""
    return (status == 403 and body["error"]["code"] == "AuthorizationFailed"
            and f"permission denied: {action} on {scope};" in line
            and message.endswith("or the scope is invalid. If access was recently granted, please refresh your credentials."))


@pytest.fixture
def site(cloud, rg) -> str:
    raw(cloud, "PUT", f"{GROUP}/providers/Microsoft.Web/serverfarms/plan?{API}", {"location": "eastus", "sku": {"name": "B1"}})
    path = f"{GROUP}/providers/Microsoft.Web/sites/app"
    assert raw(cloud, "PUT", f"{path}?{API}", {"location": "eastus", "properties": {
        "serverFarmId": f"{GROUP}/providers/Microsoft.Web/serverfarms/plan"}})[0] in (200, 201, 202)
    return path


def test_reader_reads_everything_and_nothing_more(cloud, rg, site):
    # Reader: "actions": ["*/read"]. A POST such as config/list is an action, not a read.
    token = principal(cloud, "Reader")
    assert call(cloud, token, "GET", GROUP)[0] == 200
    assert call(cloud, token, "GET", site)[0] == 200
    assert refused_for(call(cloud, token, "PUT", GROUP, {"location": "eastus"}),
                       "Microsoft.Resources/subscriptions/resourceGroups/write", GROUP)
    assert refused_for(call(cloud, token, "POST", f"{site}/config/appsettings/list"),
                       "Microsoft.Web/sites/config/list/action", f"{site}/config/appsettings")
    assert refused_for(call(cloud, token, "DELETE", site), "Microsoft.Web/sites/delete", site)


def test_contributor_writes_but_never_grants_or_locks(cloud, rg, site):
    # Contributor: actions ["*"], notActions ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", ...].
    token = principal(cloud, "Contributor")
    assert call(cloud, token, "PUT", OTHER, {"location": "eastus"})[0] == 201
    assert call(cloud, token, "POST", f"{site}/config/appsettings/list")[0] == 200
    scope = f"{site}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    assert refused_for(call(cloud, token, "PUT", scope, {"properties": {"roleDefinitionId": role_id("Reader"),
                                                                        "principalId": str(uuid.uuid4())}}),
                       "Microsoft.Authorization/roleAssignments/write", scope)
    lock = f"{site}/providers/Microsoft.Authorization/locks/keep"
    assert refused_for(call(cloud, token, "PUT", lock, {"properties": {"level": "CanNotDelete"}}, "api-version=2020-05-01"),
                       "Microsoft.Authorization/locks/write", lock)
    assert call(cloud, token, "GET", f"{site}/providers/Microsoft.Authorization/locks", api="api-version=2020-05-01")[0] == 200


def test_owner_does_everything(cloud, rg, site):
    # Owner: actions ["*"], no notActions.
    token = principal(cloud, "Owner")
    lock = f"{site}/providers/Microsoft.Authorization/locks/keep"
    assert call(cloud, token, "PUT", lock, {"properties": {"level": "CanNotDelete"}}, "api-version=2020-05-01")[0] == 201
    assert grant(cloud, str(uuid.uuid4()), "Reader", GROUP, as_token=token)[0] == 201


def test_user_access_administrator_grants_but_does_not_build(cloud, rg):
    # User Access Administrator: actions ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"].
    token = principal(cloud, "User Access Administrator")
    assert grant(cloud, str(uuid.uuid4()), "Owner", GROUP, as_token=token)[0] == 201
    assert call(cloud, token, "PUT", f"{GROUP}/providers/Microsoft.Authorization/locks/keep",
                {"properties": {"level": "CanNotDelete"}}, "api-version=2020-05-01")[0] == 201
    assert refused_for(call(cloud, token, "PUT", OTHER, {"location": "eastus"}),
                       "Microsoft.Resources/subscriptions/resourceGroups/write", OTHER)


# The condition Microsoft gives for "Constrain roles and principal types" (delegate-role-assignments-examples.md),
# limited to the roles the provisioner assigns to its apps' identities.
CONSTRAINED = ("((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
               "(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals "
               "{4633458b-17de-408a-b874-0445c86b69e6, 7f951dda-4ed3-4680-a7ca-43fe172d538d} AND "
               "@Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase "
               "{'ServicePrincipal'})) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR "
               "(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals "
               "{4633458b-17de-408a-b874-0445c86b69e6, 7f951dda-4ed3-4680-a7ca-43fe172d538d}))")


def test_rbac_administrator_with_its_condition_grants_only_the_named_roles(cloud, rg):
    # Role Based Access Control Administrator: actions roleAssignments/write, roleAssignments/delete, */read,
    # Microsoft.Support/*; the condition on the assignment limits which roles it may hand out.
    oid = str(uuid.uuid4())
    assert grant(cloud, oid, "Role Based Access Control Administrator", condition=CONSTRAINED)[0] == 201
    token = jwt(oid=oid, appid=str(uuid.uuid4()))
    app = str(uuid.uuid4())
    status, made = grant(cloud, app, "Key Vault Secrets User", GROUP, as_token=token)
    assert status == 201
    refused = grant(cloud, app, "Owner", GROUP, as_token=token)
    assert refused[0] == 403 and refused[1]["error"]["code"] == "AuthorizationFailed"
    assert "'Microsoft.Authorization/roleAssignments/write'" in refused[1]["error"]["message"]
    # ABAC reads the request body: without principalType the principal-type clause cannot hold.
    assert grant(cloud, app, "AcrPull", GROUP, principal_type=None, as_token=token)[0] == 403
    assert grant(cloud, app, "AcrPull", GROUP, principal_type="User", as_token=token)[0] == 403
    assert call(cloud, token, "DELETE", made["id"])[0] == 200
    # A delete is judged by the stored assignment (@Resource): someone else's Owner grant stays.
    owner = grant(cloud, app, "Owner", GROUP)[1]
    assert refused_for(call(cloud, token, "DELETE", owner["id"]), "Microsoft.Authorization/roleAssignments/delete",
                       owner["id"])
    assert refused_for(call(cloud, token, "PUT", OTHER, {"location": "eastus"}),
                       "Microsoft.Resources/subscriptions/resourceGroups/write", OTHER)


def test_rbac_administrator_without_a_condition_grants_any_role(cloud, rg):
    token = principal(cloud, "Role Based Access Control Administrator")
    assert grant(cloud, str(uuid.uuid4()), "Owner", GROUP, as_token=token)[0] == 201


def test_a_condition_arm_cannot_read_is_refused_when_written(cloud):
    status, body = grant(cloud, str(uuid.uuid4()), "Role Based Access Control Administrator",
                         condition="@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] GuidEquals {a, b}")
    assert status == 400 and body["error"]["message"] == "The given role assignment condition is invalid."


def test_website_contributor_manages_sites_not_plans(cloud, rg, site):
    # Website Contributor: "Microsoft.Web/sites/*", "Microsoft.Web/serverFarms/read", "Microsoft.Web/serverFarms/join/action".
    token = principal(cloud, "Website Contributor")
    assert call(cloud, token, "PATCH", f"{site}/config/web", {"properties": {"alwaysOn": True}})[0] == 200
    assert call(cloud, token, "GET", f"{GROUP}/providers/Microsoft.Web/serverfarms/plan")[0] == 200
    plan = f"{GROUP}/providers/Microsoft.Web/serverfarms/plan"
    assert refused_for(call(cloud, token, "PUT", plan, {"location": "eastus", "sku": {"name": "B2"}}),
                       "Microsoft.Web/serverfarms/write", plan)


def test_data_plane_roles_grant_no_control_plane_action(cloud, rg):
    # Key Vault Secrets User: "actions": [], dataActions getSecret/readMetadata. AcrPull: registries/pull/read only.
    for role in ("Key Vault Secrets User", "AcrPull"):
        token = principal(cloud, role)
        assert refused_for(call(cloud, token, "GET", GROUP), "Microsoft.Resources/subscriptions/resourceGroups/read", GROUP)


def test_locks_contributor_writes_locks_only(cloud, rg):
    # Locks Contributor: Microsoft.Authorization/locks/read, write, delete.
    token = principal(cloud, "Locks Contributor")
    lock = f"{GROUP}/providers/Microsoft.Authorization/locks/keep"
    assert call(cloud, token, "PUT", lock, {"properties": {"level": "CanNotDelete"}}, "api-version=2020-05-01")[0] == 201
    assert refused_for(call(cloud, token, "GET", GROUP), "Microsoft.Resources/subscriptions/resourceGroups/read", GROUP)


def test_assignments_inherit_down_scopes_and_never_up_or_across(cloud, rg):
    assert raw(cloud, "PUT", f"{OTHER}?{API}", {"location": "eastus"})[0] == 201
    token = principal(cloud, "Contributor", scope=GROUP)
    assert call(cloud, token, "PUT", f"{GROUP}/providers/Microsoft.Web/serverfarms/p2?{API}",
                {"location": "eastus", "sku": {"name": "B1"}})[0] in (200, 201, 202)
    assert refused_for(call(cloud, token, "GET", OTHER), "Microsoft.Resources/subscriptions/resourceGroups/read", OTHER)
    assert refused_for(call(cloud, token, "GET", f"/subscriptions/{SUB}/resourcegroups"),
                       "Microsoft.Resources/subscriptions/resourceGroups/read", f"/subscriptions/{SUB}")


def test_custom_role_actions_and_not_actions(cloud, rg, site):
    guid = str(uuid.uuid4())
    definition = {"name": guid, "properties": {
        "roleName": "Site reader with settings", "type": "CustomRole", "description": "test",
        "assignableScopes": [f"/subscriptions/{SUB}"],
        "permissions": [{"actions": ["*/read", "Microsoft.Web/sites/config/list/action"],
                         "notActions": ["Microsoft.Web/sites/config/read"]}]}}
    path = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    # Creating a role needs Microsoft.Authorization/roleDefinitions/write: Contributor is refused.
    assert refused_for(call(cloud, principal(cloud, "Contributor"), "PUT", path, definition),
                       "Microsoft.Authorization/roleDefinitions/write", path)
    assert call(cloud, principal(cloud, "User Access Administrator"), "PUT", path, definition)[0] == 201
    assert call(cloud, "admin@fundrbolt.app", "PUT", path.replace(guid, str(uuid.uuid4())),
                {**definition, "name": "x"})[0] == 409, "role names are unique in the directory"
    token = principal(cloud, guid)
    assert call(cloud, token, "POST", f"{site}/config/appsettings/list")[0] == 200
    assert call(cloud, token, "GET", site)[0] == 200
    assert refused_for(call(cloud, token, "GET", f"{site}/config/web"), "Microsoft.Web/sites/config/read", f"{site}/config/web")
    listed = call(cloud, token, "GET", f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions"
                  "?$filter=type%20eq%20'CustomRole'")[1]["value"]
    assert [d["properties"]["roleName"] for d in listed] == ["Site reader with settings"]
    assert call(cloud, "admin@fundrbolt.app", "DELETE", path)[0] == 409, "a role with assignments cannot be deleted"


def test_assignment_of_a_role_that_does_not_exist_is_refused(cloud):
    status, body = grant(cloud, str(uuid.uuid4()), str(uuid.uuid4()))
    assert status == 400 and body["error"]["code"] == "RoleDefinitionDoesNotExist"


def test_builtin_definitions_are_served_at_any_scope(cloud):
    status, body = call(cloud, "admin@fundrbolt.app", "GET", role_id("Reader"))
    assert status == 200 and body["properties"]["permissions"][0]["actions"] == ["*/read"]
    status, body = call(cloud, "admin@fundrbolt.app", "GET", f"/subscriptions/{SUB}/providers/Microsoft.Authorization/"
                        "roleDefinitions?$filter=roleName%20eq%20'Role%20Based%20Access%20Control%20Administrator'")
    assert [d["name"] for d in body["value"]] == [ROLE["Role Based Access Control Administrator"]]


def test_sdk_sees_the_403_as_arm_sends_it(cloud, make, rg):
    """The real SDK, as the tool's calls map it: one line naming the action, the scope and a role."""
    from provisioner.azure.calls import call as tool_call
    from provisioner.core.errors import AzureCallError

    token = principal(cloud, "Reader")
    redis = RedisManagementClient(StaticCred(token), SUB, base_url=cloud.url, per_call_policies=[AllowHttp()])
    make(RedisManagementClient).redis.begin_create(RG, "cache", {"location": "eastus", "sku": {
        "name": "Basic", "family": "C", "capacity": 0}}).result()
    with pytest.raises(AzureCallError) as err:
        tool_call(redis.redis.list_keys, RG, "cache")
    assert str(err.value).startswith("permission denied: Microsoft.Cache/redis/listKeys/action on "
                                     f"{GROUP}/providers/Microsoft.Cache/redis/cache;")
    web = WebSiteManagementClient(StaticCred(token), SUB, base_url=cloud.url, per_call_policies=[AllowHttp()])
    with pytest.raises(HttpResponseError) as http:
        web.app_service_plans.begin_create_or_update(RG, "p", {"location": "eastus", "sku": {"name": "B1"}}).result()
    assert http.value.status_code == 403
    ResourceManagementClient(StaticCred(token), SUB, base_url=cloud.url, per_call_policies=[AllowHttp()]).resource_groups.get(RG)


def test_a_registry_admits_pulls_by_role_and_serves_only_imported_tags(cloud):
    """ACR's data plane behind its token exchange (azure-containerregistry, the real SDK): a tag exists once
    imported (Registries_ImportImage); the exchange admits a token whose roles grant registries/pull/read (AcrPull:
    "Microsoft.ContainerRegistry/registries/pull/read"), not one holding only Key Vault Secrets User."""
    from azure.containerregistry import ContainerRegistryClient
    from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError

    from provisioner.localcloud.cloud import SHARED_REGISTRY

    endpoint = f"{cloud.tls_url}/acr/fundrbolt.azurecr.io"

    def client(token: str) -> ContainerRegistryClient:
        return ContainerRegistryClient(endpoint, StaticCred(token), audience="https://management.azure.com",
                                       connection_verify=str(cloud.ca_file))

    puller = principal(cloud, "AcrPull", scope=SHARED_REGISTRY)
    with pytest.raises(ResourceNotFoundError):
        client(puller).get_tag_properties("api", "1.0")
    assert call(cloud, "admin@fundrbolt.app", "POST", f"{SHARED_REGISTRY}/importImage", {
        "source": {"registryUri": "docker.io", "sourceImage": "library/nginx:1"}, "targetTags": ["api:1.0"]},
        api="api-version=2023-07-01")[0] == 202
    tag = client(puller).get_tag_properties("api", "1.0")
    assert tag.name == "1.0" and tag.digest.startswith("sha256:")
    assert client(puller).get_manifest_properties("api", tag.digest).digest == tag.digest
    with pytest.raises(ClientAuthenticationError):
        client(principal(cloud, "Key Vault Secrets User")).get_tag_properties("api", "1.0")


def test_attaching_a_user_assigned_identity_needs_its_assign_action_on_the_identity(cloud, rg, site):
    """Website Contributor ("Microsoft.Web/sites/*") may write the site, not lend it an identity it may not assign:
    ARM answers 403 LinkedAuthorizationFailed naming the linked scope (Azure/aad-pod-identity#613 and #443 quote it).
    Contributor ("*") holds Microsoft.ManagedIdentity/userAssignedIdentities/assign/action."""
    identity = f"{GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id"
    assert raw(cloud, "PUT", f"{identity}?api-version=2024-11-30", {"location": "eastus"})[0] == 201
    body = {"identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {identity: {}}}}
    status, answer = call(cloud, principal(cloud, "Website Contributor", scope=GROUP), "PATCH", site, body)
    message = answer["error"]["message"]
    assert status == 403 and answer["error"]["code"] == "LinkedAuthorizationFailed", answer
    assert "'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s)" in message
    assert identity in message and "has permission to perform action 'Microsoft.Web/sites/write'" in message
    assert call(cloud, principal(cloud, "Contributor", scope=GROUP), "PATCH", site, body)[0] == 200


def _custom_role(cloud, name: str, actions: list[str]) -> str:
    guid = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    status, _, _ = raw(cloud, "PUT", f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}?{API}",
                       {"properties": {"roleName": name, "type": "CustomRole", "assignableScopes": [f"/subscriptions/{SUB}"],
                                       "permissions": [{"actions": actions}]}}, token="admin@fundrbolt.app")
    assert status in (200, 201)
    return guid


def test_an_operation_is_followed_with_the_groups_permission_and_app_services_at_the_subscription(cloud, rg):
    """learn.microsoft.com azure-resource-manager/management/async-operations, "Permissions for tracking async status":
    the status URL is not under the resource, so the poll needs permissions at the resource group. PostgreSQL's action
    is `Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read`. App Service's operation results are authorized at
    the subscription (`Microsoft.Web/locations/operationResults/read`: a role on the group is refused, as reported for
    Static Web Apps and azurerm)."""
    server = f"{GROUP}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-ops"
    status, _, headers = raw(cloud, "PUT", f"{server}?api-version=2024-08-01", {
        "location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"administratorLogin": "pgadmin", "administratorLoginPassword": "Pw-123456789", "version": "16",
                       "storage": {"storageSizeGB": 32}}})
    assert status in (200, 201, 202)
    poll = headers["Azure-AsyncOperation"].split(cloud.url, 1)[1]
    assert "/providers/Microsoft.DBforPostgreSQL/locations/eastus/azureAsyncOperation/" in poll
    writer = _custom_role(cloud, "pg writer", ["Microsoft.DBforPostgreSQL/flexibleServers/*"])
    follower = _custom_role(cloud, "pg writer that follows",
                            ["Microsoft.DBforPostgreSQL/flexibleServers/*", "Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read"])
    assert refused_for(call(cloud, principal(cloud, writer, scope=GROUP), "GET", poll),
                       "Microsoft.DBforPostgreSQL/locations/azureAsyncOperation/read", GROUP)
    assert call(cloud, principal(cloud, follower, scope=GROUP), "GET", poll)[0] == 200  # the group's grant is enough
    assert raw(cloud, "PUT", f"{OTHER}?api-version=2021-04-01", {"location": "eastus"})[0] in (200, 201)
    assert call(cloud, principal(cloud, follower, scope=OTHER), "GET", poll)[0] == 403  # another group's is not

    web_poll = f"/subscriptions/{SUB}/providers/Microsoft.Web/locations/eastus/operationResults/{uuid.uuid4()}"
    on_group = principal(cloud, "Contributor", scope=GROUP)
    assert refused_for(call(cloud, on_group, "GET", web_poll), "Microsoft.Web/locations/operationResults/read",
                       f"/subscriptions/{SUB}")
    reader = _custom_role(cloud, "web results", ["Microsoft.Web/locations/operationResults/read"])
    assert call(cloud, principal(cloud, reader), "GET", web_poll)[0] != 403  # granted at the subscription
