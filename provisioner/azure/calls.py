"""SDK calls and their errors: run one operation, read raw JSON, wait on a poller, map failures onto our tree."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from provisioner.core.errors import AzureCallError
from provisioner.core.model import CLEAR

# ARM's AuthorizationFailed message names the action and the scope ("The client 'x' with object id 'y' does
# not have authorization to perform action 'Microsoft.Resources/subscriptions/resourcegroups/read' over scope
# '/subscriptions/…/resourcegroups/…' or the scope is invalid." — e.g. pulumi/pulumi#8993, Azure/azure-cli#32165).
_AUTHZ = re.compile(r"perform action '(?P<action>[^']+)' over scope '(?P<scope>[^']+)'")
# The Key Vault data plane's 403 (ForbiddenByRbac) lists them on lines of their own: "Action: '...'" and
# "Resource: '...'" (hashicorp/terraform-provider-azurerm#27817, Azure/azure-cli#15528).
_KV_ACTION = re.compile(r"Action: '([^']+)'")
_KV_RESOURCE = re.compile(r"Resource: '([^']+)'")


# ARM error codes that mean "try again shortly", which azure-core's RetryPolicy does not retry (409s).
TRANSIENT_CODES = {
    "AnotherOperationInProgress",
    "ServerIsBusy",
    # PostgreSQL Flexible Server answers child writes with ServerBusy while the server is Updating
    # (azure-rest-api-specs postgresql common error codes; azure-sdk-facts: PG settles via `state`).
    "ServerBusy",
    "OperationInProgress",
    "RetryableError",
    "ReferencedResourceNotProvisioned",
    # An LRO that ends Canceled was stopped by the platform, not refused: re-PUT (ARCHITECTURE.md, Applying).
    "OperationCanceled",
    "Canceled",
}
# A plain 409 `Conflict` is permanent (a name taken, a plan full, a purge-protected vault): retrying it until
# the deadline only delays the failure. Only its busy/in-progress wording is transient (App Service answers
# "Cannot modify this site because another operation is in progress" under code Conflict).
_BUSY_WORDING = re.compile(r"in progress|is busy|try again later|retry (when|later)", re.IGNORECASE)


def is_transient(status: int | None, code: str | None, message: str) -> bool:
    """Pure: whether an ARM error answer is worth retrying at the step level."""
    if code in TRANSIENT_CODES or status in (429, 502, 503, 504):
        return True
    return status == 409 and code in (None, "", "Conflict") and bool(_BUSY_WORDING.search(message or ""))


def raw(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any] | None:
    """Call a GET-like SDK operation and return the raw JSON body, or None when it does not exist."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return call(operation, *args, cls=lambda response, obj, headers: _json(response.http_response), **kwargs)
    except AzureCallError as exc:
        if exc.status == 404:
            return None
        raise
    except ResourceNotFoundError:
        return None


def _json(http_response: Any) -> Any:
    # Multi-API clients (authorization 4.0) hand back the legacy transport response: text(), no json().
    if hasattr(http_response, "json"):
        return http_response.json()
    text = http_response.text()
    return json.loads(text) if text else None


def wait(poller: Any) -> Any:
    """Wait for a long-running operation; a Failed/Canceled LRO raises like any other call."""
    return call(poller.result)


def call(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one SDK call, mapping azure-core errors onto our error tree (message never includes bodies)."""
    from azure.core.exceptions import AzureError, HttpResponseError, ServiceRequestError

    args = tuple(_json_body(a) for a in args)
    kwargs = {k: _json_body(v) for k, v in kwargs.items()}
    try:
        return operation(*args, **kwargs)
    except HttpResponseError as exc:
        code = getattr(getattr(exc, "error", None), "code", None)
        status = exc.status_code
        message = getattr(getattr(exc, "error", None), "message", None) or exc.reason or str(exc).splitlines()[0]
        retryable = is_transient(status, code, message)
        if status is not None and status < 300:
            # A long-running operation that ended Failed/Canceled: the poll itself answered 200, the operation's
            # error is what failed (azure-core raises it as an HttpResponseError of the polling response).
            text = f"the operation failed ({code or 'no code'}): {message}"
        else:
            text = permission_message(status, code, message) or f"{status} {code or ''}: {message}".strip()
        raise AzureCallError(text, code=code, status=status, retryable=retryable) from None
    except ServiceRequestError as exc:
        raise AzureCallError(f"cannot reach the endpoint: {_short(str(exc))}", retryable=True) from None
    except AzureError as exc:
        raise AzureCallError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def _has_clear(value: Any) -> bool:
    if value is CLEAR:
        return True
    if isinstance(value, dict):
        return any(_has_clear(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_clear(v) for v in value)
    return False


def _wire_json(value: Any) -> Any:
    """CLEAR -> null; other None values left out, as an SDK model would."""
    if value is CLEAR:
        return None
    if isinstance(value, dict):
        return {k: _wire_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_wire_json(v) for v in value]
    return value


def _json_body(value: Any) -> Any:
    """A body that clears members (CLEAR) goes as JSON bytes (the operations accept IO[bytes] bodies): an SDK
    model would drop the nulls that do the clearing. Any other argument is passed as it is."""
    if isinstance(value, dict) and _has_clear(value):
        import io
        import json

        return io.BytesIO(json.dumps(_wire_json(value)).encode())
    return value


def permission_message(status: int | None, code: str | None, message: str) -> str | None:
    """One line for a 401/403: which permission is missing on which scope, and a role that grants it."""
    if status == 403 or code in ("AuthorizationFailed", "ForbiddenByRbac"):
        found = _AUTHZ.search(message or "")
        kv_action, kv_resource = _KV_ACTION.search(message or ""), _KV_RESOURCE.search(message or "")
        if found or (kv_action and kv_resource):
            action, scope = (found["action"], found["scope"]) if found else (kv_action[1], kv_resource[1])  # type: ignore[index]
            return (f"permission denied: {action} on {scope}; grant a role that includes it "
                    f"(e.g. {_role_for(action)}) at that scope")
        return f"permission denied ({code or status}): {(message or '').splitlines()[0] if message else ''}".rstrip(": ")
    if status == 401:
        return f"the credential was refused ({code or 401}): sign in again (`az login`) or check the service principal"
    return None


def _role_for(action: str) -> str:
    lower = action.lower()
    if lower.startswith("microsoft.keyvault/vaults/secrets/"):
        return "Key Vault Secrets Officer"
    if lower.endswith("/read"):
        return "Reader"
    if lower.startswith("microsoft.authorization/"):
        return "User Access Administrator or Owner"
    return "Contributor"


def _short(text: str) -> str:
    """The first line, without urllib3's object reprs: '... Connection refused' rather than a page."""
    line = text.splitlines()[0] if text else ""
    found = re.search(r"\[Errno -?\d+\] ([^')\]]+)", line)
    return found.group(1).strip() if found else line[:200]
