"""Connect to a flexible server by its FQDN, on Azure or on the local cloud; find this machine's public address.

On Azure: host = the FQDN, port 5432, TLS verified against the system's roots (sslmode=verify-full,
sslrootcert=system). On a local cloud: the same host name with libpq's `hostaddr`/port from the cloud's
GET /_localcloud/endpoints ({"postgres": {fqdn: "127.0.0.1:port"}}), TLS required but the name not verified
(the local certificate names 127.0.0.1 only). The password is never logged.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from provisioner.core.errors import ProvisionerError

PUBLIC_IP_URL = "https://api.ipify.org"


class PgConnectFailed(ProvisionerError):
    """The server could not be reached or refused the login."""


def _local_endpoints(arm_endpoint: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{arm_endpoint.rstrip('/')}/_localcloud/endpoints", timeout=30) as resp:  # noqa: S310
        return dict(json.loads(resp.read()))


def conninfo(clients: Any, fqdn: str) -> dict[str, Any]:
    """libpq connection parameters (no credentials) for a server's FQDN on this target."""
    target = clients.target
    if target.local:
        where = (_local_endpoints(target.arm_endpoint).get("postgres") or {}).get(fqdn.lower())
        if not where:
            raise PgConnectFailed(f"{fqdn}: the local cloud runs no database for it (no PostgreSQL binaries, or "
                                  "PROVISIONER_LOCALCLOUD_POSTGRES=off)")
        host, port = str(where).rsplit(":", 1)
        return {"host": fqdn, "hostaddr": host, "port": int(port), "sslmode": "require"}
    return {"host": fqdn, "port": 5432, "sslmode": "verify-full", "sslrootcert": "system"}


def connect(clients: Any, fqdn: str, user: str, password: str, dbname: str = "postgres", timeout: int = 15) -> Any:
    """An autocommit psycopg connection."""
    import psycopg

    try:
        return psycopg.connect(**conninfo(clients, fqdn), user=user, password=password, dbname=dbname,
                               autocommit=True, connect_timeout=timeout)
    except psycopg.OperationalError as exc:
        raise PgConnectFailed(f"cannot connect to {fqdn} as {user}: {str(exc).splitlines()[-1].strip()}") from None


def public_ip(clients: Any, given: str | None = None) -> str:
    """The address the target's firewalls see for this machine: given, the local cloud's, or asked of a
    what-is-my-IP service (GitHub's hosted runners have no fixed address)."""
    if given:
        return given
    if clients.target.local:
        return str(_local_endpoints(clients.target.arm_endpoint).get("client_ip") or "127.0.0.1")
    try:
        with urllib.request.urlopen(PUBLIC_IP_URL, timeout=15) as resp:  # noqa: S310
            return resp.read().decode().strip()
    except OSError as exc:
        raise PgConnectFailed(f"cannot learn this machine's public IP from {PUBLIC_IP_URL} ({exc}); pass --client-ip") from None
