"""Blob data plane subset for the run lock: Put Blob, Get Blob Properties, Set Blob Metadata, Lease Blob.

Behaviour follows the Azure Storage REST reference, and tests/localcloud/test_blob_lease.py runs the
same scenarios against Azurite (the real emulator) to check parity:
- Lease Blob: https://learn.microsoft.com/rest/api/storageservices/lease-blob (15-60 s or infinite;
  acquire/renew/change/release/break; "Lease states and actions" table in
  MicrosoftDocs/azure-docs includes/storage-dev-guides/storage-dev-guide-blob-lease.md:
  Available: acquire; Leased: acquire (same id), renew, change, release, break; Expired: acquire, renew,
  release, break; Breaking: release, break; Broken: acquire, release, break).
- Put Blob / Set Blob Metadata on a leased blob need the active lease id (412 LeaseIdMissing /
  LeaseIdMismatchWithBlobOperation), https://learn.microsoft.com/rest/api/storageservices/put-blob.
- Get Blob Properties returns x-ms-meta-*, x-ms-lease-status/state/duration,
  https://learn.microsoft.com/rest/api/storageservices/get-blob-properties.
- Error codes: https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .store import read_json, write_json_atomic

MIN_LEASE, MAX_LEASE = 15, 60


class BlobError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class BlobReply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    write: bool = True


def _lease_state(blob: dict[str, Any], now: float) -> str:
    """available | leased | expired | breaking | broken, as of `now`."""
    lease = blob.get("lease")
    if not lease:
        return "available"
    if lease["state"] == "leased":
        return "leased" if lease["expires"] is None or lease["expires"] > now else "expired"
    return "breaking" if lease["break_at"] > now else "broken"


def _http_date(ts: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(ts))


class BlobStore:
    """Blobs by (account, container, name); metadata and lease only (the lock blob holds no data).
    Persisted next to the state file so a lease outlives a restart of the local cloud, as in Azure."""

    def __init__(self, path: Path | None = None, clock: Any = time.time) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._blobs: dict[str, dict[str, Any]] = read_json(path, {})

    def _save(self) -> None:
        if self.path is not None:
            write_json_atomic(self.path, self._blobs)

    @staticmethod
    def key(account: str, container: str, name: str) -> str:
        return f"{account.lower()}/{container.lower()}/{name}"

    def handle(self, method: str, key: str, comp: str | None, headers: dict[str, str]) -> BlobReply:
        with self._lock:
            now = self.clock()
            blob = self._blobs.get(key)
            if method == "HEAD" or (method == "GET" and comp is None):
                return self._properties(blob, now)
            if method != "PUT":
                raise BlobError(405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.")
            if comp == "lease":
                reply = self._lease(key, blob, now, headers)
            elif comp == "metadata":
                reply = self._set_metadata(blob, now, headers)
            elif comp is None:
                reply = self._put(key, blob, now, headers)
            else:
                raise BlobError(400, "UnsupportedQueryParameter", f"The local cloud does not serve comp={comp}.")
            self._save()
            return reply

    # ------------------------------------------------------------------ blob operations
    def _properties(self, blob: dict[str, Any] | None, now: float) -> BlobReply:
        if blob is None:
            raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
        state = _lease_state(blob, now)
        headers = {"Content-Length": "0", "Content-Type": blob.get("content_type", "application/octet-stream"),
                   "ETag": blob["etag"], "Last-Modified": _http_date(blob["modified"]),
                   "x-ms-creation-time": _http_date(blob["created"]), "x-ms-blob-type": "BlockBlob",
                   "x-ms-lease-status": "locked" if state in ("leased", "breaking") else "unlocked",
                   "x-ms-lease-state": state, "x-ms-server-encrypted": "true", "Accept-Ranges": "bytes"}
        if state == "leased":
            headers["x-ms-lease-duration"] = "infinite" if blob["lease"]["expires"] is None else "fixed"
        headers.update({f"x-ms-meta-{k}": v for k, v in blob.get("metadata", {}).items()})
        return BlobReply(200, headers, write=False)

    def _check_write(self, blob: dict[str, Any] | None, now: float, headers: dict[str, str]) -> None:
        """A write to a locked blob needs its lease id; a write to an expired/broken lease ends it."""
        given = headers.get("x-ms-lease-id")
        state = _lease_state(blob, now) if blob else "available"
        if state in ("leased", "breaking"):
            assert blob is not None
            if not given:
                raise BlobError(412, "LeaseIdMissing",
                                "There is currently a lease on the blob and no lease ID was specified in the request.")
            if given != blob["lease"]["id"]:
                raise BlobError(412, "LeaseIdMismatchWithBlobOperation",
                                "The lease ID specified did not match the lease ID for the blob.")
        elif given:
            raise BlobError(412, "LeaseNotPresentWithBlobOperation", "There is currently no lease on the blob.")
        elif blob is not None and state in ("expired", "broken"):
            blob.pop("lease", None)  # modified after expiry: the old lease id can no longer renew

    def _put(self, key: str, blob: dict[str, Any] | None, now: float, headers: dict[str, str]) -> BlobReply:
        if headers.get("x-ms-blob-type", "").lower() != "blockblob":
            raise BlobError(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: x-ms-blob-type.")
        if headers.get("if-none-match") == "*" and blob is not None:
            raise BlobError(409, "BlobAlreadyExists", "The specified blob already exists.")
        self._check_write(blob, now, headers)
        created = blob["created"] if blob else now
        new: dict[str, Any] = {"created": created, "modified": now, "etag": f'"0x8D{uuid.uuid4().hex[:13].upper()}"',
               "metadata": _metadata(headers), "content_type": headers.get("x-ms-blob-content-type", "application/octet-stream")}
        if blob and blob.get("lease") and _lease_state(blob, now) in ("leased", "breaking"):
            new["lease"] = blob["lease"]
        self._blobs[key] = new
        return BlobReply(201, {"ETag": new["etag"], "Last-Modified": _http_date(now), "x-ms-request-server-encrypted": "true"})

    def _set_metadata(self, blob: dict[str, Any] | None, now: float, headers: dict[str, str]) -> BlobReply:
        if blob is None:
            raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
        self._check_write(blob, now, headers)
        blob["metadata"] = _metadata(headers)
        blob["modified"] = now
        blob["etag"] = f'"0x8D{uuid.uuid4().hex[:13].upper()}"'
        return BlobReply(200, {"ETag": blob["etag"], "Last-Modified": _http_date(now), "x-ms-request-server-encrypted": "true"})

    # ------------------------------------------------------------------ Lease Blob
    def _lease(self, key: str, blob: dict[str, Any] | None, now: float, headers: dict[str, str]) -> BlobReply:
        if blob is None:
            raise BlobError(404, "BlobNotFound", "The specified blob does not exist.")
        action = headers.get("x-ms-lease-action", "").lower()
        state = _lease_state(blob, now)
        lease = blob.get("lease") or {}
        given = headers.get("x-ms-lease-id")
        if action == "acquire":
            duration = _duration(headers.get("x-ms-lease-duration"))
            proposed = headers.get("x-ms-proposed-lease-id") or str(uuid.uuid4())
            if state in ("leased", "breaking") and proposed != lease["id"]:
                raise BlobError(409, "LeaseAlreadyPresent", "There is already a lease present.")
            if state == "breaking":  # its own id (Azurite src/blob/lease/LeaseBreakingState.ts)
                raise BlobError(409, "LeaseIsBreakingAndCannotBeAcquired",
                                "There is already a breaking lease present and it cannot be acquired.")
            blob["lease"] = {"id": proposed, "state": "leased", "duration": duration,
                             "expires": None if duration < 0 else now + duration, "break_at": 0.0}
            return BlobReply(201, {"x-ms-lease-id": proposed, "ETag": blob["etag"], "Last-Modified": _http_date(blob["modified"])})
        if action not in ("renew", "release", "change", "break"):
            raise BlobError(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format: x-ms-lease-action.")
        if state == "available":
            # Renew/release of no lease answer a mismatch, break/change "not present" (as Azurite's
            # LeaseAvailableState, Azure/Azurite src/blob/lease/LeaseAvailableState.ts).
            if action in ("renew", "release"):
                raise BlobError(409, "LeaseIdMismatchWithLeaseOperation",
                                "The lease ID specified did not match the lease ID for the blob.")
            raise BlobError(409, "LeaseNotPresentWithLeaseOperation", "There is currently no lease on the blob.")
        if action == "break":
            period = headers.get("x-ms-lease-break-period")
            remaining = 0.0 if state in ("expired", "broken") else (
                lease["break_at"] - now if state == "breaking" else
                (float("inf") if lease["expires"] is None else lease["expires"] - now))
            wanted = float(_break_period(period)) if period is not None else (0.0 if lease["expires"] is None else remaining)
            left = max(0.0, min(wanted, remaining))
            lease.update(state="breaking", break_at=now + left)
            return BlobReply(202, {"x-ms-lease-time": str(int(left + 0.999)), "ETag": blob["etag"]})
        if not given:
            raise BlobError(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: x-ms-lease-id.")
        if given != lease["id"]:
            raise BlobError(409, "LeaseIdMismatchWithLeaseOperation",
                            "The lease ID specified did not match the lease ID for the blob.")
        if action == "release":
            blob.pop("lease", None)
            return BlobReply(200, {"ETag": blob["etag"]})
        if state in ("breaking", "broken"):
            if action == "renew":
                raise BlobError(409, "LeaseIsBrokenAndCannotBeRenewed", "The lease ID matched, but the lease has been broken explicitly and cannot be renewed.")
            raise BlobError(409, "LeaseIsBreakingAndCannotBeChanged", "The lease ID matched, but the lease is currently in breaking state and cannot be changed.")
        if action == "renew":
            duration = lease["duration"]
            lease.update(state="leased", expires=None if duration < 0 else now + duration)
            return BlobReply(200, {"x-ms-lease-id": lease["id"], "ETag": blob["etag"]})
        if state != "leased":
            raise BlobError(409, "LeaseNotPresentWithLeaseOperation", "There is currently no lease on the blob.")
        changed = headers.get("x-ms-proposed-lease-id")
        if not changed:
            raise BlobError(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: x-ms-proposed-lease-id.")
        lease["id"] = changed
        return BlobReply(200, {"x-ms-lease-id": changed, "ETag": blob["etag"]})


def _metadata(headers: dict[str, str]) -> dict[str, str]:
    return {k[len("x-ms-meta-"):]: v for k, v in headers.items() if k.startswith("x-ms-meta-")}


def _duration(value: str | None) -> int:
    try:
        duration = int(value or "")
    except ValueError:
        duration = 0
    if duration != -1 and not MIN_LEASE <= duration <= MAX_LEASE:
        raise BlobError(400, "InvalidHeaderValue",
                        "The value for one of the HTTP headers is not in the correct format: x-ms-lease-duration "
                        f"(must be -1 or {MIN_LEASE}-{MAX_LEASE}).")
    return duration


def _break_period(value: str) -> int:
    try:
        period = int(value)
    except ValueError:
        period = -1
    if not 0 <= period <= MAX_LEASE:
        raise BlobError(400, "InvalidHeaderValue",
                        "The value for one of the HTTP headers is not in the correct format: x-ms-lease-break-period.")
    return period
