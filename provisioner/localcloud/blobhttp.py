"""The blob endpoint's HTTP layer: path-style URLs as Azurite serves them, Shared Key auth, XML errors.

URLs are `http://127.0.0.1:<port>/<account>/<container>/<blob>` (the emulator form the Lease Blob page
documents). Requests must be signed with one of the account's keys (listKeys), as Azure checks:
https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key. Accounts with
allowSharedKeyAccess = false refuse key auth (KeyBasedAuthenticationNotPermitted).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import time
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .blob import BlobError, BlobReply, BlobStore
from .services import LocalHTTPServer, Services
from .types.storage import account_keys

VERSION = "2025-01-05"
SIGNED = ("content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
          "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range")
CLOCK_SKEW = 15 * 60  # "the request is rejected if the date is more than 15 minutes old" (authorize-with-shared-key)


def string_to_sign(method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], account: str) -> str:
    """Shared Key string-to-sign for the Blob service (version 2009-09-19 and later)."""
    values = dict(headers)
    if values.get("content-length") == "0":
        values["content-length"] = ""
    if "x-ms-date" in values:
        values["date"] = ""
    lines = [method.upper(), *(values.get(h, "") for h in SIGNED)]
    canonical_headers = "".join(f"{k}:{' '.join(v.split())}\n" for k, v in sorted(values.items()) if k.startswith("x-ms-"))
    resource = f"/{account}{path}"
    params: dict[str, list[str]] = {}
    for k, v in query:
        params.setdefault(k.lower(), []).append(unquote(v))
    resource += "".join(f"\n{k}:{','.join(sorted(v))}" for k, v in sorted(params.items()))
    return "\n".join(lines) + "\n" + canonical_headers + resource


def _sign(key: str, text: str) -> str:
    return base64.b64encode(hmac.new(base64.b64decode(key), text.encode(), hashlib.sha256).digest()).decode()


class BlobHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_PUT(self) -> None:  # noqa: N802 - stdlib naming
        self._handle()

    do_GET = do_HEAD = do_DELETE = do_POST = do_PUT

    def _handle(self) -> None:
        started = time.monotonic()
        cloud: Services = self.server.cloud
        method = self.command.upper()
        split = urlsplit(self.path)
        query = parse_qsl(split.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)  # the lock blob's content is never used
        request_id = str(uuid.uuid4())
        segs = [unquote(s) for s in split.path.split("/") if s]
        try:
            if len(segs) < 3:
                raise BlobError(400, "InvalidUri", "The local cloud serves only /<account>/<container>/<blob>.")
            account, container, name = segs[0], segs[1], "/".join(segs[2:])
            self._authorize(cloud, method, split.path, query, headers, account, container)
            comp = dict(query).get("comp")
            reply = cloud.blobs.handle(method, BlobStore.key(account, container, name), comp, headers)
        except BlobError as err:
            reply = BlobReply(err.status, {"x-ms-error-code": err.code}, write=method == "PUT")
            body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{err.code}</Code><Message>{err.message}\n'
                    f"RequestId:{request_id}\nTime:{datetime.now(UTC).isoformat()}</Message></Error>").encode()
        else:
            body = b""
        cloud.log.add({"ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "method": method,
                       "path": split.path, "query": split.query or None, "status": reply.status,
                       "write": reply.write and reply.status < 300, "kind": "blob",
                       "lease_action": headers.get("x-ms-lease-action"),
                       "duration_ms": round((time.monotonic() - started) * 1000, 1)})
        self.send_response(reply.status)
        out = {"x-ms-request-id": request_id, "x-ms-version": VERSION,
               "Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()), **reply.headers}
        if body:
            out["Content-Type"] = "application/xml"
        if method != "HEAD" or body:
            out["Content-Length"] = str(len(body)) if method != "HEAD" else "0"
        for k, v in out.items():
            self.send_header(k, v)
        self.end_headers()
        if body and method != "HEAD":
            self.wfile.write(body)

    def _authorize(self, cloud: Services, method: str, path: str, query: list[tuple[str, str]],
                   headers: dict[str, str], account: str, container: str) -> None:

        found = [(rid, b) for rid, b in cloud.engine.store.items()
                 if rid.lower().endswith(f"/microsoft.storage/storageaccounts/{account.lower()}")]
        if not found:
            raise BlobError(404, "ResourceNotFound", "The specified resource does not exist.")
        rid, body = found[0]
        auth = headers.get("authorization", "")
        if not auth.startswith("SharedKey "):
            raise BlobError(403, "NoAuthenticationInformation",
                            "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
        if (body.get("properties") or {}).get("allowSharedKeyAccess") is False:
            raise BlobError(403, "KeyBasedAuthenticationNotPermitted",
                            "Key based authentication is not permitted on this storage account.")
        stamp = headers.get("x-ms-date") or headers.get("date")
        try:
            when = parsedate_to_datetime(stamp or "").timestamp()
        except (TypeError, ValueError):
            when = 0.0
        if abs(time.time() - when) > CLOCK_SKEW:
            raise BlobError(403, "AuthenticationFailed", "Request date header too old or missing.")
        name, _, signature = auth[len("SharedKey "):].partition(":")
        text = string_to_sign(method, path, query, headers, name)
        if name.lower() != account.lower() or not any(
                hmac.compare_digest(_sign(key, text), signature) for key in account_keys(rid, body)):
            raise BlobError(403, "AuthenticationFailed",
                            "Server failed to authenticate the request. Make sure the value of Authorization header "
                            "is formed correctly including the signature.")
        containers = f"{rid}/blobServices/default/containers/{container}".lower()
        if cloud.engine.store.get(containers) is None:
            raise BlobError(404, "ContainerNotFound", "The specified container does not exist.")
