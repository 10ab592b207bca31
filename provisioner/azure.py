"""The only SDK boundary: credentials, endpoints, lazy clients, raw reads, LRO waits and error mapping."""

from __future__ import annotations

import importlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provisioner.errors import AzureCallError, TargetError

USER_AGENT = "fundrbolt-provisioner/0.1.0"
# Our writes carry a correlation id with this prefix, so Activity Log attribution never blames us.
CORRELATION_PREFIX = "fb0c0de0-"
PUBLIC_ARM = "https://management.azure.com"

# azure-identity logs every failed credential at WARNING; with no logging configured Python's last-resort
# handler prints each one to stderr (hundreds of lines). Our own one-line message replaces them.
logging.getLogger("azure").addHandler(logging.NullHandler())
logging.getLogger("azure").propagate = False

NO_CREDENTIAL = ("no Azure credential: run `az login` (or `azd auth login`), or set AZURE_CLIENT_ID, "
                 "AZURE_TENANT_ID and AZURE_CLIENT_SECRET; in CI use OIDC (azure/login with a federated "
                 "credential, or AZURE_FEDERATED_TOKEN_FILE); --cloud local needs none")
# ARM's AuthorizationFailed message names the action and the scope ("The client 'x' with object id 'y' does
# not have authorization to perform action 'Microsoft.Resources/subscriptions/resourcegroups/read' over scope
# '/subscriptions/…/resourcegroups/…' or the scope is invalid." — e.g. pulumi/pulumi#8993, Azure/azure-cli#32165).
_AUTHZ = re.compile(r"perform action '(?P<action>[^']+)' over scope '(?P<scope>[^']+)'")
# The Key Vault data plane's 403 (ForbiddenByRbac) lists them on lines of their own: "Action: '...'" and
# "Resource: '...'" (hashicorp/terraform-provider-azurerm#27817, Azure/azure-cli#15528).
_KV_ACTION = re.compile(r"Action: '([^']+)'")
_KV_RESOURCE = re.compile(r"Resource: '([^']+)'")

# attribute -> (module, class). Imported on first use: `provisioner --help` must not load any SDK.
CLIENTS: dict[str, tuple[str, str]] = {
    "resource": ("azure.mgmt.resource.resources", "ResourceManagementClient"),
    "locks": ("azure.mgmt.resource.locks", "ManagementLockClient"),
    "web": ("azure.mgmt.web", "WebSiteManagementClient"),
    "keyvault": ("azure.mgmt.keyvault", "KeyVaultManagementClient"),
    "storage": ("azure.mgmt.storage", "StorageManagementClient"),
    "loganalytics": ("azure.mgmt.loganalytics", "LogAnalyticsManagementClient"),
    "monitor": ("azure.mgmt.monitor", "MonitorManagementClient"),
    "postgres": ("azure.mgmt.postgresqlflexibleservers", "PostgreSQLManagementClient"),
    "redis": ("azure.mgmt.redis", "RedisManagementClient"),
    "dns": ("azure.mgmt.dns", "DnsManagementClient"),
    "network": ("azure.mgmt.network", "NetworkManagementClient"),
    "communication": ("azure.mgmt.communication", "CommunicationServiceManagementClient"),
    "appinsights": ("azure.mgmt.applicationinsights", "ApplicationInsightsManagementClient"),
    "consumption": ("azure.mgmt.consumption", "ConsumptionManagementClient"),
    "authorization": ("azure.mgmt.authorization", "AuthorizationManagementClient"),
}

# ARM error codes that mean "try again shortly", which azure-core's RetryPolicy does not retry (409s).
TRANSIENT_CODES = {
    "AnotherOperationInProgress",
    "ServerIsBusy",
    # PostgreSQL Flexible Server answers child writes with ServerBusy while the server is Updating
    # (azure-rest-api-specs postgresql common error codes; azure-sdk-facts: PG settles via `state`).
    "ServerBusy",
    "OperationInProgress",
    "RetryableError",
    "ReferencedResourceNotProvisioned",
    # An LRO that ends Canceled was stopped by the platform, not refused: re-PUT (ARCHITECTURE.md, Applying).
    "OperationCanceled",
    "Canceled",
}
# A plain 409 `Conflict` is permanent (a name taken, a plan full, a purge-protected vault): retrying it until
# the deadline only delays the failure. Only its busy/in-progress wording is transient (App Service answers
# "Cannot modify this site because another operation is in progress" under code Conflict).
_BUSY_WORDING = re.compile(r"in progress|is busy|try again later|retry (when|later)", re.IGNORECASE)


