"""The SDK boundary: the only layer (with steps/) that imports `azure.*`, always lazily. Steps and the layers
above use the names re-exported here."""

from provisioner.azure.accepted import put_accepted
from provisioner.azure.access import NO_CREDENTIAL, check_access
from provisioner.azure.calls import call, is_transient, permission_message, raw, wait
from provisioner.azure.clients import (
    CLIENTS,
    CORRELATION_PREFIX,
    PUBLIC_ARM,
    USER_AGENT,
    Clients,
    StaticTokenCredential,
    Target,
    by_id,
)

__all__ = [
    "CLIENTS", "CORRELATION_PREFIX", "NO_CREDENTIAL", "PUBLIC_ARM", "USER_AGENT", "Clients", "StaticTokenCredential",
    "Target", "by_id", "call", "check_access", "is_transient", "permission_message", "put_accepted", "raw", "wait",
]
