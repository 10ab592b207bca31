"""Errors keep their cause: the credential that was tried and Entra ID's AADSTS code, a malformed --arm-endpoint as a
usage error. The credentials are azure-identity's own classes; only the HTTP transport under them is faked, answering
what Entra ID answers (its error JSON), so the messages parsed are the library's, not ours."""

from __future__ import annotations

import json

import click
import pytest
import requests
from azure.core.pipeline.transport import HttpTransport
from azure.core.pipeline.transport._requests_basic import RequestsTransportResponse

from provisioner.azure import NO_CREDENTIAL, Clients, Target, check_access
from provisioner.cli.guard import arm_endpoint
from provisioner.core.errors import TargetError

TENANT, CLIENT = "22222222-2222-2222-2222-222222222222", "11111111-1111-1111-1111-111111111111"
# Entra ID's answer to a wrong client secret (error_description as the token endpoint sends it).
INVALID_SECRET = {"error": "invalid_client", "error_codes": [7000215], "error_description": (
    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
    f"value, not the client secret ID, for a secret added to app '{CLIENT}'.\r\nTrace ID: 0\r\nCorrelation ID: 0\r\n"
    "Timestamp: 2026-12-07 10:00:00Z")}


class FakeEntra(HttpTransport):
    """login.microsoftonline.com as msal sees it: metadata, instance discovery, and a token endpoint that refuses."""

    def __init__(self, refusal: dict) -> None:
        self.refusal = refusal

    def __enter__(self) -> FakeEntra:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        answer = requests.Response()
        answer.url, answer.headers["Content-Type"] = request.url, "application/json"
        base = f"https://login.microsoftonline.com/{TENANT}"
        if "openid-configuration" in request.url:
            answer.status_code, body = 200, {"token_endpoint": f"{base}/oauth2/v2.0/token", "issuer": f"{base}/v2.0",
                                             "authorization_endpoint": f"{base}/oauth2/v2.0/authorize"}
        elif "discovery/instance" in request.url:
            answer.status_code, body = 200, {"tenant_discovery_endpoint": f"{base}/v2.0/.well-known/openid-configuration",
                                             "metadata": [{"preferred_network": "login.microsoftonline.com",
                                                           "aliases": ["login.microsoftonline.com"]}]}
        else:
            answer.status_code, body = 401, self.refusal
        answer._content = json.dumps(body).encode()
        return RequestsTransportResponse(request, answer)


def _refused(credential) -> str:
    clients = Clients(Target("00000000-0000-0000-0000-000000000000", credential=credential))
    with pytest.raises(TargetError) as info:
        check_access(clients, "fundrbolt-dev-rg")
    return str(info.value)


def test_a_refused_service_principal_names_the_credential_and_the_aadsts_code(monkeypatch):
    from azure.identity import DefaultAzureCredential

    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT)
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-the-secret")
    message = _refused(DefaultAzureCredential(transport=FakeEntra(INVALID_SECRET)))
    assert "EnvironmentCredential" in message and "AZURE_CLIENT_SECRET" in message
    assert "AADSTS7000215: Invalid client secret provided" in message
    assert "az login" not in message and "not-the-secret" not in message


def test_a_single_credential_is_named_too():
    from azure.identity import ClientSecretCredential

    unknown_app = {"error": "unauthorized_client", "error_codes": [700016], "error_description":
                   f"AADSTS700016: Application with identifier '{CLIENT}' was not found in the directory.\r\nTrace ID: 0"}
    message = _refused(ClientSecretCredential(TENANT, CLIENT, "x", transport=FakeEntra(unknown_app)))
    assert message.startswith("Azure refused the credential: ClientSecretCredential") and "AADSTS700016" in message


def test_no_credential_at_all_still_says_how_to_sign_in(monkeypatch):
    from azure.identity import AzureCliCredential, ChainedTokenCredential, EnvironmentCredential

    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no `az` to ask: both credentials are unavailable, none tried
    assert _refused(ChainedTokenCredential(EnvironmentCredential(), AzureCliCredential())) == NO_CREDENTIAL


@pytest.mark.parametrize("value", ["127.0.0.1:47000", "localhost", "ftp://127.0.0.1:47000", "http://", "http://h:99999",
                                   "management.azure.com"])
def test_a_malformed_arm_endpoint_is_a_usage_error(value):
    with pytest.raises(click.BadParameter) as info:
        arm_endpoint(None, None, value)  # type: ignore[arg-type]
    assert value in info.value.message


def test_a_well_formed_arm_endpoint_passes():
    assert arm_endpoint(None, None, "http://127.0.0.1:47000/") == "http://127.0.0.1:47000"  # type: ignore[arg-type]
    assert arm_endpoint(None, None, "https://management.usgovcloudapi.net") == "https://management.usgovcloudapi.net"  # type: ignore[arg-type]
