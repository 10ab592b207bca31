"""The ARM engine: generic PUT/PATCH/GET/DELETE/list/POST semantics over the store, driven by profiles."""

from __future__ import annotations

import copy
import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from . import locks
from .activity import ActivityLog
from .errors import ArmError, bad_request, group_not_found, not_found
from .ids import ArmPath, cached_parse, canonical_id, normalize_location, type_of
from .lro import Operation, Operations
from .profile import TENANT_ID, ActionCtx, TypeProfile, WriteCtx, drop_path, merge_patch, now_iso
from .store import Store
from .types import profile_for
from .wire import Reply, Request


class Engine:
    """All state changes happen under one lock; the HTTP layer sleeps outside it."""

    def __init__(self, store: Store, activity: ActivityLog, latency: str = "fast", time_scale: float = 1.0,
                 tenant_id: str = TENANT_ID) -> None:
        if latency not in ("fast", "realistic"):
            raise ValueError("latency must be 'fast' or 'realistic'")
        self.store = store
        self.activity = activity
        self.ops = Operations()
        self.latency = latency
        self.time_scale = time_scale
        self.base_url = ""
        self.vault_base_url = ""
        self.tenant_id = tenant_id
        self.lock = threading.RLock()
        # Purging a deleted vault also purges its data-plane secrets (set by LocalCloud).
        self.purge_vault_secrets: Callable[[str], None] | None = None
        self.secret_store: Any = None  # the Key Vault data plane's SecretStore (set by LocalCloud)
        self.kv_references: dict[str, list[dict[str, Any]]] = {}  # site id -> last resolution (types/web_kvrefs.py)

    # ------------------------------------------------------------------ EngineApi (used by hooks)
    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self.store.get(resource_id)

    def put_raw(self, resource_id: str, body: dict[str, Any]) -> None:
        self.store.put(resource_id, body)

    def remove(self, resource_id: str) -> None:
        self._remove_tree(resource_id)

    def find(self, type_name: str, under: str = "") -> list[dict[str, Any]]:
        from .ids import is_under

        want = type_name.lower()
        return [b for i, b in self.store.items() if type_of(i).lower() == want and (not under or is_under(i, under))]

    def later(self, resource_id: str, seconds: float, lane: str | None,
              fn: Callable[[Any, dict[str, Any]], None]) -> None:
        """Change a resource after `seconds` (realistic, scaled; at once under fast latency) while holding
        `lane` busy: a server that keeps working after its own operation has ended."""
        path = cached_parse(resource_id)
        body = self.store.get(resource_id) or {}
        scaled = 0.0 if self.latency == "fast" else seconds * self.time_scale
        op = self._new_op("later", resource_id, path, body, scaled, "Succeeded", lane)
        op.extra["fn"] = fn

    # ------------------------------------------------------------------ lifecycle
    def settle(self) -> None:
        """Finish every operation whose time has come (lazily, on each request and state read)."""
        with self.lock:
            self._finish_due()
            self.store.save()

    def _finish_due(self) -> None:
        # Finishing one operation may start another that is already due (`later` under fast latency).
        while due := self.ops.due(time.time()):
            for op in due:
                self._finish(op)

    def seconds(self, profile: TypeProfile, body: dict[str, Any], kind: str) -> float:
        if self.latency == "fast":
            return 0.0
        if kind == "delete" and profile.delete_latency is not None:
            return profile.delete_latency * self.time_scale
        base = profile.duration(body)
        return base * (0.5 if kind in ("delete", "patch") else 1.0) * self.time_scale

    def handle(self, req: Request) -> Reply:
        with self.lock:
            self._finish_due()
            try:
                return self._dispatch(req)
            finally:
                self.store.save()

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, req: Request) -> Reply:
        from . import routes

        special = routes.route(self, req)
        if special is not None:
            return special
        if req.method == "POST":
            return self._post(req)
        path = cached_parse(req.path)
        profile = profile_for(path.full_type)
        if req.method not in profile.methods:
            raise ArmError(405, "MethodNotAllowed", f"The method '{req.method}' is not allowed on '{path.full_type}'.")
        if path.is_collection and not profile.singleton:
            if req.method != "GET":
                raise ArmError(405, "MethodNotAllowed", f"The method '{req.method}' is not allowed on a collection.")
            if profile.list_query_fn is not None:
                self._require_container(path)
                return Reply(200, {"value": profile.list_query_fn(self, path, req.query)})
            return Reply(200, {"value": self._list(path, profile)})
        if req.method in ("GET", "HEAD"):
            return self._get(req, path, profile)
        if req.method == "DELETE":
            return self._delete(req, path, profile)
        if req.method in ("PUT", "PATCH"):
            return self._write(req, path, profile)
        raise ArmError(405, "MethodNotAllowed", f"The method '{req.method}' is not supported.")

    def _require_container(self, path: ArmPath) -> None:
        if path.subscription and path.resource_group and not path.is_group:
            group = f"/subscriptions/{path.subscription}/resourceGroups/{path.resource_group}"
            if self.store.get(group) is None:
                raise group_not_found(path.resource_group)
        parent = path.parent_id
        implicit = parent.lower().split("/")[-2:-1] == ["locations"]  # e.g. .../locations/{loc}/deletedVaults
        if parent.count("/") > 4 and not path.is_group and not implicit and self.store.get(parent) is None:
            # The scope /subscriptions/{s}/resourceGroups/{g} is checked above; below it the
            # parent (or the scope of an extension resource) must exist.
            raise ArmError(404, "ParentResourceNotFound",
                           f"Can not perform requested operation on nested resource. Parent resource "
                           f"'{parent}' not found.")

    def _get(self, req: Request, path: ArmPath, profile: TypeProfile) -> Reply:
        body = self.store.get(path.path) if profile.stored else None
        if body is None and profile.default_body is not None:
            self._require_container(path)
            body = profile.default_body(self, path)
        if body is None:
            if req.method == "HEAD":
                return Reply(404)
            if path.is_group:
                raise group_not_found(path.name)
            self._require_container(path)
            raise not_found(path.path, path.full_type)
        return Reply(204 if req.method == "HEAD" else 200, None if req.method == "HEAD" else body)

    def _list(self, path: ArmPath, profile: TypeProfile) -> list[dict[str, Any]]:
        from .ids import is_under

        if profile.list_fn is not None:
            return profile.list_fn(self, path)
        self._require_container(path)
        want, scope = path.full_type.lower(), path.parent_id
        out = []
        for rid, body in self.store.items():
            try:
                p = cached_parse(rid)
            except ArmError:
                continue
            if p.full_type.lower() == want and not p.is_collection and is_under(p.parent_id, scope):
                out.append(body)
        return out

    # ------------------------------------------------------------------ writes
    def _json(self, req: Request, required: bool = True) -> Any:
        if not req.body.strip():
            if required:
                raise bad_request("The request content was invalid and could not be deserialized: "
                                  "the request body is empty.")
            return None
        try:
            return json.loads(req.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(f"The request content was invalid and could not be deserialized: '{exc}'.") from exc

    def _check_busy(self, profile: TypeProfile, rid: str, method: str) -> str | None:
        running = self.ops.running_for(rid)
        if running is not None and running.kind in ("put", "patch") and method in ("PUT", "PATCH"):
            raise ArmError(409, "AnotherOperationInProgress",
                           f"An operation is already in progress on '{rid}'. Retry when it has finished.")
        lane = profile.busy_lane(rid) if profile.busy_lane else None
        if lane and self.ops.running_in_lane(lane) is not None:
            raise ArmError(409, profile.busy_code,
                           f"Server '{lane.rsplit('/', 1)[-1]}' is busy with another operation. "
                           "Please try your operation later.")
        return lane

    def _write(self, req: Request, path: ArmPath, profile: TypeProfile) -> Reply:
        rid = path.path
        sent = self._json(req)
        if not isinstance(sent, dict):
            raise bad_request("The request content was invalid and could not be deserialized: expected an object.")
        existing = self.store.get(rid) if profile.stored else None
        if existing is None and profile.default_body is not None:
            self._require_container(path)
            existing = profile.default_body(self, path)
        if req.method == "PATCH" and existing is None:
            if path.is_group:
                raise group_not_found(path.name)
            self._require_container(path)
            raise not_found(rid, path.full_type)
        self._require_container(path)
        locks.check(self.store, rid, "write", path.full_type)
        lane = self._check_busy(profile, rid, req.method)
        now = now_iso()
        body = merge_patch(copy.deepcopy(existing), sent) if req.method == "PATCH" else copy.deepcopy(sent)
        stored_id = canonical_id(self.store.stored_id(rid) or rid)
        ctx = WriteCtx(self, path, stored_id, req.method, body, sent, existing, req.caller, now, req.api_version)
        if profile.before_write:
            profile.before_write(ctx)
        self._shape(ctx, profile)
        lro = profile.lro if req.method == "PUT" else profile.patch_lro
        headers: dict[str, str] = {}
        if lro and profile.provisioning_state:
            ctx.props["provisioningState"] = profile.creating_state if ctx.created else profile.updating_state
        if profile.stored:
            self.store.put(stored_id, ctx.body)
        if profile.after_write:
            profile.after_write(ctx)
        if lro:
            kind = "put" if req.method == "PUT" else "patch"
            final = req.fault.lro_status if req.fault and req.fault.lro_status else "Succeeded"
            op = self._new_op(kind, stored_id, path, ctx.body, self.seconds(profile, ctx.body, kind), final, lane)
            headers.update(self._op_headers(op, req.api_version, location=False))
        status = (profile.created if ctx.created else profile.updated) if req.method == "PUT" else profile.patch_status
        self.record(req, path, stored_id, status)
        delay = 0.0 if lro or self.latency == "fast" else profile.latency * self.time_scale
        return Reply(status, ctx.body, headers, write=True, delay=delay)

    def _shape(self, ctx: WriteCtx, profile: TypeProfile) -> None:
        """Turn the requested body into the body GET returns: server fields first, hooks, then
        systemData; read-only fields the caller sent are ignored, as ARM does."""
        body, path = ctx.body, ctx.path
        if profile.raw_body:
            if profile.populate:
                profile.populate(ctx)
            return
        for key in ("id", "name", "type", "systemData", "etag"):
            body.pop(key, None)
        name = profile.name_fn(path) if profile.name_fn else path.name
        shaped: dict[str, Any] = {"id": ctx.id, "name": name, "type": profile.body_type or path.full_type}
        if profile.has_location:
            loc = body.get("location")
            if loc is None and ctx.existing is not None:
                loc = ctx.existing.get("location")
            if loc is not None:
                shaped["location"] = loc if profile.keep_location else normalize_location(loc)
        shaped.update({k: v for k, v in body.items() if k not in shaped and k != "location"})
        ctx.body = shaped
        if profile.provisioning_state:
            ctx.props["provisioningState"] = "Succeeded"
        if profile.populate:
            profile.populate(ctx)
        for dotted in profile.write_only:
            drop_path(ctx.body, dotted)
        old = (ctx.existing or {}).get("systemData") or {}
        ctx.body["systemData"] = {
            "createdBy": old.get("createdBy", ctx.caller),
            "createdByType": old.get("createdByType", "User" if "@" in ctx.caller else "Application"),
            "createdAt": old.get("createdAt", ctx.now),
            "lastModifiedBy": ctx.caller,
            "lastModifiedByType": "User" if "@" in ctx.caller else "Application",
            "lastModifiedAt": ctx.now,
        }

    def _delete(self, req: Request, path: ArmPath, profile: TypeProfile) -> Reply:
        rid = path.path
        existing = self.store.get(rid)
        if existing is None:
            running = self.ops.running_for(rid)
            if running is not None and running.kind == "delete":
                return Reply(202, None, self._op_headers(running, req.api_version, location=True), write=True)
            if profile.delete_missing is None:
                if path.is_group:
                    raise group_not_found(path.name)
                raise not_found(rid, path.full_type)
            return Reply(profile.delete_missing, None, write=True)
        locks.check(self.store, rid, "delete", path.full_type)
        if profile.before_delete:
            profile.before_delete(self, existing)
        lane = self._check_busy(profile, rid, "DELETE")
        stored_id = self.store.stored_id(rid) or rid
        if not (profile.delete_lro or profile.delete_location_only):
            self._remove_tree(rid)
            self.record(req, path, stored_id, profile.delete_status)
            delay = 0.0 if self.latency == "fast" else profile.latency * 0.5 * self.time_scale
            return Reply(profile.delete_status, None, write=True, delay=delay)
        if profile.provisioning_state and isinstance(existing.get("properties"), dict):
            existing["properties"]["provisioningState"] = profile.deleting_state
            self.store.put(rid, existing)
        final = req.fault.lro_status if req.fault and req.fault.lro_status else "Succeeded"
        op = self._new_op("delete", stored_id, path, existing, self.seconds(profile, existing, "delete"), final, lane)
        headers = self._op_headers(op, req.api_version, location=True, async_header=not profile.delete_location_only)
        self.record(req, path, stored_id, 202)
        return Reply(202, None, headers, write=True)

    def _remove_tree(self, resource_id: str) -> None:
        now = now_iso()
        for rid in self.store.tree(resource_id):
            body = self.store.get(rid)
            self.store.delete(rid)
            profile = profile_for(type_of(rid))
            if body is not None and profile.on_removed:
                profile.on_removed(self, body, now)

    # ------------------------------------------------------------------ POST actions
    def _post(self, req: Request) -> Reply:
        target, _, action_name = req.path.rpartition("/")
        path = cached_parse(target)
        profile = profile_for(path.full_type)
        action = next((a for n, a in profile.actions.items() if n.lower() == action_name.lower()), None)
        if action is None:
            raise ArmError(400, "UnsupportedActionByLocalCloud",
                           f"The local cloud does not implement POST '{action_name}' on '{path.full_type}'.")
        resource = self.store.get(path.path)
        if action.needs_resource and resource is None:
            if path.is_group:
                raise group_not_found(path.name)
            self._require_container(path)
            raise not_found(path.path, path.full_type)
        locks.check(self.store, path.path, "action", path.full_type)
        stored_id = self.store.stored_id(path.path) or path.path
        ctx = ActionCtx(self, path, stored_id, action_name, resource, self._json(req, required=False),
                        req.caller, now_iso(), req.api_version)
        answer = action.handler(ctx)
        headers = dict(answer.headers)
        if answer.lro_seconds is not None:
            seconds = 0.0 if self.latency == "fast" else answer.lro_seconds * self.time_scale
            final = "Failed" if answer.lro_error else "Succeeded"
            op = self._new_op("action", stored_id, path, resource or {}, seconds, final, None)
            op.error = answer.lro_error
            headers.update(self._op_headers(op, req.api_version, location=False))
        if action.write and answer.status < 300:
            self.record(req, path, stored_id, answer.status, action=action_name)
        return Reply(answer.status, answer.body, headers, write=action.write)

    # ------------------------------------------------------------------ operations
    def _new_op(self, kind: str, rid: str, path: ArmPath, body: dict[str, Any], seconds: float,
                final: str, lane: str | None) -> Operation:
        location = normalize_location(body.get("location") or "global")
        namespace = "Microsoft.Resources" if path.is_group else path.namespace
        return self.ops.new(kind, rid, path.subscription or "", namespace, str(location), seconds, final, lane)

    def _op_headers(self, op: Operation, api_version: str, location: bool, async_header: bool = True) -> dict[str, str]:
        headers = {}
        if async_header:
            headers["Azure-AsyncOperation"] = f"{self.base_url}{op.status_path}?api-version={api_version}"
        if location:
            headers["Location"] = f"{self.base_url}{op.result_path}?api-version={api_version}"
        remaining = op.remaining()
        if remaining >= 1.0:
            headers["Retry-After"] = str(min(60, math.ceil(remaining)))
        return headers

    def _finish(self, op: Operation) -> None:
        if op.resource_id is None:
            return
        body = self.store.get(op.resource_id)
        profile = profile_for(type_of(op.resource_id))
        if op.kind == "later":
            if body is not None:
                op.extra["fn"](self, body)
                self.store.put(op.resource_id, body)
            return
        if op.kind == "delete":
            if op.final_status == "Succeeded":
                self._remove_tree(op.resource_id)
            elif body is not None and isinstance(body.get("properties"), dict):
                body["properties"]["provisioningState"] = "Succeeded"
                self.store.put(op.resource_id, body)
            return
        if body is None:
            return
        if op.kind in ("put", "patch") and profile.provisioning_state and isinstance(body.get("properties"), dict):
            body["properties"]["provisioningState"] = op.final_status
        if profile.on_settled and op.final_status == "Succeeded":
            profile.on_settled(self, body)
        self.store.put(op.resource_id, body)

    def record(self, req: Request, path: ArmPath, rid: str, status: int, action: str | None = None) -> None:
        self.activity.record(path, canonical_id(rid), req.method, req.caller, req.correlation_id,
                             req.client_request_id, now_iso(), action=action, status_code=status)

    # ------------------------------------------------------------------ whole-state access
    def state(self) -> dict[str, dict[str, Any]]:
        self.settle()
        with self.lock:
            return self.store.snapshot()

    def set_state(self, state: dict[str, dict[str, Any]]) -> None:
        if not isinstance(state, dict) or not all(isinstance(v, dict) for v in state.values()):
            raise ValueError("state must map ARM ids to resource bodies")
        with self.lock:
            self.store.replace(state)
            self.store.save()