def is_transient(status: int | None, code: str | None, message: str) -> bool:
    """Pure: whether an ARM error answer is worth retrying at the step level."""
    if code in TRANSIENT_CODES or status in (429, 502, 503, 504):
        return True
    return status == 409 and code in (None, "", "Conflict") and bool(_BUSY_WORDING.search(message or ""))


class StaticTokenCredential:
    """The local cloud wants a bearer token of any value; this one names who is calling."""

    def __init__(self, token: str = "fundrbolt-provisioner"):
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, 4102444800)


@dataclass
class Target:
    """Where requests go: Azure (default), any ARM-compatible endpoint, or the embedded local cloud."""

    subscription_id: str
    arm_endpoint: str = PUBLIC_ARM
    local: bool = False
    credential: Any = None
    polling_interval: float = 5.0
    # The local cloud serves the Key Vault data plane over https with its own certificate (the data-plane
    # SDK refuses plain http); trust it only for that target.
    ca_file: str | None = None
    correlation_id: str = field(default_factory=lambda: CORRELATION_PREFIX + str(uuid.uuid4())[9:])

    @property
    def plain_http(self) -> bool:
        return self.arm_endpoint.startswith("http://")


def _allow_http_policy() -> Any:
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class AllowHttp(SansIOHTTPPolicy):
        # The bearer policy refuses plain http; loopback endpoints are http, so say so per request
        # (the constructor flag is ignored: azure-sdk-facts §3).
        def on_request(self, request: Any) -> None:
            request.context["enforce_https"] = False

    return AllowHttp()


def _correlation_policy(correlation_id: str) -> Any:
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class Correlation(SansIOHTTPPolicy):
        def on_request(self, request: Any) -> None:
            request.http_request.headers["x-ms-correlation-request-id"] = correlation_id

    return Correlation()


class Clients:
    """Lazily built, cached SDK clients for one target; safe to share between worker threads."""

    def __init__(self, target: Target):
        self.target = target
        self._lock = threading.Lock()
        self._cache: dict[str, Any] = {}
        self._credential = target.credential

    def credential(self) -> Any:
        if self._credential is None:
            if self.target.local:
                self._credential = StaticTokenCredential()
            else:
                try:
                    from azure.identity import DefaultAzureCredential
                except ImportError as exc:  # pragma: no cover - dependency is declared
                    raise TargetError(f"azure-identity is not installed: {exc}") from exc
                self._credential = DefaultAzureCredential()
        return self._credential

    def kwargs(self) -> dict[str, Any]:
        base = self.target.arm_endpoint.rstrip("/")
        policies = [_correlation_policy(self.target.correlation_id)]
        if self.target.plain_http:
            policies.insert(0, _allow_http_policy())
        scope = PUBLIC_ARM if self.target.local else base
        return {
            "base_url": base,
            "credential_scopes": [scope + "/.default"],
            "per_call_policies": policies,
            "polling_interval": self.target.polling_interval,
            "user_agent": USER_AGENT,
        }

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_") or attr not in CLIENTS:
            raise AttributeError(attr)
        with self._lock:
            if attr not in self._cache:
                module, cls = CLIENTS[attr]
                client_cls = getattr(importlib.import_module(module), cls)
                self._cache[attr] = client_cls(self.credential(), self.target.subscription_id, **self.kwargs())
            return self._cache[attr]

    def subscription_tenant(self) -> str:
        """The directory the subscription belongs to, as Azure says (GET /subscriptions/{id}): what a Key
        Vault's tenantId must be, or its data plane refuses every token (AKV10032)."""
        with self._lock:
            if "tenant" not in self._cache:
                from azure.mgmt.resource.subscriptions import SubscriptionClient

                kw = self.kwargs()
                client = SubscriptionClient(self.credential(), base_url=kw["base_url"],
                                            credential_scopes=kw["credential_scopes"],
                                            per_call_policies=kw["per_call_policies"], user_agent=USER_AGENT)
                sub = call(client.subscriptions.get, self.target.subscription_id)
                if not getattr(sub, "tenant_id", None):
                    raise AzureCallError(f"subscription {self.target.subscription_id} names no tenant")
                self._cache["tenant"] = str(sub.tenant_id).lower()
            return str(self._cache["tenant"])

    def caller_object_id(self) -> str | None:
        """The object id (`oid` claim) of the identity the ARM token names, lower-cased; None when the
        token is not a JWT (the local cloud's static token) or carries no oid."""
        if "caller_oid" not in self._cache:
            import base64

            oid = None
            try:
                token = self.credential().get_token(self.kwargs()["credential_scopes"][0]).token
                payload = token.split(".")[1]
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                oid = str(claims.get("oid") or "").lower() or None
            except Exception:  # not a JWT, or no credential: nothing to protect by identity
                oid = None
            self._cache["caller_oid"] = oid
        return self._cache["caller_oid"]

    def secrets(self, vault_url: str) -> Any:
        """A Key Vault data-plane client for one vault."""
        key = f"secrets:{vault_url}"
        with self._lock:
            if key not in self._cache:
                from azure.keyvault.secrets import SecretClient

                kw = self.kwargs()
                # The runner hands over the local cloud's CA file (this boundary never imports the local cloud).
                ca = self.target.ca_file
                extra = {"connection_verify": ca} if ca else {}
                self._cache[key] = SecretClient(
                    vault_url,
                    self.credential(),
                    verify_challenge_resource=not self.target.local,
                    per_call_policies=kw["per_call_policies"],
                    user_agent=USER_AGENT,
                    **extra,
                )
            return self._cache[key]


