"""What the local cloud's parts may use of each other: the engine as routes and app hosts see it, the services
the HTTP fronts are given, and the server they run in. Protocols only, so no part imports the one above it."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any, Protocol

from .activity import ActivityLog
from .blob import BlobStore
from .faults import FaultTable
from .lro import Operations
from .profile import EngineApi
from .requestlog import RequestLog
from .store import Store
from .wire import Reply, Request


class ArmEngine(EngineApi, Protocol):
    """The ARM engine as non-resource routes, app hosts and the HTTP fronts use it (engine.Engine). Members are
    read-only properties, so the concrete classes satisfy them covariantly."""

    @property
    def store(self) -> Store: ...

    @property
    def activity(self) -> ActivityLog: ...

    @property
    def ops(self) -> Operations: ...

    @property
    def lock(self) -> threading.RLock: ...

    @property
    def latency(self) -> str: ...

    @property
    def time_scale(self) -> float: ...

    @property
    def kv_references(self) -> dict[str, list[dict[str, Any]]]: ...

    def handle(self, req: Request) -> Reply: ...

    def record(self, req: Request, path: Any, rid: str, status: int, action: str | None = None) -> None: ...


class AppHostsFront(Protocol):
    """The apps' own hosts (apphosts.AppHosts): a site's health path, a static site's content."""

    def handle(self, method: str, host: str, path: str, body: bytes, headers: Any) -> Any: ...


class SecretsFront(Protocol):
    """The Key Vault data plane (keyvault_data.SecretStore)."""

    def handle(self, method: str, path: str, query: dict[str, str], raw: bytes, token: str | None,
               services: Services, client_ip: str = "") -> Reply: ...


class PgEndpoints(Protocol):
    """The real PostgreSQL behind flexible servers, as the control endpoint sees it (pg_engine.PgEngine)."""

    def endpoints(self) -> dict[str, str]: ...


class Services(Protocol):
    """What the HTTP fronts (server, blobhttp, keyvault_data) are given: implemented by cloud.LocalCloud."""

    @property
    def engine(self) -> ArmEngine: ...

    @property
    def apphosts(self) -> AppHostsFront: ...

    @property
    def secrets(self) -> SecretsFront: ...

    @property
    def blobs(self) -> BlobStore: ...

    @property
    def faults(self) -> FaultTable: ...

    @property
    def log(self) -> RequestLog: ...

    @property
    def client_ip(self) -> str: ...

    @property
    def pg(self) -> PgEndpoints: ...

    @property
    def url(self) -> str: ...

    @property
    def tls_url(self) -> str: ...

    @property
    def blob_url(self) -> str: ...

    def request_delay(self) -> None: ...

    def state(self) -> dict[str, dict[str, Any]]: ...

    def set_state(self, state: dict[str, dict[str, Any]]) -> None: ...

    def add_fault(self, rule: dict[str, Any]) -> None: ...

    def clear_faults(self) -> None: ...

    def requests(self) -> list[dict[str, Any]]: ...


class LocalHTTPServer(ThreadingHTTPServer):
    """A listener of the local cloud (ARM, blob or Key Vault TLS): one thread per connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    cloud: Services
