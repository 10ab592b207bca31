"""READ for the audit: the environment's resources as GET returns them, the child resources policy rules target,
and the related resources their IfNotExists effects look for. No decision here (provisioner/engine/policy)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from provisioner.core.errors import AzureCallError, ProvisionerError

# The API version each namespace is read with: "the latest API version is always used during compliance
# evaluation on existing resources" (definition-structure-policy-rule.md, requestContext()). These are the newest
# versions the pinned SDKs speak (their default `api_version`), so rule branches on requestContext().apiVersion
# take the branch Azure takes today.
API_VERSIONS: dict[str, str] = {
    "microsoft.web": "2025-05-01",
    "microsoft.storage": "2025-06-01",
    "microsoft.keyvault": "2024-11-01",
    "microsoft.cache": "2024-11-01",
    "microsoft.cache/redisenterprise": "2025-07-01",
    "microsoft.dbforpostgresql": "2025-08-01",
    "microsoft.network": "2024-05-01",
    "microsoft.network/dnszones": "2018-05-01",
    "microsoft.network/privatednszones": "2024-06-01",
    "microsoft.communication": "2025-05-01",
    "microsoft.operationalinsights": "2025-07-01",
    "microsoft.insights/components": "2020-02-02",
    "microsoft.insights/webtests": "2022-06-15",
    "microsoft.insights/diagnosticsettings": "2021-05-01-preview",
    "microsoft.insights/autoscalesettings": "2022-10-01",
    "microsoft.insights/metricalerts": "2018-03-01",
    "microsoft.insights/actiongroups": "2023-01-01",
    "microsoft.insights": "2022-10-01",
    "microsoft.authorization": "2022-04-01",
    "microsoft.consumption": "2024-08-01",
    "microsoft.resources": "2025-04-01",
}
DEFAULT_VERSION = "2024-03-01"


def api_version(resource_type: str) -> str:
    low = resource_type.lower()
    parts = low.split("/")
    for n in range(len(parts), 0, -1):
        found = API_VERSIONS.get("/".join(parts[:n]))
        if found:
            return found
    return DEFAULT_VERSION


def type_of(resource_id: str) -> str:
    """The resource type an ARM id names (`.../providers/Microsoft.Web/sites/a/slots/b` -> Microsoft.Web/sites/slots)."""
    low = resource_id.lower()
    at = low.rfind("/providers/")
    if at < 0:
        return "Microsoft.Resources/resourceGroups" if "/resourcegroups/" in low else "Microsoft.Resources/subscriptions"
    parts = resource_id[at + len("/providers/"):].split("/")
    return "/".join([parts[0], *parts[1::2]])


class Reader:
    """GETs over the SDK pipeline of the resources client (authentication, retries, our correlation id)."""

    def __init__(self, clients: Any):
        self.clients = clients

    def get(self, path: str, version: str | None = None) -> dict[str, Any] | None:
        """One GET of an ARM path; None on 404. A collection answer is followed through `nextLink`."""
        from azure.core.rest import HttpRequest

        from provisioner.azure import call

        base = self.clients.target.arm_endpoint.rstrip("/")
        url = f"{base}{path}?api-version={version or api_version(type_of(path))}"
        items: list[Any] | None = None
        while url:
            response = call(self.clients.resource.send_request, HttpRequest("GET", url))
            if response.status_code == 404:
                return None
            if response.status_code >= 400:
                body = _json(response) or {}
                error = body.get("error") or {}
                raise AzureCallError(f"{response.status_code} {error.get('code', '')}: {error.get('message', '')}".strip(),
                                     code=error.get("code"), status=response.status_code)
            doc = _json(response) or {}
            if isinstance(doc, list):  # a few lists are bare arrays (App Service VNet connections)
                return {"value": (items or []) + doc}
            if "value" not in doc or not isinstance(doc.get("value"), list):
                return doc
            items = (items or []) + doc["value"]
            url = doc.get("nextLink") or ""
        return {"value": items or []}

    def many(self, path: str, version: str | None = None) -> list[dict[str, Any]]:
        doc = self.get(path, version)
        if doc is None:
            return []
        return list(doc["value"]) if isinstance(doc.get("value"), list) else [doc]


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def read_all(work: Iterable[tuple[Any, Callable[[], Any]]], workers: int = 8) -> dict[Any, Any]:
    """Run reads concurrently: key -> result, or the error's message (str) when a read failed."""
    jobs = list(work)

    def run(job: tuple[Any, Callable[[], Any]]) -> tuple[Any, Any]:
        key, fn = job
        try:
            return key, fn()
        except ProvisionerError as exc:
            return key, str(exc)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return dict(pool.map(run, jobs))
