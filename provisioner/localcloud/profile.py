"""The per-type profile table: status codes, LRO mode, latency and hooks that shape one ARM type."""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from .ids import ArmPath

TENANT_ID = "00000000-0000-0000-0000-000000000000"


class EngineApi(Protocol):
    """What hooks may do to the rest of the cloud (implemented by engine.Engine)."""

    base_url: str
    vault_base_url: str
    tenant_id: str  # the directory of this cloud's subscription (`localcloud serve --tenant-id`)

    def get(self, resource_id: str) -> dict[str, Any] | None: ...

    def put_raw(self, resource_id: str, body: dict[str, Any]) -> None: ...

    def remove(self, resource_id: str) -> None: ...

    def find(self, type_name: str, under: str = "") -> list[dict[str, Any]]: ...

    def later(self, resource_id: str, seconds: float, lane: str | None,
              fn: Callable[[EngineApi, dict[str, Any]], None]) -> None: ...


@dataclass
class WriteCtx:
    """One PUT/PATCH being applied: hooks read `sent`/`existing` and shape `body` in place."""

    engine: EngineApi
    path: ArmPath
    id: str
    method: str
    body: dict[str, Any]
    sent: dict[str, Any]
    existing: dict[str, Any] | None
    caller: str
    now: str
    api_version: str
    extra: dict[str, Any] = field(default_factory=dict)  # hand-over from populate to after_write

    @property
    def created(self) -> bool:
        return self.existing is None

    @property
    def props(self) -> dict[str, Any]:
        p = self.body.get("properties")
        if not isinstance(p, dict):
            p = self.body["properties"] = {}
        return p

    @property
    def sent_props(self) -> dict[str, Any]:
        p = self.sent.get("properties")
        return p if isinstance(p, dict) else {}


@dataclass
class ActionCtx:
    """One POST action on a resource (`target` is the resource the action is on)."""

    engine: EngineApi
    path: ArmPath
    id: str
    action: str
    resource: dict[str, Any] | None
    request: Any
    caller: str
    now: str
    api_version: str


@dataclass
class ActionReply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # An LRO action: the engine adds Azure-AsyncOperation and this many realistic seconds.
    lro_seconds: float | None = None
    # The LRO ends Failed with this ARM error ({"code", "message"}) instead of Succeeded.
    lro_error: dict[str, str] | None = None


@dataclass
class Action:
    handler: Callable[[ActionCtx], ActionReply]
    write: bool  # True when the action changes something (goes to the Activity Log)
    needs_resource: bool = True


Hook = Callable[[WriteCtx], None]


@dataclass
class TypeProfile:
    """How ARM answers for one resource type. Defaults are the generic synchronous behaviour."""

    type: str
    lro: bool = False  # PUT answers with Azure-AsyncOperation and a non-terminal provisioningState
    created: int = 201  # PUT status when the resource is new
    updated: int = 200  # PUT status when it existed
    patch_status: int = 200
    patch_lro: bool = False
    delete_lro: bool = False  # DELETE answers 202 + Azure-AsyncOperation + Location
    delete_location_only: bool = False  # resource groups: 202 + Location only
    delete_status: int = 200
    delete_missing: int | None = 204  # None: a missing resource answers 404
    latency: float = 3.0  # realistic seconds for a write (LRO duration or sync delay)
    latency_fn: Callable[[dict[str, Any]], float] | None = None
    delete_latency: float | None = None  # realistic seconds for a delete (default: half of latency)
    provisioning_state: bool = True
    creating_state: str = "Creating"
    updating_state: str = "Updating"
    deleting_state: str = "Deleting"
    keep_location: bool = False  # echo location as sent (e.g. 'Global' on email services)
    has_location: bool = True  # extension resources (locks, budgets) carry no location
    body_type: str | None = None  # the 'type' field when it differs from the path (casing)
    name_fn: Callable[[ArmPath], str] | None = None
    write_only: tuple[str, ...] = ()  # dotted paths accepted on write but never returned
    before_write: Hook | None = None  # may raise ArmError (conflicts), runs before anything changes
    populate: Hook | None = None  # fills server-populated fields and defaults into ctx.body
    after_write: Hook | None = None  # side effects once the body is stored (child resources)
    before_delete: Callable[[EngineApi, dict[str, Any]], None] | None = None  # may raise ArmError (409)
    on_removed: Callable[[EngineApi, dict[str, Any], str], None] | None = None  # (engine, body, now)
    on_settled: Callable[[EngineApi, dict[str, Any]], None] | None = None
    actions: dict[str, Action] = field(default_factory=dict)
    singleton: bool = False  # a collection-shaped path that is one resource (currentbillingfeatures)
    busy_lane: Callable[[str], str | None] | None = None  # one write at a time per lane (PG server)
    busy_code: str = "ServerIsBusy"
    list_fn: Callable[[EngineApi, ArmPath], list[dict[str, Any]]] | None = None
    # A list that honours the query ($filter on role assignments): (engine, path, query) -> items.
    list_query_fn: Callable[[EngineApi, ArmPath, dict[str, str]], list[dict[str, Any]]] | None = None
    methods: frozenset[str] = frozenset({"GET", "PUT", "PATCH", "DELETE", "HEAD"})
    extension: bool = False
    # The body GET returns for a resource that always exists (PG configurations, billing features).
    default_body: Callable[[EngineApi, ArmPath], dict[str, Any] | None] | None = None
    # False: a view of state kept elsewhere (ARM Key Vault secrets live in the data plane's store):
    # GET always asks default_body, a write is never stored as a resource body.
    stored: bool = True
    raw_body: bool = False  # stored as sent, no id/name/type/systemData (currentbillingfeatures)  # attaches at any scope; its container is the scope, not a group

    def duration(self, body: dict[str, Any]) -> float:
        return self.latency_fn(body) if self.latency_fn else self.latency


