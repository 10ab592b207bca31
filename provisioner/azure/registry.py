"""Whether a container registry holds an image, asked of Azure Container Registry's data plane with the run's own
credential (azure-containerregistry; ACR admits Entra tokens of the ARM audience and checks the caller's
`Microsoft.ContainerRegistry/registries/pull/read`, which AcrPull, Reader and Contributor grant)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from provisioner.core.errors import AzureCallError, TargetError

ACR_SUFFIXES = (".azurecr.io", ".azurecr.us", ".azurecr.cn")
ARM_AUDIENCE = "https://management.azure.com"


def split_image(image: str) -> tuple[str, str, str]:
    """'reg.azurecr.io/team/api:1.2' -> ('reg.azurecr.io', 'team/api', '1.2'); a digest is the reference."""
    login, _, rest = image.partition("/")
    if "@" in rest:
        repository, _, reference = rest.partition("@")
    else:
        repository, _, reference = rest.rpartition(":")
    return login.lower(), repository, reference


def _local_registry_endpoint(arm_endpoint: str, login: str) -> str:
    """A local cloud serves registries on its https listener, under /acr/{loginServer} (GET /_localcloud/endpoints)."""
    try:
        with urllib.request.urlopen(f"{arm_endpoint.rstrip('/')}/_localcloud/endpoints", timeout=10) as resp:
            tls = json.loads(resp.read()).get("keyvault")
    except (OSError, ValueError) as exc:
        raise TargetError(f"{arm_endpoint} does not say where its https endpoint is ({exc})") from None
    return f"{tls}/acr/{login}"


def image_in_registry(clients: Any, image: str) -> bool | None:
    """True/False for an image in an Azure Container Registry; None for any other registry (not checked)."""
    from azure.containerregistry import ContainerRegistryClient
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    login, repository, reference = split_image(image)
    if not login.endswith(ACR_SUFFIXES):
        return None
    endpoint, extra = f"https://{login}", {}
    if clients.target.local:
        endpoint = _local_registry_endpoint(clients.target.arm_endpoint, login)
        extra = {"connection_verify": clients.target.ca_file} if clients.target.ca_file else {}
    client = ContainerRegistryClient(endpoint, clients.credential(), audience=ARM_AUDIENCE, **extra)
    try:
        if reference.startswith("sha256:"):
            client.get_manifest_properties(repository, reference)
        else:
            client.get_tag_properties(repository, reference)
        return True
    except ResourceNotFoundError:
        return False
    except HttpResponseError as exc:
        raise AzureCallError(f"registry {login}: cannot look up {repository}:{reference} "
                             f"({exc.status_code}: {str(exc.message or exc).splitlines()[0][:200]})") from None
    finally:
        client.close()
