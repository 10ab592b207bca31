"""ARM error bodies: the one exception type every layer raises to answer with an ARM error."""

from __future__ import annotations

from typing import Any


class ArmError(Exception):
    """An error that becomes `{"error": {"code", "message"}}` with the given HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.inner: str | None = None  # Key Vault's innererror.code (ForbiddenByFirewall, ForbiddenByRbac)
        self.details: list[dict[str, Any]] = []  # ARM's error.details (e.g. MissingSubscriptionRegistration's target)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def not_found(resource_id: str, type_name: str = "") -> ArmError:
    what = f"'{type_name}/{resource_id.rsplit('/', 1)[-1]}'" if type_name else f"'{resource_id}'"
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource {what} under resource group was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def group_not_found(group: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")


def bad_request(message: str, code: str = "InvalidRequestContent") -> ArmError:
    return ArmError(400, code, message)


# Default error codes for fault rules that give only a status (ARM's usual code per status).
STATUS_CODES: dict[int, str] = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    409: "Conflict",
    412: "PreconditionFailed",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
