"""LocalCloud: the public object that owns the state, the HTTP server thread and the control API."""

from __future__ import annotations

import random
import re
import signal
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from . import tls
from .activity import ActivityLog
from .apphosts import CONTAINER_START_SECONDS, AppHosts
from .blob import BlobStore
from .blobhttp import BlobHandler
from .engine import Engine
from .faults import FaultTable
from .ids import type_of
from .keyvault_data import SecretStore
from .pg_engine import PgEngine
from .profile import TENANT_ID
from .requestlog import RequestLog
from .server import Handler
from .services import LocalHTTPServer
from .store import Store, read_json, write_json_atomic

# TEST-NET-3 (RFC 5737): documentation-only, so it never matches a real operator's allow-list entry.
DEFAULT_CLIENT_IP = "203.0.113.10"
# What exists in the subscription before the tool runs, as on a real one: the organisation's shared container
# registry that envs/common.toml `web_app.container_registry_id` names (created outside the tool; role
# assignments on it need it to exist, as ARM refuses an assignment on a missing scope).
SHARED_GROUP = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fundrbolt-shared-rg"
SHARED_REGISTRY = f"{SHARED_GROUP}/providers/Microsoft.ContainerRegistry/registries/fundrbolt"


def seed(store: Store) -> None:
    from .types.containerregistry import registry

    store.put(SHARED_GROUP, {"id": SHARED_GROUP, "name": "fundrbolt-shared-rg", "type": "Microsoft.Resources/resourceGroups",
                             "location": "eastus", "tags": {}, "properties": {"provisioningState": "Succeeded"}})
    store.put(SHARED_REGISTRY, registry(SHARED_REGISTRY))


_TRANSIENT = {"creating", "updating", "accepted", "registeringdns", "provisioning", "inprogress", "running"}


class LocalCloud:
    """An ARM-compatible server on loopback. `start()` returns its URL; use it as the SDK's base_url."""

    def __init__(
        self,
        state_file: Path | None = None,
        request_log: Path | None = None,
        latency: str = "fast",
        time_scale: float = 1.0,
        faults: list[dict[str, Any]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        unhealthy_images: list[str] | None = None,
        tenant_id: str = TENANT_ID,
        client_ip: str = DEFAULT_CLIENT_IP,
        postgres: str | None = None,
    ) -> None:
        self.state_file = Path(state_file) if state_file else None
        self.host, self.port = host, port
        self.store = Store(self.state_file)
        self.store.load()
        if not self.store.ids():
            seed(self.store)
        sf = self.state_file
        # Side files next to the state: the Activity Log and the Key Vault secrets survive restarts.
        activity_file = sf.with_name(sf.name + ".activity.json") if sf else None
        secrets_file = sf.with_name(sf.name + ".secrets.json") if sf else None
        blobs_file = sf.with_name(sf.name + ".blobs.json") if sf else None
        self.engine = Engine(self.store, ActivityLog(activity_file), latency, time_scale, tenant_id)
        # Every caller reaches the loopback listener from 127.0.0.1; the Key Vault firewall instead sees this
        # address, the public IP a caller on the internet would have (`serve --client-ip`). A request may
        # name its own with the X-Forwarded-For header (tests acting as a second person).
        self.client_ip = client_ip
        self.secrets = SecretStore(secrets_file)
        start = CONTAINER_START_SECONDS * time_scale if latency == "realistic" else 0.0
        self.apphosts = AppHosts(self.engine, unhealthy_images, start)
        self.engine.app_containers = self.apphosts  # type: ignore[attr-defined]  # hooks in types/web.py
        self.engine.purge_vault_secrets = self.secrets.purge_vault
        self.engine.secret_store = self.secrets  # ARM vaults/secrets and configreferences read it
        # Real PostgreSQL behind flexible servers where the binaries are ("auto"; pg_engine.py).
        self.pg = PgEngine(sf, postgres, client_ip)
        self.engine.pg = self.pg  # type: ignore[attr-defined]
        self.blobs = BlobStore(blobs_file)  # the blob endpoint (run-lock leases); GET /_localcloud/endpoints
        self.faults = FaultTable(faults)
        self.log = RequestLog(Path(request_log) if request_log else None)
        self.latency, self.time_scale = latency, time_scale
        self.url = ""
        self.tls_url = ""  # https listener for the Key Vault data plane (vaultUri points here)
        self.blob_url = ""  # http listener for blobs, path-style as Azurite: <blob_url>/<account>/<container>/<blob>
        self.ca_file = tls.ca_file()  # trust it with connection_verify=cloud.ca_file
        self._server: LocalHTTPServer | None = None
        self._tls_server: LocalHTTPServer | None = None
        self._blob_server: LocalHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._rng = random.Random(0)  # seeded: realistic per-request delays are reproducible
        self._rng_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        if self._server is not None:
            return self.url
        server = LocalHTTPServer((self.host, self.port), Handler)
        server.cloud = self
        self._server = server
        self.url = f"http://{self.host}:{server.server_address[1]}"
        tls_server = self._bind_tls()
        tls_server.socket = tls.server_context().wrap_socket(tls_server.socket, server_side=True)
        tls_server.cloud = self
        self._tls_server = tls_server
        self.tls_url = f"https://{self.host}:{tls_server.server_address[1]}"
        blob_server = LocalHTTPServer((self.host, 0), BlobHandler)
        blob_server.cloud = self
        self._blob_server = blob_server
        self.blob_url = f"http://{self.host}:{blob_server.server_address[1]}"
        self.engine.base_url = self.url
        self.engine.vault_base_url = self.tls_url
        self._recover_loaded_state()
        self._stop.clear()
        self._threads = [
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True,
                             name="localcloud-http"),
            threading.Thread(target=tls_server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True,
                             name="localcloud-https"),
            threading.Thread(target=blob_server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True,
                             name="localcloud-blob"),
            threading.Thread(target=self._tick, daemon=True, name="localcloud-lro"),
        ]
        for thread in self._threads:
            thread.start()
        return self.url

    def _bind_tls(self) -> LocalHTTPServer:
        """The https listener reuses the previous run's port when it can: vaultUri (and the Key Vault
        references built from it) then stays the same across restarts, as a real vault's does."""
        meta = self.state_file.with_name(self.state_file.name + ".meta.json") if self.state_file else None
        previous = int((read_json(meta, {}) or {}).get("tls_port") or 0) if meta else 0
        server: LocalHTTPServer | None = None
        if previous:
            try:
                server = LocalHTTPServer((self.host, previous), Handler)
            except OSError:
                server = None
        if server is None:
            server = LocalHTTPServer((self.host, 0), Handler)
        if meta is not None:
            write_json_atomic(meta, {"tls_port": server.server_address[1]})
        return server

    def stop(self) -> None:
        if self._server is None:
            return
        self._stop.set()
        for server in (self._server, self._tls_server, self._blob_server):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = self._tls_server = self._blob_server = None
        self.engine.settle()
        self.pg.close()

    def __enter__(self) -> LocalCloud:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _tick(self) -> None:
        # Persist finished operations even when nobody polls (a standalone server's state file).
        while not self._stop.wait(0.2):
            if self.engine.ops.pending():
                self.engine.settle()

    def _recover_loaded_state(self) -> None:
        """Operations do not survive a restart: settle what a previous run left in flight, and point
        vault URIs at this run's URL."""
        with self.engine.lock:
            for rid, body in self.store.items():
                props = body.get("properties")
                if not isinstance(props, dict):
                    continue
                state = str(props.get("provisioningState", "")).lower()
                if state == "deleting":
                    self.engine.remove(rid)
                    continue
                steady = state == "running" and type_of(rid).lower().startswith("microsoft.communication/")
                if state in _TRANSIENT and not steady and self.engine.ops.running_for(rid) is None:
                    props["provisioningState"] = "Succeeded"
                    self.store.put(rid, body)
                if type_of(rid).lower() == "microsoft.keyvault/vaults":
                    uri = f"{self.tls_url}/keyvault/{body.get('name')}/"
                    if props.get("vaultUri") != uri:
                        props["vaultUri"] = uri
                        self.store.put(rid, body)
            self.store.save()

    def request_delay(self) -> None:
        if self.latency != "realistic":
            return
        with self._rng_lock:
            delay = self._rng.uniform(0.03, 0.12) * self.time_scale
        time.sleep(delay)

    # ------------------------------------------------------------------ public API
    def state(self) -> dict[str, dict[str, Any]]:
        """Deep copy: ARM id -> body exactly as GET returns it."""
        return self.engine.state()

    def set_state(self, state: dict[str, dict[str, Any]]) -> None:
        self.engine.set_state(state)

    def requests(self) -> list[dict[str, Any]]:
        return self.log.entries()

    def add_fault(self, rule: dict[str, Any]) -> None:
        self.faults.add(rule)

    def clear_faults(self) -> None:
        self.faults.clear()

    def activity(self) -> list[dict[str, Any]]:
        return self.engine.activity.events()


