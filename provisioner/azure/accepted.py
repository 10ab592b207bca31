"""PUTs that Azure answers with 202 Accepted + Location although their REST spec, and so the generated SDK operation,
declare only 200: the SDK raises on the 202; here it is taken as the start of a long-running operation and the
Location is polled to its end with azure-mgmt-core's own ARM poller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provisioner.azure.calls import call


def put_accepted(operation: Callable[..., Any], *args: Any, polling_interval: float = 5.0, **kwargs: Any) -> Any:
    """Run a synchronous-looking SDK PUT; on 202 + Location (App Service managed certificates: azure-sdk-for-python
    #34395 "Operation returned an invalid status 'Accepted'", azure-rest-api-specs#27962) wait for the operation
    (Retry-After honoured) and return None: the caller reads the resource afterwards. Errors map as `call`'s do,
    a failed operation included."""
    from azure.core.exceptions import HttpResponseError

    def attempt() -> Any:
        try:
            return operation(*args, **kwargs)
        except HttpResponseError as exc:
            response = getattr(exc, "response", None)
            if exc.status_code == 202 and response is not None and response.headers.get("Location"):
                return _wait(operation, response, polling_interval)
            raise

    return call(attempt)


def _wait(operation: Callable[..., Any], response: Any, polling_interval: float) -> None:
    from azure.core.pipeline import PipelineContext, PipelineResponse
    from azure.core.polling import LROPoller
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    client = operation.__self__._client  # type: ignore[attr-defined]  # the operation group's PipelineClient
    initial = PipelineResponse(response.request, response, PipelineContext(None))
    LROPoller(client, initial, lambda _pipeline_response: None, ARMPolling(polling_interval)).result()
