"""Creates that ARM accepts with 202 and a Location to poll, the resource appearing only when the operation ends
(App Service managed certificates), although the service's REST spec and SDK declare a synchronous 200."""

from __future__ import annotations

import math
from typing import Any, Protocol

from .ids import ArmPath
from .lro import Operation
from .profile import TypeProfile
from .store import Store
from .wire import Reply, Request


class _Engine(Protocol):
    """What an accepted create needs of the engine (engine.Engine), without importing it."""

    base_url: str

    @property
    def store(self) -> Store: ...

    def _new_op(self, kind: str, rid: str, path: ArmPath, body: dict[str, Any], seconds: float, final: str,
                lane: str | None) -> Operation: ...

    def seconds(self, profile: TypeProfile, body: dict[str, Any], kind: str) -> float: ...

    def record(self, req: Request, path: ArmPath, rid: str, status: int, action: str | None = None) -> None: ...

# The body the resource will have, kept on its operation until it ends (Operation.extra).
PENDING = "created_body"


def accept_create(engine: _Engine, req: Request, path: ArmPath, stored_id: str, body: dict[str, Any],
                  profile: TypeProfile, lane: str | None) -> Reply:
    """202 with no body, `Location: <resource id>/operationresults/<id>` and Retry-After, as App Service answers a
    managed certificate's PUT (azure-sdk-for-go#13665 quotes the response: "HTTP/2.0 202 Accepted",
    "Content-Length: 0", "Location: .../providers/Microsoft.Web/certificates/<name>/operationresults/<guid>",
    "Retry-After: 15"; azure-sdk-for-python#34395, azure-rest-api-specs#27962: the SDK raises on it). GET of the
    resource answers 404 until the operation ends (App Service is still issuing the certificate)."""
    op = engine._new_op("put", stored_id, path, body, engine.seconds(profile, body, "put"), "Succeeded", lane)
    op.extra[PENDING] = body
    headers = {"Location": f"{engine.base_url}{stored_id}/operationresults/{op.id}?api-version={req.api_version}"}
    remaining = op.remaining()
    headers["Retry-After"] = str(max(1, min(60, math.ceil(remaining)))) if remaining >= 1.0 else "0"
    engine.record(req, path, stored_id, 202)
    return Reply(202, None, headers, write=True)


def finish(engine: _Engine, op: Operation) -> bool:
    """Store the resource of an accepted create once its operation has ended; True if `op` was one."""
    body = op.extra.get(PENDING)
    if body is None or op.resource_id is None:
        return False
    if op.final_status == "Succeeded":
        engine.store.put(op.resource_id, body)
    return True
