"""One real PostgreSQL cluster on loopback: found binaries, a shared template, start/stop, SQL, pg_hba, recovery.

The local cloud runs PostgreSQL as the `postgres` operating-system user when it runs as root (PostgreSQL refuses
to run as root; the Debian package creates that user), as itself otherwise. Every cluster is a copy of one
template made by initdb (1 MB WAL segments, so a forced WAL switch archives little), listens on 127.0.0.1 on a
free port, keeps its Unix socket in a private folder and archives every WAL segment to its own folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUPERUSER = "localcloud"  # the local cloud's own role (Azure's equivalent, azure_superuser, is not yours either)
# Azure's admin is no superuser: it is a member of azure_pg_admin (learn.microsoft.com/azure/postgresql/
# flexible-server/how-to-create-users: "the server admin user is a member of the azure_pg_admin role" with
# CREATEDB and CREATEROLE, and "is not a superuser").
ADMIN_GROUP = "azure_pg_admin"
TEMPLATE_VERSION = "v1"  # bump when the template's contents change (a new cache folder is made)


class PgUnavailable(Exception):
    """No PostgreSQL binaries (or no `postgres` user to run them as root)."""


class PgFailed(Exception):
    """A cluster did not do what was asked (start, recovery, SQL); the message ends with its log's last lines."""


