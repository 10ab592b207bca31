"""Real PostgreSQL behind the local cloud's flexible servers: one loopback cluster per server, its admin password,
databases and firewall rules real, point-in-time restore a base backup plus WAL replay (recovery_target_time).

The API other parts use (the ARM hooks in types/postgres.py, the control endpoint, tests, issue 18's migrations and
credential rotation): `PgEngine.create / restore / drop / set_password / create_database / drop_database /
databases / set_firewall / endpoint / endpoints / close`, keyed by the server's ARM id. A client reaches a server by
its FQDN through libpq's `hostaddr`: GET /_localcloud/endpoints answers {"postgres": {fqdn: "127.0.0.1:port"}}
(provisioner/operate/pgclient.py does that). docs/recovery.md lists what loopback cannot mirror.

Modes (LocalCloud(postgres=...) or PROVISIONER_LOCALCLOUD_POSTGRES): "auto" (real where the binaries are), "on"
(real or an error), "off" (servers are ARM bodies only, as before this module).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import shutil
import tempfile
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .pg_cluster import ADMIN_GROUP, Cluster, PgFailed, PgUnavailable, Runner, template

MODES = ("auto", "on", "off")
# Databases every server has that are not the tool's (Azure also lists azure_maintenance and azure_sys).
SYSTEM_DATABASES = {"postgres", "template0", "template1", "azure_maintenance", "azure_sys"}


def _ident(name: str) -> Any:
    from psycopg import sql

    return sql.Identifier(name)


class PgEngine:
    """Clusters under one folder, indexed in servers.json (the local cloud's state points at them by server id)."""

    def __init__(self, state_file: Path | None, mode: str | None = None, client_ip: str = "203.0.113.10") -> None:
        mode = (mode or os.environ.get("PROVISIONER_LOCALCLOUD_POSTGRES") or "auto").lower()
        if mode not in MODES:
            raise ValueError(f"postgres mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode, self.client_ip = mode, client_ip
        self.runner: Runner | None = None
        self.reason = "off (PROVISIONER_LOCALCLOUD_POSTGRES=off)" if mode == "off" else ""
        if mode != "off":
            try:
                self.runner = Runner.detect()
            except PgUnavailable as exc:
                if mode == "on":
                    raise
                self.reason = str(exc)
        # Short paths: a Unix socket path must fit in 107 bytes. As root the folder belongs to `postgres`.
        self._temporary = state_file is None
        key = hashlib.sha256(str(Path(state_file).resolve()).encode()).hexdigest()[:12] if state_file else uuid.uuid4().hex[:12]
        self.root = Path(tempfile.gettempdir()) / f"localcloud-pg-{key}"
        self._index_file = self.root / "servers.json"
        self._lock = threading.RLock()
        self._clusters: dict[str, Cluster] = {}
        self._index: dict[str, dict[str, Any]] = {}
        self.deleting: set[str] = set()  # servers whose DELETE is in flight (their children's hooks skip SQL)
        if self.runner is not None:
            self.root.mkdir(mode=0o755, exist_ok=True)
            if self._index_file.is_file():
                self._index = json.loads(self._index_file.read_text())

    @property
    def real(self) -> bool:
        return self.runner is not None

    def describe(self) -> str:
        if self.runner is None:
            return f"PostgreSQL servers are ARM resources only, no database engine: {self.reason}"
        return f"PostgreSQL servers are real clusters ({self.runner.bindir}) under {self.root}"

    # ------------------------------------------------------------------ bookkeeping
    def _save(self) -> None:
        tmp = self._index_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._index, indent=1))
        os.replace(tmp, self._index_file)

    def has(self, server_id: str) -> bool:
        return self.real and server_id.lower() in self._index

    def _cluster(self, server_id: str) -> Cluster:
        """The server's cluster, started on first use (after a local cloud restart, clusters start lazily)."""
        assert self.runner is not None
        sid = server_id.lower()
        with self._lock:
            cluster = self._clusters.get(sid)
            if cluster is None:
                entry = self._index[sid]
                cluster = Cluster(self.runner, Path(entry["home"]))
                cluster.hba = (bool(entry.get("admitted")), bool(entry.get("ssl_only", True)))
                if not cluster.data.is_dir():
                    raise PgFailed(f"the cluster of {server_id} is gone ({cluster.data}): its data cannot be served")
                cluster.start()
                self._clusters[sid] = cluster
            return cluster

    def _home(self, server_id: str) -> Path:
        return self.root / hashlib.sha256(server_id.lower().encode()).hexdigest()[:10]

    # ------------------------------------------------------------------ servers
    def create(self, server_id: str, fqdn: str, login: str, password: str) -> None:
        """A new, empty server: the template copied, started, its admin role created with the password."""
        if self.runner is None:
            return
        with self._lock:
            self._drop_leftover(server_id)
            base = template(self.runner)
            cluster = Cluster(self.runner, self._home(server_id))
            cluster.home.mkdir(parents=True)
            self.runner.copy(base, cluster.data)
            cluster.start()
            self._register(server_id, fqdn, cluster, base, login)
        self.set_password(server_id, login, password, create=True)

    def restore(self, server_id: str, fqdn: str, source_id: str, point_in_time: datetime) -> list[str]:
        """A new server from the source's base backup and WAL up to `point_in_time`; its database names."""
        if self.runner is None or not self.has(source_id):
            return []
        with self._lock:
            source = self._cluster(source_id)
            entry = self._index[source_id.lower()]
            source.wal_switch()  # Azure archives WAL continuously; here the segment holding the point is closed now
            self._drop_leftover(server_id)
            cluster = Cluster(self.runner, self._home(server_id))
            cluster.hba = source.hba
            stamp = point_in_time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
            try:
                cluster.recover(Path(entry["base"]), source.archive, stamp)
                # The restored server's own first backup (Azure: "scheduled immediately after a server is created").
                own = cluster.home / "base"
                cluster.base_backup(own)
                self.runner.own(own)
            except PgFailed:
                cluster.remove()
                raise
            self._register(server_id, fqdn, cluster, own, entry.get("login", ""))
        return self.databases(server_id)

    def _register(self, server_id: str, fqdn: str, cluster: Cluster, base: Path, login: str) -> None:
        self._clusters[server_id.lower()] = cluster
        self._index[server_id.lower()] = {"id": server_id, "fqdn": fqdn.lower(), "home": str(cluster.home),
                                          "base": str(base), "login": login, "created": datetime.now(UTC).isoformat(),
                                          "admitted": cluster.hba[0], "ssl_only": cluster.hba[1]}
        self._save()

    def _drop_leftover(self, server_id: str) -> None:
        if server_id.lower() in self._index:
            self.drop(server_id)
        shutil.rmtree(self._home(server_id), ignore_errors=True)

    def drop(self, server_id: str) -> None:
        """The server is deleted: its cluster, backups and WAL go with it (Azure: "all backups that belong to the
        server are also deleted")."""
        if not self.has(server_id):
            return
        with self._lock:
            sid = server_id.lower()
            self.deleting.discard(sid)
            cluster = self._clusters.pop(sid, None)
            entry = self._index.pop(sid)
            if cluster is None and self.runner is not None:
                cluster = Cluster(self.runner, Path(entry["home"]))
            if cluster is not None:
                cluster.remove()
            self._save()

    def set_password(self, server_id: str, login: str, password: str, create: bool = False) -> None:
        if not self.has(server_id) or not login or not password:
            return
        from psycopg import sql

        cluster = self._cluster(server_id)
        exists = cluster.sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,))
        verb = "ALTER ROLE {} WITH LOGIN PASSWORD {}" if exists else \
            "CREATE ROLE {} WITH LOGIN CREATEDB CREATEROLE PASSWORD {} IN ROLE " + f'"{ADMIN_GROUP}"'
        # Client-side literal: utility statements take no server-side parameters. Never logged.
        cluster.sql(sql.SQL(verb).format(_ident(login), sql.Literal(password)))

    # ------------------------------------------------------------------ databases
    def create_database(self, server_id: str, name: str, charset: str = "UTF8", collation: str = "") -> None:
        if not self.has(server_id):
            return
        from psycopg import errors, sql

        cluster = self._cluster(server_id)
        if cluster.sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)):
            return
        base = sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING {}").format(
            _ident(name), _ident(ADMIN_GROUP), sql.Literal(charset or "UTF8"))
        if not collation:
            cluster.sql(base)
            return
        try:
            cluster.sql(base + sql.SQL(" LC_COLLATE {0} LC_CTYPE {0}").format(sql.Literal(collation)))
        except (errors.InvalidParameterValue, errors.WrongObjectType):
            # The machine lacks that libc locale (Azure's en_US.utf8 on a C-only image): ICU gives the same
            # collation; the ARM body keeps the name asked for (docs/recovery.md).
            icu = collation.split(".")[0].replace("_", "-")
            cluster.sql(base + sql.SQL(" LOCALE_PROVIDER icu ICU_LOCALE {} LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
                        .format(sql.Literal(icu)))

    def drop_database(self, server_id: str, name: str) -> None:
        if not self.has(server_id) or name in SYSTEM_DATABASES:
            return
        from psycopg import sql

        # WITH (FORCE): open sessions are ended, as a delete through ARM does not wait for clients to leave.
        self._cluster(server_id).sql(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_ident(name)))

    def databases(self, server_id: str) -> list[str]:
        if not self.has(server_id):
            return []
        rows = self._cluster(server_id).sql("SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1")
        return [str(r[0]) for r in rows if str(r[0]) not in SYSTEM_DATABASES]

    # ------------------------------------------------------------------ firewall
    def set_firewall(self, server_id: str, rules: list[tuple[str, str]], ssl_only: bool = True) -> None:
        """Every client reaches the cluster from 127.0.0.1; it stands for this cloud's client address (the public
        IP a caller on the internet has, `serve --client-ip`). A rule whose range holds that address admits
        every TCP client; without one, every TCP client is refused, as Azure's firewall refuses an address
        no rule covers ("0.0.0.0"-"0.0.0.0", Azure services, never covers a caller outside Azure)."""
        if not self.has(server_id):
            return
        me = ipaddress.ip_address(self.client_ip)
        admitted = False
        for start, end in rules:
            try:
                low, high = ipaddress.ip_address(start), ipaddress.ip_address(end)
            except ValueError:
                continue
            if str(low) == "0.0.0.0" and str(high) == "0.0.0.0":
                continue
            admitted = admitted or (low.version == me.version and low <= me <= high)  # type: ignore[operator]
        with self._lock:
            cluster = self._cluster(server_id)
            cluster.write_hba(admitted, ssl_only)
            entry = self._index[server_id.lower()]
            entry.update(admitted=admitted, ssl_only=ssl_only)
            self._save()

    # ------------------------------------------------------------------ where clients connect
    def endpoint(self, server_id: str) -> tuple[str, int] | None:
        if not self.has(server_id):
            return None
        return "127.0.0.1", self._cluster(server_id).port

    def endpoints(self) -> dict[str, str]:
        """FQDN -> "127.0.0.1:port" for every server (started on demand)."""
        out = {}
        for entry in list(self._index.values()):
            try:
                out[entry["fqdn"]] = f"127.0.0.1:{self._cluster(entry['id']).port}"
            except PgFailed:
                continue
        return out

    def close(self) -> None:
        """Stop every cluster (a temporary cloud's are removed; a persisted cloud's start again on next use)."""
        with self._lock:
            for cluster in self._clusters.values():
                cluster.stop()
            self._clusters.clear()
            if self._temporary and self.runner is not None:
                shutil.rmtree(self.root, ignore_errors=True)
