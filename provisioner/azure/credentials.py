"""Which credential a run signs in with: on GitHub Actions, a fresh GitHub OIDC token for every Azure token
(workload identity federation); a static token on the local cloud; DefaultAzureCredential elsewhere.

Why not `azure/login` and the Azure CLI's token: azure/login exchanges the job's OIDC token once, and the CLI
replays that same assertion when it needs a new Azure token; GitHub's OIDC tokens live minutes, so a job that
outlives its first Azure token fails with AADSTS700024 "Client assertion is not within its valid time range"
(Azure/login#180, Azure/azure-cli#28708). azure-identity's ClientAssertionCredential calls its `func` "every
time it acquires a new token", so asking the Actions token endpoint there keeps a run of any length signed in.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from provisioner.core.errors import TargetError

ACTIONS_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
ACTIONS_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
# The audience Entra ID expects of a federated assertion (learn.microsoft.com/entra/workload-id/
# workload-identity-federation-create-trust: "api://AzureADTokenExchange").
EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
NEEDED = (ACTIONS_URL, ACTIONS_TOKEN, "AZURE_CLIENT_ID", "AZURE_TENANT_ID")


def on_github_actions(env: Mapping[str, str] | None = None) -> bool:
    """A GitHub Actions job with `permissions: id-token: write` (which sets ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN)
    and the app registration named by AZURE_CLIENT_ID / AZURE_TENANT_ID."""
    env = os.environ if env is None else env
    return all(env.get(k) for k in NEEDED)


def github_oidc_token(env: Mapping[str, str] | None = None, timeout: float = 10.0) -> str:
    """A new OIDC token for this job from the Actions token endpoint, as @actions/core getIDToken asks for it:
    GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=..., `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`,
    answer `{"value": "<jwt>"}` (docs.github.com/actions/security-for-github-actions/security-hardening-your-
    deployments/configuring-openid-connect-in-cloud-providers). Retried twice on a network error or a 5xx."""
    from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

    env = os.environ if env is None else env
    url = env[ACTIONS_URL]
    request = urllib.request.Request(f"{url}{'&' if '?' in url else '?'}audience={quote(EXCHANGE_AUDIENCE, safe='')}",
                                     headers={"Authorization": f"Bearer {env[ACTIONS_TOKEN]}",
                                              "Accept": "application/json; api-version=2.0"})

    def transient(exc: BaseException) -> bool:
        return isinstance(exc, urllib.error.URLError) and not (
            isinstance(exc, urllib.error.HTTPError) and exc.code < 500)

    @retry(retry=retry_if_exception(transient), stop=stop_after_attempt(3), wait=wait_exponential(0.5, max=4),
           reraise=True)
    def fetch() -> str:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - the runner's own endpoint
            value = json.loads(answer.read() or b"{}").get("value")
        if not value:
            raise TargetError("the GitHub Actions token endpoint answered without a token")
        return str(value)

    try:
        return fetch()
    except urllib.error.HTTPError as exc:
        raise TargetError(f"the GitHub Actions token endpoint refused the request ({exc.code}): does the job have "
                          "`permissions: id-token: write`?") from None
    except urllib.error.URLError as exc:
        raise TargetError(f"cannot reach the GitHub Actions token endpoint: {exc.reason}") from None


def github_actions_credential(ca_file: str | None = None, env: Mapping[str, str] | None = None) -> Any:
    """ClientAssertionCredential for AZURE_CLIENT_ID in AZURE_TENANT_ID, its assertion fetched anew for every
    Azure token. The authority is azure-identity's default (AZURE_AUTHORITY_HOST, else Azure public cloud);
    `ca_file` is trusted for it when the target is a local cloud (its Entra stand-in serves https)."""
    from azure.identity import ClientAssertionCredential

    env = dict(os.environ if env is None else env)
    extra: dict[str, Any] = {"connection_verify": ca_file} if ca_file else {}
    return ClientAssertionCredential(env["AZURE_TENANT_ID"], env["AZURE_CLIENT_ID"],
                                     lambda: github_oidc_token(env), **extra)
