"""Key Vault secrets data plane at <url>/keyvault/<vault>/secrets/...: versions, soft delete, challenge auth."""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine import Reply
from .store import read_json, write_json_atomic

if TYPE_CHECKING:
    from .cloud import LocalCloud

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
               cloud: LocalCloud) -> Reply:
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