def raw(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any] | None:
    """Call a GET-like SDK operation and return the raw JSON body, or None when it does not exist."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return call(operation, *args, cls=lambda response, obj, headers: _json(response.http_response), **kwargs)
    except AzureCallError as exc:
        if exc.status == 404:
            return None
        raise
    except ResourceNotFoundError:
        return None


def _json(http_response: Any) -> Any:
    # Multi-API clients (authorization 4.0) hand back the legacy transport response: text(), no json().
    if hasattr(http_response, "json"):
        return http_response.json()
    text = http_response.text()
    return json.loads(text) if text else None


def wait(poller: Any) -> Any:
    """Wait for a long-running operation; a Failed/Canceled LRO raises like any other call."""
    return call(poller.result)


def call(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one SDK call, mapping azure-core errors onto our error tree (message never includes bodies)."""
    from azure.core.exceptions import AzureError, HttpResponseError, ServiceRequestError

    try:
        return operation(*args, **kwargs)
    except HttpResponseError as exc:
        code = getattr(getattr(exc, "error", None), "code", None)
        status = exc.status_code
        message = getattr(getattr(exc, "error", None), "message", None) or exc.reason or str(exc).splitlines()[0]
        retryable = is_transient(status, code, message)
        text = permission_message(status, code, message) or f"{status} {code or ''}: {message}".strip()
        raise AzureCallError(text, code=code, status=status, retryable=retryable) from None
    except ServiceRequestError as exc:
        raise AzureCallError(f"cannot reach the endpoint: {_short(str(exc))}", retryable=True) from None
    except AzureError as exc:
        raise AzureCallError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def by_id(clients: Clients, resource_id: str, api_version: str) -> dict[str, Any] | None:
    """Generic GET of any ARM id (extension resources, types whose SDK lags)."""
    return raw(clients.resource.resources.get_by_id, resource_id, api_version=api_version)


def permission_message(status: int | None, code: str | None, message: str) -> str | None:
    """One line for a 401/403: which permission is missing on which scope, and a role that grants it."""
    if status == 403 or code in ("AuthorizationFailed", "ForbiddenByRbac"):
        found = _AUTHZ.search(message or "")
        kv_action, kv_resource = _KV_ACTION.search(message or ""), _KV_RESOURCE.search(message or "")
        if found or (kv_action and kv_resource):
            action, scope = (found["action"], found["scope"]) if found else (kv_action[1], kv_resource[1])  # type: ignore[index]
            return (f"permission denied: {action} on {scope}; grant a role that includes it "
                    f"(e.g. {_role_for(action)}) at that scope")
        return f"permission denied ({code or status}): {(message or '').splitlines()[0] if message else ''}".rstrip(": ")
    if status == 401:
        return f"the credential was refused ({code or 401}): sign in again (`az login`) or check the service principal"
    return None


def _role_for(action: str) -> str:
    lower = action.lower()
    if lower.startswith("microsoft.keyvault/vaults/secrets/"):
        return "Key Vault Secrets Officer"
    if lower.endswith("/read"):
        return "Reader"
    if lower.startswith("microsoft.authorization/"):
        return "User Access Administrator or Owner"
    return "Contributor"


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

    endpoint = clients.target.arm_endpoint
    if not clients.target.local:
        try:
            clients.credential().get_token(clients.kwargs()["credential_scopes"][0])
        except ClientAuthenticationError:
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


def _short(text: str) -> str:
    """The first line, without urllib3's object reprs: '... Connection refused' rather than a page."""
    line = text.splitlines()[0] if text else ""
    found = re.search(r"\[Errno -?\d+\] ([^')\]]+)", line)
    return found.group(1).strip() if found else line[:200]
