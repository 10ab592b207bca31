"""The first call of every run: a token for the ARM scope and one read, so a missing credential, permission or
endpoint is one line within seconds."""

from __future__ import annotations

import re
from typing import Any

from provisioner.azure.calls import _short, permission_message
from provisioner.azure.clients import Clients
from provisioner.core.errors import TargetError

NO_CREDENTIAL = ("no Azure credential: run `az login` (or `azd auth login`), or set AZURE_CLIENT_ID, "
                 "AZURE_TENANT_ID and AZURE_CLIENT_SECRET; in CI use OIDC (azure/login with a federated "
                 "credential, or AZURE_FEDERATED_TOKEN_FILE); --cloud local needs none")


# What each credential of azure-identity's chain reads, so the message says what to fix.
_SOURCES = {
    "EnvironmentCredential": "the service principal in AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET "
                             "(or AZURE_CLIENT_CERTIFICATE_PATH)",
    "WorkloadIdentityCredential": "the federated token in AZURE_FEDERATED_TOKEN_FILE for AZURE_CLIENT_ID",
    "ManagedIdentityCredential": "this machine's managed identity",
    "AzureCliCredential": "the account of `az login`",
    "AzureDeveloperCliCredential": "the account of `azd auth login`",
    "AzurePowerShellCredential": "the account of Connect-AzAccount",
    "SharedTokenCacheCredential": "a cached Visual Studio / shared token cache account",
    "ClientSecretCredential": "a service principal with a client secret",
    "ClientAssertionCredential": "a client assertion (federated token)",
}
# Entra ID's error codes (AADSTS7000215 invalid client secret, AADSTS700016 unknown application, AADSTS70021 no
# federated credential matches, ...) are the one thing that says what is wrong: keep them and their sentence.
_AADSTS = re.compile(r"AADSTS\d+:[^\r\n]*")
_ATTEMPT = re.compile(r"^\t?(\w+Credential): (.*)$")


def credential_failure(exc: BaseException, credential: Any) -> str:
    """One line for a refused token request: the credential that tried and Entra ID's error (AADSTS...), or the
    usual "no credential" advice when none of them could even try. `exc` is azure-identity's
    ClientAuthenticationError; a chain (DefaultAzureCredential) lists each attempt on its own line and stops at
    the first credential that tried and failed (azure.identity ChainedTokenCredential)."""
    text = str(getattr(exc, "message", None) or exc)
    attempts: list[tuple[str, str]] = []
    for line in text.splitlines():
        found = _ATTEMPT.match(line)
        if found:
            attempts.append((found[1], found[2]))
        elif attempts and line.strip() and not line.startswith("To mitigate"):
            attempts[-1] = (attempts[-1][0], attempts[-1][1] + "\n" + line)
    if not attempts:  # a single credential, not a chain
        attempts = [(type(credential).__name__, text)]
    chain = getattr(credential, "credentials", None)
    tried = [(name, msg) for name, msg in attempts if _AADSTS.search(msg)]
    if not tried and chain is not None and len(attempts) < len(chain):
        tried = attempts[-1:]  # the chain stopped early: that credential tried and was refused
    if not tried and chain is None:
        tried = attempts
    if not tried:
        return NO_CREDENTIAL
    name, msg = tried[0]
    code = _AADSTS.search(msg)
    reason = code[0].strip() if code else _short(msg.removeprefix("Authentication failed: "))
    return (f"Azure refused the credential: {name} ({_SOURCES.get(name, 'azure-identity')}) was tried and Entra ID "
            f"answered {reason}" if code else
            f"Azure refused the credential: {name} ({_SOURCES.get(name, 'azure-identity')}) was tried: {reason}")


def check_access(clients: Clients, resource_group: str) -> None:
    """Before reading anything: one token request for the ARM scope, then one GET of the resource group with
    no retries, so a missing credential, a missing permission or an unreachable endpoint is one line within
    seconds instead of one report per step (and azure-core's connection retries per step)."""
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
    )

    from provisioner.azure.clients import StaticTokenCredential
    from provisioner.azure.credentials import on_github_actions

    endpoint = clients.target.arm_endpoint
    if not isinstance(clients.credential(), StaticTokenCredential):
        try:
            clients.credential().get_token(clients.kwargs()["credential_scopes"][0])
        except ClientAuthenticationError as exc:
            if on_github_actions():  # Entra's own words name what is wrong (AADSTS70021: the subject, ...)
                reason = str(exc.message or exc).strip().splitlines()[-1][:400]
                raise TargetError(f"sign-in with the job's GitHub OIDC token as AZURE_CLIENT_ID failed: {reason}") from None
            raise TargetError(credential_failure(exc, clients.credential())) from None
        except AzureError as exc:  # e.g. CredentialUnavailableError subclasses, token endpoint unreachable
            raise TargetError(f"{NO_CREDENTIAL} ({type(exc).__name__})") from None
    try:
        clients.resource.resource_groups.get(resource_group, retry_total=0, connection_timeout=5)
    except ServiceRequestError as exc:
        reason = str(exc.message or exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TargetError(f"cannot reach {endpoint}: {_short(reason)}") from None
    except HttpResponseError as exc:  # ClientAuthenticationError (a 401) is one too
        code = getattr(getattr(exc, "error", None), "code", None)
        message = getattr(getattr(exc, "error", None), "message", None) or exc.reason or ""
        if exc.status_code == 404 and code == "ResourceGroupNotFound":
            return  # the group does not exist yet: the plan creates it
        if code == "SubscriptionNotFound":
            raise TargetError(f"subscription {clients.target.subscription_id} not found (or this credential "
                              "cannot see it): check --subscription / AZURE_SUBSCRIPTION_ID") from None
        if exc.status_code == 404:
            # ARM answers a missing group with 404 ResourceGroupNotFound in its error shape; a 404 without it is
            # something else (a web server, a wrong path prefix): every resource would read as absent and the
            # report would say the whole environment was deleted. Refused before any report.
            found = f"404 {code}" if code else "404 without an ARM error body"
            raise TargetError(f"{endpoint} does not answer like Azure Resource Manager: reading resource group "
                              f"{resource_group!r} gave {found} (ARM answers 404 ResourceGroupNotFound); check "
                              "--arm-endpoint") from None
        text = permission_message(exc.status_code, code, message)
        if text:
            raise TargetError(text) from None
        if exc.status_code is not None and exc.status_code >= 500:
            return  # a transient server error: the step reads retry it
        raise TargetError(f"{endpoint}: {exc.status_code} {code or ''}: {_short(message)}") from None
