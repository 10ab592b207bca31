"""Microsoft Entra sign-in to the local cloud's real PostgreSQL: a token is the password of the role Azure creates for an
Entra administrator, and the server refuses every token Azure's would (oracle: the PostgreSQL engine, through libpq;
the refusals are those the Azure documentation lists, cited in provisioner/localcloud/pg_entra.py)."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

import psycopg
import pytest

from provisioner.azure import Clients, Target, call, raw, wait
from provisioner.localcloud import LocalCloud
from provisioner.localcloud.jwtclaims import encode
from tests.support import SUB

RG, SERVER, ADMIN = "rg-pgentra", "pg-entra", "fundrbolt-deploy"
AUD = "https://ossrdbms-aad.database.windows.net/"


def entra_server(pg_cloud: LocalCloud, name: str) -> tuple[Clients, str, str]:
    """A server with Entra sign-in on, this machine in its firewall and a new principal as its Entra administrator."""
    clients = Clients(Target(SUB, pg_cloud.url, local=True, polling_interval=0.02, ca_file=str(pg_cloud.ca_file)))
    call(clients.resource.resource_groups.create_or_update, RG, {"location": "eastus"})
    wait(call(clients.postgres.servers.begin_create_or_update, RG, name, {
        "location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"administratorLogin": "fundrboltadmin", "administratorLoginPassword": "Entra-test-pw-1234",
                       "version": "14", "storage": {"storageSizeGB": 32}, "createMode": "Create",
                       "authConfig": {"passwordAuth": "Enabled", "activeDirectoryAuth": "Enabled"}}}))
    while (raw(clients.postgres.servers.get, RG, name) or {})["properties"].get("state") != "Ready":
        time.sleep(0.05)
    wait(call(clients.postgres.firewall_rules.begin_create_or_update, RG, name, "me",
              {"properties": {"startIpAddress": pg_cloud.client_ip, "endIpAddress": pg_cloud.client_ip}}))
    oid = str(uuid.uuid4())
    wait(call(clients.postgres.administrators_microsoft_entra.begin_create_or_update, RG, name, oid,
              {"properties": {"principalType": "ServicePrincipal", "principalName": ADMIN,
                              "tenantId": pg_cloud.engine.tenant_id}}))
    return clients, f"{name}.postgres.database.azure.com", oid


@pytest.fixture(scope="module")
def server(pg_cloud: LocalCloud) -> tuple[Clients, str, str]:
    return entra_server(pg_cloud, SERVER)


def _token(cloud: LocalCloud, oid: str, **over: Any) -> str:
    now = int(time.time())
    claims = {"aud": AUD, "iss": f"https://sts.windows.net/{cloud.engine.tenant_id}/", "iat": now, "nbf": now,
              "exp": now + 3600, "oid": oid, "sub": oid, "tid": cloud.engine.tenant_id, "idtyp": "app", **over}
    return cloud.entra.issue(claims)


def _connect(cloud: LocalCloud, fqdn: str, user: str, password: str) -> psycopg.Connection:
    with urllib.request.urlopen(f"{cloud.url}/_localcloud/endpoints") as resp:
        host, port = json.loads(resp.read())["postgres"][fqdn].rsplit(":", 1)
    return psycopg.connect(host=fqdn, hostaddr=host, port=int(port), user=user, password=password, dbname="postgres",
                           sslmode="require", autocommit=True, connect_timeout=5)


def test_an_entra_administrator_signs_in_with_its_token(pg_cloud: LocalCloud, server: tuple[Clients, str, str]) -> None:
    _, fqdn, oid = server
    with _connect(pg_cloud, fqdn, ADMIN, _token(pg_cloud, oid)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (ADMIN,)
        # Azure's Entra administrator is like the server admin: azure_pg_admin, no superuser
        assert conn.execute("SELECT pg_has_role('azure_pg_admin', 'member'), rolsuper FROM pg_roles "
                            "WHERE rolname = current_user").fetchone() == (True, False)
        conn.execute("CREATE DATABASE entra_made")


@pytest.mark.parametrize("case", ["other principal", "other audience", "expired", "not yet valid", "other tenant",
                                  "not issued by the directory", "empty"])
def test_tokens_a_real_server_refuses_are_refused(pg_cloud: LocalCloud, server: tuple[Clients, str, str],
                                                  case: str) -> None:
    _, fqdn, oid = server
    now = int(time.time())
    token = {
        "other principal": lambda: _token(pg_cloud, str(uuid.uuid4())),
        "other audience": lambda: _token(pg_cloud, oid, aud="https://management.azure.com/"),
        "expired": lambda: _token(pg_cloud, oid, nbf=now - 7200, exp=now - 60),
        "not yet valid": lambda: _token(pg_cloud, oid, nbf=now + 600),
        "other tenant": lambda: _token(pg_cloud, oid, tid=str(uuid.uuid4())),
        # the same claims, never issued: a forged (unsigned) token
        "not issued by the directory": lambda: encode({"aud": AUD, "nbf": now, "exp": now + 3600, "oid": oid,
                                                       "tid": pg_cloud.engine.tenant_id}),
        "empty": lambda: "",
    }[case]()
    with pytest.raises(psycopg.OperationalError, match="authentication failed|password"):
        _connect(pg_cloud, fqdn, ADMIN, token)


def test_no_entra_sign_in_once_it_is_disabled_or_the_admin_removed(pg_cloud: LocalCloud) -> None:
    name = "pg-entra-off"
    clients, fqdn, oid = entra_server(pg_cloud, name)
    _connect(pg_cloud, fqdn, ADMIN, _token(pg_cloud, oid)).close()
    wait(call(clients.postgres.servers.begin_update, RG, name,
              {"properties": {"authConfig": {"activeDirectoryAuth": "Disabled", "passwordAuth": "Enabled"}}}))
    with pytest.raises(psycopg.OperationalError, match="authentication failed"):
        _connect(pg_cloud, fqdn, ADMIN, _token(pg_cloud, oid))
    wait(call(clients.postgres.servers.begin_update, RG, name,
              {"properties": {"authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Enabled"}}}))
    _connect(pg_cloud, fqdn, ADMIN, _token(pg_cloud, oid)).close()
    wait(call(clients.postgres.administrators_microsoft_entra.begin_delete, RG, name, oid))
    with pytest.raises(psycopg.OperationalError, match="authentication failed"):
        _connect(pg_cloud, fqdn, ADMIN, _token(pg_cloud, oid))
