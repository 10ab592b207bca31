"""HTTP layer: auth and api-version checks, faults, latency, control endpoints, the request log."""

from __future__ import annotations

import json
import socket
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .apphosts import is_app_host
from .auth import bearer_token, caller_of
from .errors import ArmError
from .ids import canonical
from .services import LocalHTTPServer, Services
from .wire import Reply, Request

CONTROL = "/_localcloud/"


def _write_flag(method: str, path: str) -> bool:
    if method in ("PUT", "PATCH", "DELETE"):
        return True
    if method == "POST":
        action = path.rsplit("/", 1)[-1].lower()
        return not (action.startswith("list") or action == "checknameavailability")
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK's connection pool reuses connections
    server: LocalHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate small writes: without TCP_NODELAY, Nagle plus the
        # client's delayed ACK adds ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # the request log replaces the stderr access log

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle()

    do_PUT = do_PATCH = do_DELETE = do_POST = do_HEAD = do_OPTIONS = do_GET

    # ------------------------------------------------------------------ request handling
    def _handle(self) -> None:
        started = time.monotonic()
        cloud = self.server.cloud
        method = self.command.upper()
        split = urlsplit(self.path)
        path = canonical(split.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if path.startswith(CONTROL.rstrip("/")):
            self._control(cloud, method, path, raw)
            return
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        if is_app_host(host):
            answer = cloud.apphosts.handle(method, host, split.path, raw, self.headers)
            self._send_raw(answer.status, answer.body, answer.content_type, method)
            return
        token = bearer_token(self.headers.get("Authorization"))
        caller = caller_of(token) if token else ""
        correlation = self.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
        api_version = query.get("api-version", "")
        dataplane = path.lower().startswith("/keyvault/")
        injected = False
        try:
            cloud.request_delay()
            if dataplane:
                reply = cloud.secrets.handle(method, path, query, raw, token, cloud,
                                             self.headers.get("X-Forwarded-For") or cloud.client_ip)
            else:
                if token is None:
                    raise ArmError(401, "AuthenticationFailed",
                                   "Authentication failed. The 'Authorization' header is missing.",
                                   {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/'
                                                        'common", error="invalid_token"'})
                if not api_version:
                    raise ArmError(400, "MissingApiVersionParameter",
                                   "The api-version query parameter (?api-version=) is required for all requests.")
                fault = cloud.faults.match(method, path)
                if fault is not None and fault.status is not None:
                    injected = True
                    reply = Reply(fault.status, fault.body, fault.headers, write=_write_flag(method, path))
                else:
                    reply = cloud.engine.handle(Request(
                        method, path, query, raw, caller, correlation,
                        self.headers.get("x-ms-client-request-id") or "", api_version, fault))
                if reply.delay > 0:
                    time.sleep(reply.delay)
        except ArmError as err:
            reply = Reply(err.status, err.body(), err.headers, write=_write_flag(method, path))
        except Exception as exc:  # a bug in the local cloud must still answer like ARM would
            traceback.print_exc(file=sys.stderr)
            reply = Reply(500, {"error": {"code": "InternalServerError", "message": f"local cloud: {exc!r}"}},
                          write=_write_flag(method, path))
        # Logged before answering, so a client that has its response also finds its log line.
        cloud.log.add({
            "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "method": method,
            "path": path,
            "api_version": api_version or None,
            "status": reply.status,
            "write": reply.write,
            "caller": caller or None,
            "user_agent": self.headers.get("User-Agent"),
            "correlation_id": correlation,
            "client_request_id": self.headers.get("x-ms-client-request-id"),
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "kind": "dataplane" if dataplane else "arm",
            "fault": injected,
        })
        self._send(reply, method, correlation)

    def _send(self, reply: Reply, method: str, correlation: str) -> None:
        data = b"" if reply.body is None or method == "HEAD" else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        headers = {"x-ms-request-id": str(uuid.uuid4()), "x-ms-correlation-request-id": correlation,
                   "Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "-1"}
        if method in ("PUT", "PATCH", "DELETE", "POST"):
            headers["x-ms-ratelimit-remaining-subscription-writes"] = "199"
        else:
            headers["x-ms-ratelimit-remaining-subscription-reads"] = "249"
        if data:
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers.update(reply.headers)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _send_raw(self, status: int, data: bytes, content_type: str, method: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    # ------------------------------------------------------------------ control endpoints
    def _control(self, cloud: Services, method: str, path: str, raw: bytes) -> None:
        what = path[len(CONTROL):].strip("/").lower()
        try:
            payload = json.loads(raw) if raw.strip() else None
            if what == "state" and method == "GET":
                reply = Reply(200, cloud.state())
            elif what == "state" and method == "PUT":
                cloud.set_state(payload or {})
                reply = Reply(200, {"resources": len(payload or {})})
            elif what == "faults" and method == "POST":
                cloud.add_fault(payload if isinstance(payload, dict) else {})
                reply = Reply(201, {"faults": len(cloud.faults.rules())})
            elif what == "faults" and method == "GET":
                reply = Reply(200, cloud.faults.rules())
            elif what == "faults" and method == "DELETE":
                cloud.clear_faults()
                reply = Reply(200, {"faults": 0})
            elif what == "requests" and method == "GET":
                reply = Reply(200, cloud.requests())
            elif what == "endpoints" and method == "GET":
                # Where this cloud serves data planes (Azure names them in primaryEndpoints / vaultUri).
                reply = Reply(200, {"blob": cloud.blob_url, "keyvault": cloud.tls_url, "client_ip": cloud.client_ip,
                                    "postgres": cloud.pg.endpoints()})  # fqdn -> 127.0.0.1:port (pg_engine.py)
            elif what == "activity" and method == "GET":
                reply = Reply(200, cloud.engine.activity.events())
            else:
                reply = Reply(404, {"error": {"code": "NotFound", "message": f"No control endpoint {method} {path}"}})
        except (ValueError, TypeError) as exc:
            reply = Reply(400, {"error": {"code": "InvalidRequestContent", "message": str(exc)}})
        self._send(reply, method, str(uuid.uuid4()))