class ServeError(Exception):
    """A bad `serve` argument (busy port, unreadable faults or state file): one line, no traceback."""


def load_faults(faults_file: Path) -> list[dict[str, Any]]:
    """A faults file named on the command line must exist and hold valid rules: a silently ignored
    typo would make a fault test pass for the wrong reason."""
    import json

    if not faults_file.is_file():
        raise ServeError(f"--faults {faults_file}: file not found")
    try:
        faults = json.loads(faults_file.read_text(encoding="utf-8") or "[]")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServeError(f"--faults {faults_file}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ServeError(f"--faults {faults_file}: not valid JSON: {exc}") from None
    faults = [faults] if isinstance(faults, dict) else faults
    if not isinstance(faults, list):
        raise ServeError(f"--faults {faults_file}: expected a JSON list of fault rules")
    try:
        FaultTable(faults)
    except (ValueError, TypeError, re.error) as exc:
        raise ServeError(f"--faults {faults_file}: {exc}") from None
    return faults


def serve(
    port: int = 0,
    state_file: Path | str | None = None,
    request_log: Path | str | None = None,
    latency: str = "fast",
    time_scale: float = 1.0,
    faults_file: Path | str | None = None,
    host: str = "127.0.0.1",
    unhealthy_images: list[str] | None = None,
    tenant_id: str = TENANT_ID,
    client_ip: str = DEFAULT_CLIENT_IP,
) -> None:
    """Run the local cloud in the foreground until SIGINT/SIGTERM; raises ServeError on bad arguments."""
    faults = load_faults(Path(faults_file)) if faults_file else []
    try:
        cloud = LocalCloud(Path(state_file) if state_file else None, Path(request_log) if request_log else None,
                           latency, time_scale, faults, host, port, unhealthy_images, tenant_id, client_ip)
    except (ValueError, OSError) as exc:
        raise ServeError(f"--state {state_file}: cannot load: {exc}") from None
    try:
        url = cloud.start()
    except OSError as exc:
        raise ServeError(f"--port {port}: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    done = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        done.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"Local cloud listening on {url}", flush=True)
    print(f"Blob endpoint (run-lock leases, Shared Key): {cloud.blob_url}/<account>", flush=True)
    print(cloud.pg.describe(), flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        cloud.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("Local cloud stopped", file=sys.stderr, flush=True)
