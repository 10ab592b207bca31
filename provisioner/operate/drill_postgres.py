"""The PostgreSQL drill: canaries on the source, a point-in-time restore into a scratch server, verified over SQL,
timed; the scratch server deleted whatever happens (success, failure, Ctrl-C) or by the next run.

The canaries are databases the drill creates through ARM on the source (flexibleServers/databases/write), one before
the restore point and one after it: their CREATE DATABASE commits are WAL records like any other. The drill never
holds a credential to the source and opens no network path to it; it reaches only the scratch server, whose admin
password it resets and whose firewall it opens to this machine for the minutes the server lives.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.core.errors import AzureCallError, ProvisionerError
from provisioner.operate import pgclient
from provisioner.operate.cost import PriceTable
from provisioner.operate.drill_plan import (
    CANARY_PREFIX,
    SCRATCH_TAG,
    TARGETS,
    Row,
    billed_cost,
    canary_names,
    postgres_row,
    scratch_body,
    scratch_hourly,
    scratch_name,
)

# Azure's answer while the point's WAL is not archived yet ("wait for up to 5 minutes and try to restore again").
NOT_YET = ("PointInTimeRestoreNotAvailable",)
RUNNER_RULE = "drill-runner"


def _created(database: Any) -> datetime | None:
    created = getattr(getattr(database, "system_data", None), "created_at", None)
    if isinstance(created, str):
        created = datetime.fromisoformat(created.replace("Z", "+00:00"))
    return created if isinstance(created, datetime) else None


class DrillFailed(ProvisionerError):
    """The drill could not run (the source is missing, a call failed); the scratch server is cleaned up."""


@dataclass
class PgDrillOptions:
    at: datetime | None = None  # restore to this point instead of the latest one
    client_ip: str | None = None
    restore_wait: float = 900.0  # how long a not-yet-restorable point is retried
    retry_interval: float = 30.0
    poll: float = 5.0
    cleanup_timeout: float = 1800.0  # a delete waits for an in-flight restore to end


class PostgresDrill:
    def __init__(self, clients: Any, resource_group: str, server: str, say: Callable[[str], None],
                 options: PgDrillOptions, prices: PriceTable, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.clients, self.rg, self.server, self.say = clients, resource_group, server, say
        self.pg = clients.postgres
        self.options, self.prices = options, prices
        self.clock, self.now, self.sleep = clock, now, sleep
        self.scratch: str | None = None  # set once a restore was requested: cleanup deletes it
        self.canaries: list[str] = []
        self.kept: list[str] = []  # canaries a lock on the source keeps
        self.left: str | None = None  # why the scratch server could not be deleted (it is still billed)

    # ------------------------------------------------------------------ the run
    def run(self) -> Row:
        self.sweep()
        source = raw(self.pg.servers.get, self.rg, self.server)
        if source is None:
            raise DrillFailed(f"PostgreSQL server {self.server} not found in {self.rg}: provision the environment first")
        stamp = self.now()
        scratch = scratch_name(self.server, stamp)
        hourly = scratch_hourly(source, self.prices)
        hours = (TARGETS["postgres"].rto or 3600) / 3600
        self.say(f"scratch server {scratch}: {(source.get('sku') or {}).get('name')} like {self.server}, about "
                 f"${hourly:.2f}/hour ({self.prices.name} prices): this drill should cost at most "
                 f"${billed_cost(hourly, hours * 3600):.2f} (up to {hours:g} h); it is deleted at the end")
        before, after = canary_names(stamp)
        started = 0.0
        try:
            if self.options.at is None:
                written: datetime | None = self.canary(before)
                point = self.now()
                self.sleep(1.0)  # the 'after' canary commits strictly after the point
                self.canary(after)
            else:
                written, point = None, self.options.at
                self.canary(after)  # written now, so after the given point: it must not come back
            source_dbs = self.databases(self.server, point) - {before, after}
            self.say(f"restoring {self.server} as of {point.isoformat()} into {scratch}")
            started = self.clock()
            waited = self.restore(scratch, scratch_body(source, point, self.tags(source)))
            restored = self.verify(scratch, source)
            verified = self.clock()
        except KeyboardInterrupt:
            self.say("interrupted: deleting the scratch server and the canaries before exiting")
            raise
        finally:
            self.cleanup()
        if self.left:
            # A drill that leaves its scratch server behind did not pass, whatever it measured: the server is billed
            # by the hour until someone deletes it (found by tests/e2e/test_drill_identity.py).
            raise DrillFailed(f"the restore was verified but the scratch server {scratch} could not be deleted "
                              f"({self.left}): delete it (`az postgres flexible-server delete -g {self.rg} -n {scratch}`)"
                              " or run the drill again, which deletes it first")
        row = postgres_row(source_dbs=source_dbs, restored_dbs=restored, before=before if written else "",
                           after=after, point=point, before_written=written, started=started, verified=verified,
                           waited=waited, cost=billed_cost(hourly, verified - started))
        row.figures.update(scratch_server=scratch, scratch_deleted=True, hourly_usd=round(hourly, 4))
        if self.kept:
            row.notes.append(f"the canary databases {', '.join(self.kept)} stay on {self.server}: its CanNotDelete lock "
                             "covers its databases (empty; drift ignores them; deleted by a drill once the lock is lifted)")
        return row

    def tags(self, source: dict[str, Any]) -> dict[str, str]:
        return {**(source.get("tags") or {}), SCRATCH_TAG: self.server, "Purpose": "disaster-recovery drill"}

    # ------------------------------------------------------------------ steps
    def databases(self, server: str, point: datetime | None = None) -> set[str]:
        """The server's databases; with `point`, those created by then (ARM's systemData.createdAt; a database
        without it, made over SQL, is expected too)."""
        found = call(lambda: list(self.pg.databases.list_by_server(self.rg, server)))
        out = set()
        for database in found:
            created = _created(database)
            if point is None or created is None or created <= point:
                out.add(str(database.name))
        return out

    def canary(self, name: str) -> datetime:
        """Create a canary database on the source; returns when it was asked for (its commit is later)."""
        asked = self.now()
        self.canaries.append(name)
        self._retrying(lambda: wait(call(self.pg.databases.begin_create, self.rg, self.server, name,
                                         {"properties": {"charset": "UTF8"}})))
        return asked

    def restore(self, scratch: str, body: dict[str, Any]) -> float:
        """PUT the scratch server (retrying a point whose WAL is not restorable yet); seconds spent waiting."""
        first = self.clock()
        while True:
            attempt = self.clock()
            try:
                self.scratch = scratch
                poller = call(self.pg.servers.begin_create_or_update, self.rg, scratch, body)
                break
            except AzureCallError as exc:
                if exc.code not in NOT_YET or self.clock() - first > self.options.restore_wait:
                    raise
                self.say(f"the point is not restorable yet ({exc.code}); trying again in {self.options.retry_interval:.0f}s")
                self.sleep(self.options.retry_interval)
        waited = attempt - first  # the retries only, not the accepted request itself
        wait(poller)
        while True:  # a new server stays Updating a while after its operation has ended
            state = str(((raw(self.pg.servers.get, self.rg, scratch) or {}).get("properties") or {}).get("state") or "")
            if state.lower() == "ready":
                return waited
            self.sleep(self.options.poll)

    def verify(self, scratch: str, source: dict[str, Any]) -> set[str]:
        """The restored server's databases, read over SQL: a new admin password on the scratch server (the drill
        never knows the source's) and a firewall rule for this machine."""
        password = secrets.token_urlsafe(24) + "-Aa1"
        self._retrying(lambda: wait(call(self.pg.servers.begin_update, self.rg, scratch,
                                         {"properties": {"administratorLoginPassword": password}})))
        self.open_public_access(scratch)
        ip = pgclient.public_ip(self.clients, self.options.client_ip)
        self._retrying(lambda: wait(call(self.pg.firewall_rules.begin_create_or_update, self.rg, scratch, RUNNER_RULE,
                                         {"properties": {"startIpAddress": ip, "endIpAddress": ip}})))
        body = raw(self.pg.servers.get, self.rg, scratch) or {}
        props = body.get("properties") or {}
        login = str(props.get("administratorLogin") or (source.get("properties") or {}).get("administratorLogin"))
        with pgclient.connect(self.clients, str(props.get("fullyQualifiedDomainName")), login, password) as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate").fetchall()
        return {str(r[0]) for r in rows}

    def open_public_access(self, scratch: str) -> None:
        """A server reached only through its private endpoint (production's) is restored with public network
        access Disabled, as its source: no firewall rule lets this machine in until the scratch server's public
        access is on. Azure allows the change once a restored server exists (the service team's answer in
        hashicorp/terraform-provider-azurerm#18962); the source is never touched."""
        body = raw(self.pg.servers.get, self.rg, scratch) or {}
        network = (body.get("properties") or {}).get("network") or {}
        if str(network.get("publicNetworkAccess") or "Enabled").lower() != "disabled":
            return
        self.say(f"{scratch}: public network access on for the drill (restored from a server behind a private endpoint)")
        self._retrying(lambda: wait(call(self.pg.servers.begin_update, self.rg, scratch,
                                         {"properties": {"network": {"publicNetworkAccess": "Enabled"}}})))

    # ------------------------------------------------------------------ cleanup
    def cleanup(self) -> None:
        """Delete the scratch server (waiting out an in-flight restore) and the canaries; never raises."""
        if self.scratch:
            try:
                self._delete_server(self.scratch)
                self.say(f"deleted the scratch server {self.scratch}")
            except (AzureCallError, KeyboardInterrupt) as exc:
                self.left = str(exc) or "interrupted"
                self.say(f"could not delete the scratch server {self.scratch} ({self.left}): the next "
                         "`provisioner drill` deletes it, or delete it by hand")
        for name in self.canaries:
            try:
                self._delete_database(name)
            except AzureCallError as exc:
                if exc.code == "ScopeLocked":
                    # A CanNotDelete lock on the server (production's) covers its databases: the empty canary
                    # stays (drift ignores drill_canary_*); a later drill deletes it once the lock is gone.
                    self.kept.append(name)
                else:
                    self.say(f"could not delete the canary database {name} on {self.server} ({exc}): the next drill does")
            except KeyboardInterrupt:
                self.say(f"could not delete the canary database {name} on {self.server}: the next drill does")
        if self.kept:
            self.say(f"kept the canary database(s) {', '.join(self.kept)}: a lock on {self.server} forbids deleting them")

    def sweep(self) -> None:
        """What an earlier drill left (killed before its cleanup): scratch servers tagged for this source, and
        canary databases on the source."""
        for server in call(lambda: list(self.pg.servers.list_by_resource_group(self.rg))):
            if (server.tags or {}).get(SCRATCH_TAG) == self.server:
                self.say(f"deleting {server.name}, left over by an earlier drill")
                self._delete_server(str(server.name))
        if raw(self.pg.servers.get, self.rg, self.server) is None:
            return
        for name in sorted(self.databases(self.server)):
            if name.startswith(CANARY_PREFIX):
                try:
                    self._delete_database(name)
                    self.say(f"deleted the canary database {name}, left over by an earlier drill")
                except AzureCallError as exc:
                    if exc.code != "ScopeLocked":
                        raise

    def _delete_server(self, name: str) -> None:
        self._retrying(lambda: wait(call(self.pg.servers.begin_delete, self.rg, name)), self.options.cleanup_timeout)

    def _delete_database(self, name: str) -> None:
        self._retrying(lambda: wait(call(self.pg.databases.begin_delete, self.rg, self.server, name)))

    def _retrying(self, action: Callable[[], Any], deadline: float = 600.0) -> Any:
        """Retry what Azure answers with 'busy' (a server still Updating, a restore still running)."""
        first = self.clock()
        while True:
            try:
                return action()
            except AzureCallError as exc:
                if not exc.retryable or self.clock() - first > deadline:
                    raise
                self.sleep(self.options.poll)