# ----------------------------------------------------------------------------- helpers for hooks


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def det_hex(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).lower().encode()).hexdigest()


def det_guid(*parts: str) -> str:
    """A GUID derived from the parts: stable across restarts, distinct per resource."""
    return str(uuid.UUID(det_hex(*parts)[:32]))


def fake_ips(resource_id: str, count: int) -> list[str]:
    """Deterministic public-looking IPs derived from the id (20.x.y.z, as App Service uses)."""
    h = det_hex(resource_id, "ips")
    return [f"20.{int(h[i * 6:i * 6 + 2], 16) % 200 + 20}.{int(h[i * 6 + 2:i * 6 + 4], 16)}."
            f"{int(h[i * 6 + 4:i * 6 + 6], 16) % 254 + 1}" for i in range(count)]


def defaults(target: dict[str, Any], values: dict[str, Any]) -> None:
    """Set each key not already present (what the service fills in when the caller leaves it out)."""
    for key, value in values.items():
        if target.get(key) is None:
            target[key] = value


def drop_path(body: dict[str, Any], dotted: str) -> None:
    parts = dotted.split(".")
    cur: Any = body
    for p in parts[:-1]:
        cur = cur.get(p) if isinstance(cur, dict) else None
        if cur is None:
            return
    if isinstance(cur, dict):
        cur.pop(parts[-1], None)


def fill_identity(body: dict[str, Any], resource_id: str, created_at: str, tenant: str = TENANT_ID,
                  existing: dict[str, Any] | None = None, now: str = "") -> None:
    """System/user-assigned identity ids, as ARM fills them: a new principal per creation of the identity.
    `principalId` is read-only (a sent value is ignored). Turning the system-assigned identity off deletes its
    service principal ("Removing a system-assigned identity in this way will also delete it from Microsoft
    Entra ID", learn.microsoft.com/azure/app-service/overview-managed-identity#remove-an-identity), so turning
    it on again creates another one with a new principalId (the same page: an app moved across tenants "needs
    a new identity", got by disabling and re-enabling the feature). `existing` is the body before this write."""
    ident = body.get("identity")
    if not isinstance(ident, dict):
        return
    kind = str(ident.get("type") or "None")
    if "systemassigned" in kind.lower():
        before = (existing or {}).get("identity") or {}
        kept = before.get("principalId") if "systemassigned" in str(before.get("type") or "").lower() else None
        # First creation: derived from the resource's creation; re-enabled later: from the time it was.
        ident["principalId"] = kept or det_guid(resource_id, created_at if existing is None else now, "principal")
        ident.setdefault("tenantId", tenant)
    else:
        ident.pop("principalId", None)
        ident.pop("tenantId", None)
    uai = ident.get("userAssignedIdentities")
    if isinstance(uai, dict):
        for key in list(uai):
            entry = uai[key] if isinstance(uai[key], dict) else {}
            entry.setdefault("principalId", det_guid(key, "principal"))
            entry.setdefault("clientId", det_guid(key, "client"))
            uai[key] = entry


def merge_patch(target: Any, patch: Any, top: bool = True) -> Any:
    """ARM PATCH: objects merge recursively, lists and scalars replace, `tags` replaces whole,
    null removes (RFC 7396)."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif top and key == "tags":
            out[key] = copy.deepcopy(value)
        else:
            out[key] = merge_patch(out.get(key), value, top=False)
    return out
