"""ARM's 401/403 bodies become one line naming the action, the scope and a role that grants it."""

from __future__ import annotations

from provisioner.azure import permission_message

RG = "/subscriptions/0000/resourcegroups/fundrbolt-dev-rg"


def _arm(action: str, scope: str = RG) -> str:
    # The shape of ARM's AuthorizationFailed message (e.g. pulumi/pulumi#8993, Azure/azure-cli#32165).
    return (f"The client 'ci@fundrbolt.app' with object id '5c2f' does not have authorization to perform action "
            f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please "
            "refresh your credentials.")


def test_read_denied_suggests_reader():
    line = permission_message(403, "AuthorizationFailed", _arm("Microsoft.Resources/subscriptions/resourcegroups/read"))
    assert line == (f"permission denied: Microsoft.Resources/subscriptions/resourcegroups/read on {RG}; grant a role "
                    "that includes it (e.g. Reader) at that scope")


def test_writes_suggest_contributor_and_role_assignments_user_access_administrator():
    assert "(e.g. Contributor)" in permission_message(403, "AuthorizationFailed", _arm("Microsoft.Cache/redis/write"))
    line = permission_message(403, "AuthorizationFailed", _arm("Microsoft.Authorization/roleAssignments/write"))
    assert "(e.g. User Access Administrator or Owner)" in line and "\n" not in line


def test_key_vault_data_plane_forbidden_by_rbac():
    # The data plane's format (hashicorp/terraform-provider-azurerm#27817).
    message = ("Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or "
               "role definitions were changed recently, please observe propagation time.\r\nCaller: appid=1;oid=2\r\n"
               "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'\r\nResource: "
               "'/subscriptions/0000/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv/secrets/db'\r\n"
               "Assignment: (not found)")
    line = permission_message(403, "Forbidden", message)
    assert line.startswith("permission denied: Microsoft.KeyVault/vaults/secrets/setSecret/action on /subscriptions/")
    assert "Key Vault Secrets Officer" in line and "\n" not in line


def test_other_statuses_are_left_alone():
    assert permission_message(404, "ResourceNotFound", "x") is None
    assert permission_message(401, None, "").startswith("the credential was refused")
