"""Where requests go and who sends them: the target, credentials, pipeline policies and lazily built clients."""

from __future__ import annotations

import importlib
import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from provisioner.azure.calls import call, raw
from provisioner.core.errors import AzureCallError, TargetError

USER_AGENT = "fundrbolt-provisioner/0.1.0"
# Our writes carry a correlation id with this prefix, so Activity Log attribution never blames us.
CORRELATION_PREFIX = "fb0c0de0-"
PUBLIC_ARM = "https://management.azure.com"

# azure-identity logs every failed credential at WARNING; with no logging configured Python's last-resort
# handler prints each one to stderr (hundreds of lines). Our own one-line message replaces them.
logging.getLogger("azure").addHandler(logging.NullHandler())
logging.getLogger("azure").propagate = False


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
    "redisenterprise": ("azure.mgmt.redisenterprise", "RedisEnterpriseManagementClient"),
    "dns": ("azure.mgmt.dns", "DnsManagementClient"),
    "network": ("azure.mgmt.network", "NetworkManagementClient"),
    "private_dns": ("azure.mgmt.privatedns", "PrivateDnsManagementClient"),
    "communication": ("azure.mgmt.communication", "CommunicationServiceManagementClient"),
    "appinsights": ("azure.mgmt.applicationinsights", "ApplicationInsightsManagementClient"),
    "consumption": ("azure.mgmt.consumption", "ConsumptionManagementClient"),
    "authorization": ("azure.mgmt.authorization", "AuthorizationManagementClient"),
    # the multi-API package's top-level client has no operation groups in its docstring: the current stable API
    "msi": ("azure.mgmt.msi.v2024_11_30", "ManagedServiceIdentityClient"),
}


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
            from provisioner.azure.credentials import github_actions_credential, on_github_actions

            if on_github_actions():
                # A GitHub Actions job signs in with its own OIDC token (credentials.py), on any endpoint that
                # is not the embedded local cloud (which hands its Target a static credential).
                self._credential = github_actions_credential(self.target.ca_file)
            elif self.target.local:
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


def by_id(clients: Clients, resource_id: str, api_version: str) -> dict[str, Any] | None:
    """Generic GET of any ARM id (extension resources, types whose SDK lags)."""
    return raw(clients.resource.resources.get_by_id, resource_id, api_version=api_version)
