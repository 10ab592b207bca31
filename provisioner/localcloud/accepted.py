"""Creates that ARM accepts with 202 and a Location to poll, the resource appearing only when the operation ends
(App Service managed certificates), although the service's REST spec and SDK declare a synchronous 200."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .ids import ArmPath

if TYPE_CHECKING:
    from .engine import Engine, Reply, Request
    from .lro import Operation
    from .profile import TypeProfile

# The body the resource will have, kept on its operation until it ends (Operation.extra).
PENDING = "created_body"


def accept_create(engine: Engine, req: Request, path: ArmPath, stored_id: str, body: dict[str, Any],
                  profile: TypeProfile, lane: str | None) -> Reply:
    """202 with no body, `Location: <resource id>/operationresults/<id>` and Retry-After, as App Service answers a
    managed certificate's PUT (azure-sdk-for-go#13665 quotes the response: "HTTP/2.0 202 Accepted",
    "Content-Length: 0", "Location: .../providers/Microsoft.Web/certificates/<name>/operationresults/<guid>",
    "Retry-After: 15"; azure-sdk-for-python#34395, azure-rest-api-specs#27962: the SDK raises on it). GET of the
    resource answers 404 until the operation ends (App Service is still issuing the certificate)."""
    from .engine import Reply

    op = engine._new_op("put", stored_id, path, body, engine.seconds(profile, body, "put"), "Succeeded", lane)
    op.extra[PENDING] = body
    headers = {"Location": f"{engine.base_url}{stored_id}/operationresults/{op.id}?api-version={req.api_version}"}
    remaining = op.remaining()
    headers["Retry-After"] = str(max(1, min(60, math.ceil(remaining)))) if remaining >= 1.0 else "0"
    engine._record(req, path, stored_id, 202)
    return Reply(202, None, headers, write=True)


def finish(engine: Engine, op: Operation) -> bool:
    """Store the resource of an accepted create once its operation has ended; True if `op` was one."""
    body = op.extra.get(PENDING)
    if body is None or op.resource_id is None:
        return False
    if op.final_status == "Succeeded":
        engine.store.put(op.resource_id, body)
    return True