def find_bindir() -> Path:
    """PROVISIONER_PG_BIN, else `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    named = os.environ.get("PROVISIONER_PG_BIN")
    candidates: list[Path] = [Path(named)] if named else []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _major(p.parent.name), reverse=True)
    candidates += debian
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres", "pg_basebackup")):
            return bindir
    raise PgUnavailable("no PostgreSQL server binaries (initdb, pg_ctl, postgres) were found: install the Debian "
                        "package `postgresql` or set PROVISIONER_PG_BIN")


def _major(name: str) -> int:
    try:
        return int(name)
    except ValueError:
        return 0


@dataclass(frozen=True)
class Runner:
    """Runs the PostgreSQL binaries as the right operating-system user."""

    bindir: Path
    user: str | None  # None: as ourselves (not root)

    @classmethod
    def detect(cls) -> Runner:
        bindir = find_bindir()
        if os.geteuid() != 0:
            return cls(bindir, None)
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PgUnavailable("running as root, and PostgreSQL refuses to: no `postgres` user to run it as "
                                "(the Debian package `postgresql` creates one)") from None
        return cls(bindir, "postgres")

    @property
    def version(self) -> str:
        out = subprocess.run([str(self.bindir / "postgres"), "--version"], capture_output=True, text=True, check=True)
        return out.stdout.split()[-1].split(".")[0]

    def own(self, path: Path) -> None:
        """The folder (and what is in it) belongs to the user PostgreSQL runs as."""
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.lchown(path, entry.pw_uid, entry.pw_gid)
            for root, dirs, files in os.walk(path):
                os.chown(root, entry.pw_uid, entry.pw_gid)
                for name in dirs + files:
                    os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)

    def run(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kw: dict[str, Any] = {}
        if self.user:
            entry = pwd.getpwnam(self.user)
            kw.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "TZ": "UTC"}
        return subprocess.run([str(self.bindir / tool), *args], capture_output=True, text=True, timeout=timeout,
                              env=env, cwd="/", stdin=subprocess.DEVNULL, check=False, **kw)

    def copy(self, src: Path, dst: Path) -> None:
        shutil.copytree(src, dst, symlinks=True)
        self.own(dst)


def template(runner: Runner) -> Path:
    """The cluster every server starts as, made once per machine and PostgreSQL major (initdb takes seconds;
    a copy takes a fraction). Cleanly shut down, so a copy of it is also a valid cold base backup."""
    key = hashlib.sha256(f"{runner.bindir}|{runner.user}|{TEMPLATE_VERSION}".encode()).hexdigest()[:10]
    final = Path(tempfile.gettempdir()) / f"localcloud-pg-template-{runner.version}-{key}"
    if (final / "PG_VERSION").is_file():
        return final
    work = Path(tempfile.mkdtemp(prefix="localcloud-pg-template-"))
    data = work / "data"
    runner.own(work)
    done = runner.run("initdb", "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
                      "--no-sync", "--wal-segsize=1")
    if done.returncode != 0:
        raise PgFailed(f"initdb failed: {done.stderr.strip()[-400:]}")
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\ninclude_if_exists = 'localcloud.conf'\n")
    cluster = Cluster(runner, work, data_name="data")
    cluster.start(archive=False)  # pg_hba: the local cloud's role over the socket only
    cluster.sql(f'CREATE ROLE "{ADMIN_GROUP}" NOLOGIN')
    cluster.stop()
    for leftover in ("postmaster.opts", "server.log"):
        (data / leftover).unlink(missing_ok=True)
    try:
        os.rename(data, final)  # atomic: a parallel worker that lost the race uses the winner's
    except OSError:
        if not (final / "PG_VERSION").is_file():
            raise
    shutil.rmtree(work, ignore_errors=True)
    return final


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One data folder with its socket, WAL archive and log under `home`."""

    def __init__(self, runner: Runner, home: Path, port: int = 0, data_name: str = "data") -> None:
        self.runner, self.home = runner, home
        self.data = home / data_name
        self.archive = home / "archive"
        self.sockdir = home / "s"
        self.log = home / "server.log"
        self.port = port or free_port()
        self.hba = (False, True)  # (a firewall rule admits the client, SSL required): nothing gets in until told

    # ------------------------------------------------------------------ lifecycle
    def configure(self, archive: bool = True, recovery: dict[str, str] | None = None) -> None:
        for folder in (self.archive, self.sockdir):
            folder.mkdir(mode=0o700, exist_ok=True)
        self.runner.own(self.home)
        lines = {
            "listen_addresses": "'127.0.0.1'", "port": str(self.port),
            "unix_socket_directories": f"'{self.sockdir}'", "unix_socket_permissions": "0700",
            "shared_buffers": "'16MB'", "max_connections": "30", "fsync": "off", "full_page_writes": "on",
            "wal_level": "replica", "archive_mode": "on" if archive else "off",
            "archive_command": f"'test ! -f \"{self.archive}/%f\" && cp \"%p\" \"{self.archive}/%f\"'",
            "password_encryption": "'scram-sha-256'", "timezone": "'UTC'", "log_timezone": "'UTC'",
            "ssl": "on", "ssl_cert_file": "'server.crt'", "ssl_key_file": "'server.key'",
        }
        lines.update(recovery or {})
        self._write("localcloud.conf", "".join(f"{k} = {v}\n" for k, v in lines.items()))
        from .tls import CERT_PEM, KEY_PEM

        self._write("server.crt", CERT_PEM)
        self._write("server.key", KEY_PEM, mode=0o600)

    def _write(self, name: str, text: str, mode: int = 0o600) -> None:
        path = self.data / name
        path.write_text(text)
        os.chmod(path, mode)
        self.runner.own(path)

    def start(self, archive: bool = True, recovery: dict[str, str] | None = None, timeout: float = 60) -> None:
        self.configure(archive, recovery)
        self.write_hba(*self.hba)
        if self.running():
            self.stop()  # left running by a local cloud process that died: restarted on this run's port
        (self.data / "postmaster.pid").unlink(missing_ok=True)  # a copy of a cluster that was not shut down
        done = self.runner.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(timeout)),
                               "start", timeout=timeout + 10)
        if done.returncode != 0:
            raise PgFailed(f"the cluster did not start: {self.tail()}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.runner.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=60)

    def running(self) -> bool:
        return self.runner.run("pg_ctl", "-D", str(self.data), "status", timeout=10).returncode == 0

    def tail(self, lines: int = 6) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:])

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    # ------------------------------------------------------------------ SQL (the local cloud's own role)
    @contextlib.contextmanager
    def connect(self, dbname: str = "postgres") -> Iterator[Any]:
        import psycopg

        conn = psycopg.connect(host=str(self.sockdir), port=self.port, user=SUPERUSER, dbname=dbname,
                               autocommit=True, connect_timeout=10)
        try:
            yield conn
        finally:
            conn.close()

    def sql(self, statement: Any, params: Any = None, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        with self.connect(dbname) as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall()) if cur.description else []

    def write_hba(self, admitted: bool, ssl_only: bool) -> None:
        """pg_hba.conf from the server's firewall: the local cloud's role over the private socket only; every
        TCP client is 127.0.0.1, so the rules decide for all of them at once (docs/recovery.md)."""
        self.hba = (admitted, ssl_only)
        kind = "hostssl" if ssl_only else "host"
        lines = [
            "# generated by the local cloud from the server's firewall rules (provisioner/localcloud/pg_engine.py)",
            f"local all {SUPERUSER} trust",
            f"local replication {SUPERUSER} trust",
            "local all all reject",
            f"host all {SUPERUSER} 0.0.0.0/0 reject",
            f"{kind} all all 127.0.0.1/32 scram-sha-256" if admitted else "host all all 127.0.0.1/32 reject",
            "host all all 0.0.0.0/0 reject",
        ]
        self._write("pg_hba.conf", "\n".join(lines) + "\n")
        if (self.data / "postmaster.pid").exists() and self.running():
            self.sql("SELECT pg_reload_conf()")

    # ------------------------------------------------------------------ backup and recovery
    def wal_switch(self, timeout: float = 20) -> None:
        """Commit a heartbeat (Azure's own service writes one; recovery to a time needs a commit after it) and
        archive the current WAL segment, waiting until the archive has it."""
        with self.connect() as conn:
            conn.execute("SELECT pg_current_xact_id()")  # an xid: its commit writes a timestamped WAL record
            row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        segment = str(row[0]) if row else ""
        deadline = time.monotonic() + timeout
        while not (self.archive / segment).exists():
            if time.monotonic() > deadline:
                raise PgFailed(f"WAL segment {segment} was not archived within {timeout:.0f}s: {self.tail()}")
            time.sleep(0.05)

    def base_backup(self, target: Path) -> None:
        done = self.runner.run("pg_basebackup", "-h", str(self.sockdir), "-p", str(self.port), "-U", SUPERUSER,
                               "-D", str(target), "-c", "fast", "-X", "stream", "--no-sync")
        if done.returncode != 0:
            raise PgFailed(f"pg_basebackup failed: {done.stderr.strip()[-400:]}")
        for name in ("localcloud.conf", "postmaster.opts", "standby.signal", "recovery.signal"):
            (target / name).unlink(missing_ok=True)

    def recover(self, base: Path, source_archive: Path, point_in_time: str, timeout: float = 120) -> None:
        """Copy `base`, replay `source_archive` up to `point_in_time` (recovery_target_time), promote."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.runner.own(self.home)
        self.runner.copy(base, self.data)
        for name in ("postmaster.pid", "localcloud.conf"):
            (self.data / name).unlink(missing_ok=True)
        # The base's own pg_wal is stale (a template's, or a backup's): recovery takes every segment it needs
        # from the archive first (restore_command), as a restore from Azure's backups does.
        self._write("recovery.signal", "")
        recovery = {"restore_command": f"'cp \"{source_archive}/%f\" \"%p\"'",
                    "recovery_target_time": f"'{point_in_time}'", "recovery_target_action": "'promote'",
                    "recovery_target_timeline": "'latest'"}
        self.start(recovery=recovery, timeout=timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if not self.sql("SELECT pg_is_in_recovery()")[0][0]:
                    break
            except Exception as exc:  # noqa: BLE001 - still starting up: retried until the deadline
                if time.monotonic() > deadline or not self.running():
                    raise PgFailed(f"recovery failed: {exc}; {self.tail()}") from None
            if time.monotonic() > deadline:
                raise PgFailed(f"recovery did not finish within {timeout:.0f}s: {self.tail()}")
            time.sleep(0.05)
        self.configure()  # the recovery settings are spent: a restart must not recover again
