"""The first call of every run: a token for the ARM scope and one read, so a missing credential, permission or
endpoint is one line within seconds."""

from __future__ import annotations

from provisioner.azure.calls import _short, permission_message
from provisioner.azure.clients import Clients
from provisioner.core.errors import TargetError

NO_CREDENTIAL = ("no Azure credential: run `az login` (or `azd auth login`), or set AZURE_CLIENT_ID, "
                 "AZURE_TENANT_ID and AZURE_CLIENT_SECRET; in CI use OIDC (azure/login with a federated "
                 "credential, or AZURE_FEDERATED_TOKEN_FILE); --cloud local needs none")


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
            raise TargetError(NO_CREDENTIAL) from None
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
        if exc.status_code == 404 and code != "SubscriptionNotFound":
            return  # the group does not exist yet: the plan creates it
        if code == "SubscriptionNotFound":
            raise TargetError(f"subscription {clients.target.subscription_id} not found (or this credential "
                              "cannot see it): check --subscription / AZURE_SUBSCRIPTION_ID") from None
        text = permission_message(exc.status_code, code, message)
        if text:
            raise TargetError(text) from None
        if exc.status_code is not None and exc.status_code >= 500:
            return  # a transient server error: the step reads retry it
        raise TargetError(f"{endpoint}: {exc.status_code} {code or ''}: {_short(message)}") from None
