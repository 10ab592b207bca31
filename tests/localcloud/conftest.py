"""Fixtures: a fresh LocalCloud per test and real azure-mgmt clients pointed at it over plain http."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.pipeline.policies import SansIOHTTPPolicy

from provisioner.localcloud import LocalCloud
from provisioner.localcloud.providers import register_all

SUB = "00000000-0000-0000-0000-000000000000"
RG = "rg-test"


class AllowHttp(SansIOHTTPPolicy):
    """Lets the bearer policy send its token over http (the flag is read per request)."""

    def on_request(self, request: Any) -> None:
        request.context.options["enforce_https"] = False


class StaticCred:
    def __init__(self, token: str = "fundrbolt-provisioner") -> None:
        self.token = token

    def get_token(self, *scopes: str, **kw: Any) -> AccessToken:
        return AccessToken(self.token, 4102444800)


def jwt(**claims: Any) -> str:
    """An unsigned JWT naming a principal (`oid`) and its directory (`tid`), as Entra ID tokens do."""
    import base64

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as c:
        # These tests write with bare SDK clients, as a subscription in use would be: its providers registered
        # (the registration itself is tested in test_azure_2026.py).
        register_all(c)
        yield c


@pytest.fixture
def make(cloud: LocalCloud) -> Callable[..., Any]:
    """make(ClientClass, **kwargs): a real SDK client talking to the local cloud."""

    def factory(client_cls: Any, **kw: Any) -> Any:
        kw.setdefault("polling_interval", 0.05)
        return client_cls(StaticCred(), SUB, base_url=cloud.url, per_call_policies=[AllowHttp()], **kw)

    return factory


@pytest.fixture
def rg(make: Callable[..., Any]) -> str:
    from azure.mgmt.resource.resources import ResourceManagementClient

    make(ResourceManagementClient).resource_groups.create_or_update(RG, {"location": "eastus"})
    return RG


def rid(*parts: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/" + "/".join(parts)


def raw(cloud: LocalCloud, method: str, path: str, body: Any = None, token: str | None = "alice@fundrbolt.app",
        headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    """A plain urllib request (what a person in the portal, or curl, would do)."""
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    req = urllib.request.Request(cloud.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req) as resp:
            text = resp.read()
            return resp.status, json.loads(text) if text else None, dict(resp.headers)
    except urllib.error.HTTPError as err:
        text = err.read()
        return err.code, json.loads(text) if text else None, dict(err.headers)


def dns_proof(make: Callable[..., Any], rg: str, host: str, cname: str, asuid: str | None = None) -> None:
    """The records a service checks before binding `host` (in the registered zone of its last two labels)."""
    from azure.mgmt.dns import DnsManagementClient

    dns = make(DnsManagementClient)
    zone = ".".join(host.split(".")[-2:])
    relative = host[: -len(zone) - 1]
    dns.zones.create_or_update(rg, zone, {"location": "global"})
    dns.record_sets.create_or_update(rg, zone, relative, "CNAME", {"properties": {"TTL": 60, "CNAMERecord": {"cname": cname}}})
    if asuid:
        dns.record_sets.create_or_update(rg, zone, f"asuid.{relative}", "TXT",
                                         {"properties": {"TTL": 60, "TXTRecords": [{"value": [asuid]}]}})
