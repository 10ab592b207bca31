"""PostgreSQL flexible server: parameter defaults as Azure documents them, Microsoft Entra administrators, and the
private endpoint connections a private endpoint creates on the server."""

from __future__ import annotations

from typing import Any

from ..errors import ArmError
from ..ids import ArmPath
from ..profile import EngineApi, WriteCtx

# Defaults of the parameters the built-in policies read, for PostgreSQL 14 (MicrosoftDocs/azure-docs
# articles/postgresql/flexible-server/includes/server-parameters-table-14-reporting-and-logging---what-to-log.md,
# ...-14-log-files.md, ...-14-connections-and-authentication---ssl.md, ...-14-customized-options.md). Read-only
# parameters accept only their one allowed value.
DEFAULTS: dict[str, tuple[str, bool]] = {  # name -> (default, read-only)
    "log_checkpoints": ("on", False),
    "log_connections": ("on", True),
    "log_disconnections": ("on", True),
    "log_line_prefix": ("%t-%c-", False),
    "logfiles.retention_days": ("3", False),
    "require_secure_transport": ("on", False),
    "ssl_min_protocol_version": ("TLSv1.2", False),
    "pgaudit.log": ("none", False),
}


def config_default(path: ArmPath) -> dict[str, Any]:
    value, read_only = DEFAULTS.get(path.name.lower(), ("", False))
    return {"id": path.path, "name": path.name, "type": path.full_type, "properties": {
        "value": value, "description": "", "defaultValue": value, "dataType": "String", "allowedValues": value if read_only else "",
        "source": "system-default", "isDynamicConfig": True, "isReadOnly": read_only, "isConfigPendingRestart": False}}


def check_config_write(ctx: WriteCtx) -> None:
    """A read-only parameter keeps its value: the portal shows it greyed out and the API refuses another value
    (the documentation lists `on` as its only allowed value). The error code is the local cloud's."""
    value, read_only = DEFAULTS.get(ctx.path.name.lower(), ("", False))
    sent = str((ctx.sent.get("properties") or {}).get("value") or "")
    if read_only and sent and sent.lower() != value.lower():
        raise ArmError(400, "ParameterValueNotAllowed", f"The value '{sent}' for configuration '{ctx.path.name}' is "
                       f"not valid: the parameter is read-only. Allowed values: '{value}'.")


def check_administrator(ctx: WriteCtx) -> None:
    """An Entra administrator needs Entra sign-in on the server (learn.microsoft.com/azure/postgresql/flexible-server/
    how-to-configure-sign-in-azure-ad-authentication: enable Microsoft Entra authentication, then add admins) and
    the fields of AdministratorAdd.json (principalType, principalName, tenantId); the URL names the object id."""
    server = ctx.engine.get(ctx.path.parent_id) or {}
    auth = str(((server.get("properties") or {}).get("authConfig") or {}).get("activeDirectoryAuth") or "Disabled")
    if auth.lower() != "enabled":
        raise ArmError(400, "AadAuthDisabled", "Microsoft Entra authentication is not enabled on server "
                       f"'{server.get('name')}'.")
    props = ctx.sent_props
    if str(props.get("principalType") or "") not in ("User", "Group", "ServicePrincipal", "Unknown"):
        raise ArmError(400, "InvalidParameterValue", "principalType must be User, Group, ServicePrincipal or Unknown.")
    if not props.get("principalName"):
        raise ArmError(400, "InvalidParameterValue", "principalName is required.")


def administrator_populate(ctx: WriteCtx) -> None:
    """AdministratorAdd.json: the body's name is the principal's name, objectId the URL's last segment."""
    ctx.props["objectId"] = ctx.path.name
    ctx.props.setdefault("tenantId", ctx.engine.tenant_id)
    ctx.body["name"] = ctx.props.get("principalName") or ctx.path.name


def add_connection(engine: EngineApi, server_id: str, endpoint_id: str, name: str, group_ids: list[str],
                   now: str) -> None:
    """The server's side of a private endpoint, auto-approved as for a requester with rights on the server
    (ServerGetWithPrivateEndpoints.json: status Approved, "Auto-Approved", groupIds postgresqlServer)."""
    rid = f"{server_id}/privateEndpointConnections/{name}"
    body = {"id": rid, "name": name, "type": "Microsoft.DBforPostgreSQL/flexibleServers/privateEndpointConnections",
            "properties": {"privateEndpoint": {"id": endpoint_id}, "groupIds": group_ids,
                           "privateLinkServiceConnectionState": {"status": "Approved", "description": "Auto-Approved",
                                                                 "actionsRequired": "None"},
                           "provisioningState": "Succeeded"}}
    engine.put_raw(rid, body)
    _refresh(engine, server_id)


def remove_connections(engine: EngineApi, server_id: str, endpoint_id: str) -> None:
    for pec in engine.find("Microsoft.DBforPostgreSQL/flexibleServers/privateEndpointConnections", server_id):
        if str(((pec.get("properties") or {}).get("privateEndpoint") or {}).get("id") or "").lower() == endpoint_id.lower():
            engine.remove(pec["id"])
    _refresh(engine, server_id)


def _refresh(engine: EngineApi, server_id: str) -> None:
    server = engine.get(server_id)
    if server is not None:
        server.setdefault("properties", {})["privateEndpointConnections"] = [
            dict(p) for p in engine.find("Microsoft.DBforPostgreSQL/flexibleServers/privateEndpointConnections",
                                         server_id)]
        engine.put_raw(server_id, server)
