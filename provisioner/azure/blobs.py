"""SDK boundary for the blob data plane: one lock blob and its lease through azure-storage-blob."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provisioner.core.errors import AzureCallError

USER_AGENT = "fundrbolt-provisioner/0.1.0"


@dataclass(frozen=True)
class BlobState:
    """What Get Blob Properties says about the lock blob."""

    lease_state: str  # available | leased | expired | breaking | broken
    lease_status: str  # locked | unlocked
    lease_duration: str | None  # infinite | fixed (only while leased)
    metadata: dict[str, str] = field(default_factory=dict)
    etag: str = ""


def _call(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Map azure-core errors to AzureCallError with the Storage error code (x-ms-error-code)."""
    from azure.core.exceptions import AzureError, HttpResponseError, ServiceRequestError

    try:
        return operation(*args, **kwargs)
    except HttpResponseError as exc:
        code = getattr(exc, "error_code", None) or getattr(getattr(exc, "error", None), "code", None)
        code = getattr(code, "value", code)  # StorageErrorCode is a str enum
        status = exc.status_code
        message = (exc.reason or "").strip() or type(exc).__name__
        raise AzureCallError(f"{status} {code or ''}: {message}".strip(), code=str(code) if code else None,
                             status=status, retryable=status in (408, 429, 500, 502, 503, 504)) from None
    except ServiceRequestError as exc:
        raise AzureCallError(f"cannot reach the blob endpoint: {str(exc).splitlines()[0]}", retryable=True) from None
    except AzureError as exc:
        raise AzureCallError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, retryable=True) from None


class LeaseBlob:
    """A blob used only for its lease and metadata (Terraform's azurerm backend does the same with its
    state blob: hashicorp/terraform internal/backend/remote-state/azure/client.go)."""

    def __init__(self, account_url: str, container: str, name: str, credential: Any, timeout: float = 10.0):
        from azure.storage.blob import BlobClient

        self.url = f"{account_url.rstrip('/')}/{container}/{name}"
        # Few quick retries: the renewal loop has its own deadline (the lease period), and a hung call
        # must not outlive it.
        self._blob = BlobClient(account_url, container, name, credential=credential, user_agent=USER_AGENT,
                                retry_total=2, connection_timeout=timeout, read_timeout=timeout)

    def _lease(self, lease_id: str) -> Any:
        from azure.storage.blob import BlobLeaseClient

        return BlobLeaseClient(self._blob, lease_id=lease_id)

    def ensure(self) -> bool:
        """Create the empty blob unless it exists (If-None-Match: *); True when this call created it."""
        try:
            _call(self._blob.upload_blob, b"", overwrite=False)
        except AzureCallError as exc:
            if exc.code in ("BlobAlreadyExists", "LeaseIdMissing") or exc.status == 409:
                return False
            raise
        return True

    def acquire(self, lease_id: str, seconds: int) -> None:
        _call(self._lease(lease_id).acquire, lease_duration=seconds)

    def renew(self, lease_id: str) -> None:
        _call(self._lease(lease_id).renew)

    def release(self, lease_id: str) -> None:
        _call(self._lease(lease_id).release)

    def break_lease(self, period: int | None = 0) -> int:
        return int(_call(self._lease("00000000-0000-0000-0000-000000000000").break_lease, lease_break_period=period))

    def set_metadata(self, lease_id: str | None, metadata: dict[str, str]) -> None:
        _call(self._blob.set_blob_metadata, metadata, lease=lease_id)

    def state(self) -> BlobState:
        props = _call(self._blob.get_blob_properties)
        lease = props.lease
        return BlobState(str(lease.state or "available"), str(lease.status or "unlocked"),
                         str(lease.duration) if lease.duration else None, dict(props.metadata or {}),
                         str(props.etag or ""))


def account_key_credential(account: str, key: str) -> dict[str, str]:
    """Shared Key credential (local targets and Azurite); Azure uses the token credential instead."""
    return {"account_name": account, "account_key": key}
