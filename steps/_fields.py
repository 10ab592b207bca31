"""Reasons shared by several steps' `not_managed` lists (provisioner/engine/fields.py explains the accounting)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

# Features the platform document does not use: left at Azure's default, never turned on by us. Not a
# security setting (those are declared); a change to one is not drift, and an update sends the value Azure has.
UNUSED = "feature the platform does not use (left at Azure's default)"
PLACEMENT = "placement and networking the platform does not use (no VNet, no zones, no extended location)"
IDENTITY_OTHER = "identity not used by the platform"
PLATFORM = "set by the platform itself (sizing, scale units, kind): not part of the architecture document"
# Proxy resources under a site (config/web, appsettings, publishing policies) echo the site's region.
ECHOED_LOCATION = "the parent site's region, echoed on its child resource"
# Fields the API still returns that the SDK model no longer describes (arm-examples GetAppServicePlan).
LEGACY = "returned by the API but absent from its current model (legacy fields, filled in by Azure)"
# One setting under two names, the other of which is declared (Azure writes both whichever is sent): compared
# under the declared name, so a change made under this one is reported there.
MIRROR = "the same setting as a declared field under its other name (Azure keeps both): compared there"


def nm(reason: str, *paths: str) -> tuple[tuple[str, str], ...]:
    return tuple((p, reason) for p in paths)


# A DNS record set holds one record type; the other types' lists are other steps' (or nobody's).
_RECORD_LISTS = ("properties.AAAARecords", "properties.ARecords", "properties.MXRecords", "properties.NSRecords",
                 "properties.PTRRecords", "properties.SOARecord", "properties.SRVRecords", "properties.caaRecords",
                 "properties.TXTRecords", "properties.CNAMERecord")


def record_set_not_managed(kept: str) -> tuple[tuple[str, str], ...]:
    """A RecordSet step's not-managed fields: features it does not use (metadata)."""
    return nm(UNUSED, "properties.metadata")


def record_set_absent(kept: str) -> tuple[str, ...]:
    """A record set holds one type of record (its ARM type says which): every other type's list is declared
    absent, and so is an alias target (`targetResource`: the name would resolve to another Azure resource)."""
    return (*(p for p in _RECORD_LISTS if p != kept), "properties.targetResource")


@dataclass(frozen=True)
class SdkModel:
    """An SDK model class named by module and class, imported only when field accounting first needs it:
    importing every `azure.mgmt.*.models` when the steps load took CLI start-up from 0.4 s to 2.3 s."""

    module: str
    name: str

    def resolve(self) -> Any:
        return _load(self.module, self.name)

    @property
    def __name__(self) -> str:  # reads like the class in test and report messages
        return self.name


@cache
def _load(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)
