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
from .pg_entra import Check, TokenCheckServer, hba_line

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
        # Entra sign-in (pg_entra.py): the cloud sets `entra_check`; the LDAP responder starts with the first role.
        self.entra_check: Check | None = None
        self._token_server: TokenCheckServer | None = None
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
                cluster.extra_hba = self._entra_lines(sid, cluster.hba[1])
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
    def set_firewall(self, server_id: str, rules: list[tuple[str, str]], ssl_only: bool = True,
                     private: list[str] | None = None) -> None:
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
        # A client inside a virtual network that holds a private endpoint to the server reaches it through that
        # endpoint whatever the public firewall says (`private`: those networks' address prefixes).
        for prefix in private or []:
            try:
                admitted = admitted or me in ipaddress.ip_network(prefix, strict=False)
            except ValueError:
                continue
        with self._lock:
            cluster = self._cluster(server_id)
            cluster.extra_hba = self._entra_lines(server_id.lower(), ssl_only)
            cluster.write_hba(admitted, ssl_only)
            entry = self._index[server_id.lower()]
            entry.update(admitted=admitted, ssl_only=ssl_only)
            self._save()

    # ------------------------------------------------------------------ Microsoft Entra roles (pg_entra.py)
    def key_of(self, server_id: str) -> str:
        """The short key naming a server in its Entra roles' LDAP DN (pg_entra.parse_dn)."""
        return self._home(server_id).name

    def server_of_key(self, key: str) -> str | None:
        for entry in self._index.values():
            if Path(entry["home"]).name == key:
                return str(entry["id"])
        return None

    def entra_roles(self, server_id: str) -> dict[str, dict[str, Any]]:
        """role -> {"oid", "type", "admin"}: the server's pgaadauth security labels."""
        return dict((self._index.get(server_id.lower()) or {}).get("entra") or {})

    def _entra_lines(self, sid: str, ssl_only: bool) -> list[str]:
        roles = (self._index.get(sid) or {}).get("entra") or {}
        if not roles or self.entra_check is None:
            return []
        if self._token_server is None:
            self._token_server = TokenCheckServer(self.entra_check)
        key = self.key_of(sid)
        port = self._token_server.port
        return [hba_line(role, port, key, ssl_only, local) for local in (False, True) for role in sorted(roles)]

    def set_entra_role(self, server_id: str, role: str, oid: str, principal_type: str, admin: bool) -> None:
        """What Azure does when an Entra administrator is added (or pgaadauth_create_principal_with_oid): a login
        role labelled with the principal's object id; an administrator is a member of azure_pg_admin with CREATEDB
        and CREATEROLE, like the server admin. Its password is never set: only a token signs it in."""
        if not self.has(server_id):
            return
        from psycopg import sql

        cluster = self._cluster(server_id)
        if not cluster.sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)):
            cluster.sql(sql.SQL("CREATE ROLE {} WITH LOGIN").format(_ident(role)))
        if admin:
            cluster.sql(sql.SQL("ALTER ROLE {} WITH CREATEDB CREATEROLE").format(_ident(role)))
            cluster.sql(sql.SQL("GRANT {} TO {}").format(_ident(ADMIN_GROUP), _ident(role)))
        with self._lock:
            entry = self._index[server_id.lower()]
            entry.setdefault("entra", {})[role] = {"oid": oid.lower(), "type": principal_type, "admin": admin}
            self._save()
        self.set_firewall_again(server_id)

    def drop_entra_role(self, server_id: str, oid: str) -> None:
        """An Entra administrator removed: its role no longer signs in (the role itself stays, owning its objects)."""
        if not self.has(server_id):
            return
        with self._lock:
            entry = self._index[server_id.lower()]
            roles = entry.get("entra") or {}
            for role in [r for r, v in roles.items() if v.get("oid") == oid.lower()]:
                del roles[role]
            self._save()
        self.set_firewall_again(server_id)

    def set_firewall_again(self, server_id: str) -> None:
        """pg_hba rewritten with the same admission (after a change to the Entra roles)."""
        with self._lock:
            cluster = self._cluster(server_id)
            cluster.extra_hba = self._entra_lines(server_id.lower(), cluster.hba[1])
            cluster.write_hba(*cluster.hba)

    # ------------------------------------------------------------------ where clients connect
    def endpoint(self, server_id: str) -> tuple[str, int] | None:
        if not self.has(server_id):
            return None
        return "127.0.0.1", self._cluster(server_id).port

    def app_sign_in(self, fqdn: str, user: str, password: str, dbname: str) -> str | None:
        """The stand-in app (apphosts.py) signs in as its DATABASE_URL says; None when it can, else why not. It
        comes through the cluster's private socket: the app's own network path (VNet integration, the private
        endpoint or the Azure-services rule) is provisioned with it and not what this models; its credential is."""
        import psycopg

        entry = next((e for e in self._index.values() if e["fqdn"] == fqdn.lower()), None)
        if entry is None or not self.real:
            return f"could not translate host name {fqdn!r} to address"
        try:
            cluster = self._cluster(entry["id"])
            psycopg.connect(host=str(cluster.sockdir), port=cluster.port, user=user, password=password,
                            dbname=dbname, connect_timeout=5).close()
        except (psycopg.Error, PgFailed) as exc:
            return str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return None

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
            if self._token_server is not None:
                self._token_server.close()
                self._token_server = None
            self._clusters.clear()
            if self._temporary and self.runner is not None:
                shutil.rmtree(self.root, ignore_errors=True)
