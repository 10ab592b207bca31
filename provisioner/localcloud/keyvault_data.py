"""Key Vault secrets data plane at <url>/keyvault/<vault>/secrets/...: versions, soft delete, challenge auth."""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import keyvault_access as access
from .errors import ArmError
from .services import Services
from .store import read_json, write_json_atomic
from .wire import Reply

CHALLENGE = ('Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", '
             'resource="https://vault.azure.net"')


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None, write: bool = False) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message}}, headers or {}, write=write)


class SecretStore:
    """Secrets by vault name (names are global), persisted next to the state file. Values are never
    logged: the request log holds no bodies."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._vaults: dict[str, dict[str, dict[str, Any]]] = read_json(path, {})

    def purge_vault(self, vault: str) -> None:
        with self._lock:
            self._vaults.pop(vault.lower(), None)
            self._save()

    def _save(self) -> None:
        if self.path is not None:
            write_json_atomic(self.path, self._vaults)

    def handle(self, method: str, path: str, query: dict[str, str], raw: bytes, token: str | None,
               cloud: Services, client_ip: str = "") -> Reply:
        write = method in ("PUT", "PATCH", "DELETE", "POST")
        if token is None:
            # The SDK's challenge policy sends the first request without a token to learn the tenant.
            return _error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.",
                          {"WWW-Authenticate": CHALLENGE}, write)
        segs = [s for s in path.split("/") if s][1:]  # vault, collection, name?, version?/action?
        if len(segs) < 2:
            return _error(400, "BadParameter", "The request URI is not a Key Vault secrets URI.", write=write)
        vault_name, collection, rest = segs[0], segs[1].lower(), segs[2:]
        vaults = [v for v in cloud.engine.find("Microsoft.KeyVault/vaults") if v["name"].lower() == vault_name.lower()]
        if not vaults:
            return _error(404, "VaultNotFound", f"The vault '{vault_name}' does not exist (or is soft-deleted).",
                          write=write)
        try:
            self._admit(vaults[0], method, collection, rest, token, client_ip or cloud.client_ip, cloud)
        except ArmError as err:
            return Reply(err.status, err.body(), err.headers, write=write)
        body: Any = None
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "BadParameter", "The request body is not valid JSON.", write=write)
        with self._lock:
            secrets = self._vaults.setdefault(vault_name.lower(), {})
            reply = self._route(method, collection, rest, body or {}, secrets, cloud.tls_url or cloud.url)
            if write and reply.status < 300:
                self._save()
        reply.write = write
        return reply

    @staticmethod
    def _need(method: str, collection: str, rest: list[str]) -> str:
        """The data action a request needs (learn.microsoft.com/azure/key-vault/general/rbac-abac, "Azure Key Vault
        actions"): set, update, delete on a secret; recover and purge on a deleted one; reads of the value or of
        metadata."""
        if collection == "deletedsecrets":
            if method == "DELETE":
                return "purge"
            return "recover" if method == "POST" else "metadata"
        if method == "PUT":
            return "write"
        if method == "PATCH":
            return "update"
        if method == "DELETE":
            return "delete"
        if method != "GET":
            return "write"
        if collection == "secrets" and len(rest) in (1, 2) and not (len(rest) == 2 and rest[1].lower() == "versions"):
            return "read"  # the value itself
        return "metadata"

    def _admit(self, vault: dict[str, Any], method: str, collection: str, rest: list[str], token: str | None,
               client_ip: str, cloud: Services) -> None:
        """Authentication (the token's tenant), then the firewall, then authorization, as Key Vault does."""
        access.check_tenant(vault, access.tenant_of(token, cloud.engine.tenant_id))
        principal = access.principal_of(token)
        caller = f"oid={principal}" if principal else f"upn={token}"
        if not access.network_admits(vault, client_ip=client_ip):
            raise access.firewall_denied(vault, client_ip, caller)
        need = self._need(method, collection, rest)
        with cloud.engine.lock:
            ok = access.authorized(cloud.engine, vault, principal, need, datetime.now(UTC), rest[0] if rest else "")
        if not ok:
            resource = f"{vault['id']}/secrets/{rest[0]}" if rest else vault["id"]
            raise access.rbac_denied(vault, caller, need, resource)

    # ------------------------------------------------------------------ ARM view (Microsoft.KeyVault/vaults/secrets)
    def exists(self, vault: str, name: str, version: str = "") -> bool:
        with self._lock:
            entry = self._vaults.get(vault.lower(), {}).get(name.lower())
            return bool(entry and not entry.get("deleted") and self._version(entry, version) is not None)

    def latest_value(self, vault: str, name: str) -> str | None:
        """For tests that check what was stored (an operator with access would read it the same way)."""
        with self._lock:
            entry = self._vaults.get(vault.lower(), {}).get(name.lower())
            if not entry or entry.get("deleted") or not entry["versions"]:
                return None
            return str(entry["versions"][-1]["value"])

    def value(self, vault: str, name: str, version: str = "") -> str | None:
        """A version's value (the latest when `version` is empty), as an app's Key Vault reference resolves it."""
        with self._lock:
            entry = self._vaults.get(vault.lower(), {}).get(name.lower())
            if not entry or entry.get("deleted"):
                return None
            found = self._version(entry, version)
            return str(found["value"]) if found else None

    def arm_body(self, vault: dict[str, Any], name: str, base: str) -> dict[str, Any] | None:
        """GET .../vaults/{v}/secrets/{name}: the latest version's tags and attributes, never the value
        (azure-rest-api-specs keyvault secrets.json: SecretProperties.value is not returned)."""
        with self._lock:
            entry = self._vaults.get(str(vault["name"]).lower(), {}).get(name.lower())
            if not entry or entry.get("deleted") or not entry["versions"]:
                return None
            return self._arm_shape(vault, entry, entry["versions"][-1], base)

    def arm_list(self, vault: dict[str, Any], base: str) -> list[dict[str, Any]]:
        with self._lock:
            entries = self._vaults.get(str(vault["name"]).lower(), {}).values()
            return [self._arm_shape(vault, e, e["versions"][-1], base) for e in entries
                    if e["versions"] and not e.get("deleted")]

    def arm_write(self, vault: dict[str, Any], name: str, sent: dict[str, Any], method: str) -> None:
        """PUT makes a new version when a value is sent (every PUT does: the API has no compare); PATCH
        changes the latest version's tags/contentType/attributes. The vault firewall does not apply: this is
        the control plane (learn.microsoft.com/azure/key-vault/general/overview-vnet-service-endpoints)."""
        props: dict[str, Any] = sent["properties"] if isinstance(sent.get("properties"), dict) else {}
        with self._lock:
            secrets = self._vaults.setdefault(str(vault["name"]).lower(), {})
            entry = secrets.get(name.lower())
            if method == "PUT":
                body = {"value": props.get("value"), "tags": sent.get("tags"), "contentType": props.get("contentType"),
                        "attributes": props.get("attributes") or {}}
                if props.get("value") is None:
                    raise ArmError(400, "BadRequest", "The parameter properties.value is required.")
                reply = self._set(name, entry, body, secrets, "")
                if reply.status >= 300:
                    err = (reply.body or {}).get("error") or {}
                    raise ArmError(reply.status, err.get("code", "Conflict"), err.get("message", ""))
            else:
                if entry is None or entry.get("deleted") or not entry["versions"]:
                    raise ArmError(404, "ResourceNotFound", f"The secret '{name}' was not found.")
                latest = entry["versions"][-1]
                if "tags" in sent:
                    latest["tags"] = sent["tags"]
                if "contentType" in props:
                    latest["contentType"] = props["contentType"]
                latest["attributes"].update(props.get("attributes") or {})
                latest["attributes"]["updated"] = int(time.time())
            self._save()

    @staticmethod
    def _arm_shape(vault: dict[str, Any], entry: dict[str, Any], version: dict[str, Any], base: str) -> dict[str, Any]:
        uri = f"{base}/secrets/{entry['name']}"
        attributes = {k: v for k, v in version["attributes"].items() if k in ("enabled", "nbf", "exp", "created", "updated")}
        props: dict[str, Any] = {"attributes": attributes, "secretUri": uri,
                                 "secretUriWithVersion": f"{uri}/{version['version']}"}
        if version.get("contentType") is not None:
            props["contentType"] = version["contentType"]
        return {"id": f"{vault['id']}/secrets/{entry['name']}", "name": entry["name"],
                "type": "Microsoft.KeyVault/vaults/secrets", "location": vault.get("location"),
                "tags": dict(version.get("tags") or {}), "properties": props}

    # ------------------------------------------------------------------ routes
    def _route(self, method: str, collection: str, rest: list[str], body: dict[str, Any],
               secrets: dict[str, dict[str, Any]], base: str) -> Reply:
        name = rest[0] if rest else ""
        entry = secrets.get(name.lower())
        if collection == "secrets":
            if not rest and method == "GET":
                items = [self._item(e, base) for e in secrets.values() if e["versions"] and not e.get("deleted")]
                return Reply(200, {"value": items, "nextLink": None})
            if len(rest) == 2 and rest[1].lower() == "versions" and method == "GET":
                if entry is None or entry.get("deleted"):
                    return self._missing(name)
                return Reply(200, {"value": [self._item(entry, base, v) for v in entry["versions"]], "nextLink": None})
            if len(rest) == 1 and method == "PUT":
                return self._set(name, entry, body, secrets, base)
            if len(rest) == 1 and method == "DELETE":
                if entry is None or entry.get("deleted"):
                    return self._missing(name)
                entry["deleted"] = {"deletedDate": int(time.time()), "scheduledPurgeDate": int(time.time()) + 90 * 86400}
                return Reply(200, self._deleted_bundle(entry, base))
            if len(rest) in (1, 2) and method in ("GET", "PATCH"):
                if entry is None or entry.get("deleted"):
                    return self._missing(name)
                version = rest[1] if len(rest) == 2 else ""
                found = self._version(entry, version)
                if found is None:
                    return _error(404, "SecretNotFound", f"A secret with (name/id) {name}/{version} was not found in "
                                  "this key vault.")
                if method == "PATCH":
                    for key in ("contentType", "tags"):
                        if key in body:
                            found[key] = body[key]
                    found["attributes"].update(body.get("attributes") or {})
                    found["attributes"]["updated"] = int(time.time())
                    return Reply(200, self._bundle(entry, found, base, with_value=False))
                return Reply(200, self._bundle(entry, found, base))
        if collection == "deletedsecrets":
            if not rest and method == "GET":
                items = [self._deleted_bundle(e, base) for e in secrets.values() if e.get("deleted")]
                return Reply(200, {"value": items, "nextLink": None})
            if entry is None or not entry.get("deleted"):
                return _error(404, "DeletedSecretNotFound", f"Deleted Secret not found: {name}")
            if len(rest) == 1 and method == "GET":
                return Reply(200, self._deleted_bundle(entry, base))
            if len(rest) == 1 and method == "DELETE":
                secrets.pop(name.lower(), None)
                return Reply(204, None)
            if len(rest) == 2 and rest[1].lower() == "recover" and method == "POST":
                entry.pop("deleted", None)
                return Reply(200, self._bundle(entry, entry["versions"][-1], base, with_value=False))
        return _error(400, "BadParameter", f"The local cloud does not implement {method} on '{collection}'.")

    def _set(self, name: str, entry: dict[str, Any] | None, body: dict[str, Any],
             secrets: dict[str, dict[str, Any]], base: str) -> Reply:
        if entry is not None and entry.get("deleted"):
            return _error(409, "Conflict", f"Secret {name} is currently in a deleted but recoverable state, and its "
                          "name cannot be reused; in this state, the secret can only be recovered or purged.")
        if "value" not in body:
            return _error(400, "BadParameter", "Property 'value' is required.")
        if entry is None:
            entry = secrets[name.lower()] = {"name": name, "versions": []}
        now = int(time.time())
        attributes = {"enabled": True, **(body.get("attributes") or {}), "created": now, "updated": now,
                      "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}
        version = {"version": uuid.uuid4().hex, "value": str(body["value"]), "attributes": attributes,
                   "tags": body.get("tags"), "contentType": body.get("contentType")}
        entry["versions"].append(version)
        return Reply(200, self._bundle(entry, version, base))

    # ------------------------------------------------------------------ shapes
    @staticmethod
    def _version(entry: dict[str, Any], version: str) -> dict[str, Any] | None:
        if not version:
            return entry["versions"][-1] if entry["versions"] else None
        return next((v for v in entry["versions"] if v["version"] == version), None)

    @staticmethod
    def _missing(name: str) -> Reply:
        return _error(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault.")

    @staticmethod
    def _bundle(entry: dict[str, Any], version: dict[str, Any], base: str, with_value: bool = True) -> dict[str, Any]:
        # Ids use the host root (`{base}/secrets/{name}/{version}`): the SDK parses ids as
        # scheme://host/collection/name[/version] and refuses a longer path.
        out: dict[str, Any] = {"id": f"{base}/secrets/{entry['name']}/{version['version']}",
                               "attributes": copy.deepcopy(version["attributes"])}
        if with_value:
            out["value"] = version["value"]
        if version.get("tags") is not None:
            out["tags"] = version["tags"]
        if version.get("contentType") is not None:
            out["contentType"] = version["contentType"]
        return out

    def _item(self, entry: dict[str, Any], base: str, version: dict[str, Any] | None = None) -> dict[str, Any]:
        v = version or entry["versions"][-1]
        out = self._bundle(entry, v, base, with_value=False)
        if version is None:
            out["id"] = f"{base}/secrets/{entry['name']}"
        return out

    def _deleted_bundle(self, entry: dict[str, Any], base: str) -> dict[str, Any]:
        out = self._bundle(entry, entry["versions"][-1], base, with_value=False)
        out.update(recoveryId=f"{base}/deletedsecrets/{entry['name']}", **entry["deleted"])
        return out
