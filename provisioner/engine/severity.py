"""How urgent a change is for the person reading a report; pure, and the one place the classes are defined.

1. access and exposure: who or what can reach a resource. Firewall rules (a rule opening the database
   comes first of all), role assignments, network access (public network access, network ACLs, IP
   restrictions, CORS, VNet routing), TLS and authentication settings, publishing credentials, host-name
   bindings and custom domains (they route traffic), diagnostic settings (they ship logs elsewhere).
2. data protection: backups and their retention, high availability, soft delete and purge protection, blob
   versioning and delete retention, cache persistence, lifecycle rules (they delete blobs), management locks,
   databases, and any change that deletes or replaces a resource holding data.
3. the rest: tags, sizes, alerts, settings.

A change takes the most urgent class of its resource type, its collection and each of its properties.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

from provisioner.core.model import Action, Change


class Severity(enum.IntEnum):
    ACCESS = 0
    DATA = 1
    OTHER = 2

    @property
    def key(self) -> str:
        """The JSON value: access | data | other."""
        return self.name.lower()

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {Severity.ACCESS: "access and exposure", Severity.DATA: "data protection", Severity.OTHER: "other"}

# The last segment of a resource type (or an owned collection's name) -> its class, whatever changed in it.
_ACCESS_TYPES = {"firewallrules", "roleassignments", "virtualnetworkrules", "networksecuritygroups",
                 "privateendpoints", "basicpublishingcredentialspolicies", "accesspolicies", "hostnamebindings",
                 "customdomains", "diagnosticsettings", "administrators"}
_DATA_TYPES = {"locks", "managementpolicies", "backuppolicies"}
# Resources whose deletion or replacement loses data (a missing one is a data-protection matter too).
_HOLDS_DATA = {"flexibleservers", "databases", "redis", "redisenterprise", "vaults", "storageaccounts",
               "containers", "workspaces", "secrets"}

# Property names (matched against each segment of a wire path, case-insensitively).
_ACCESS_PATHS = re.compile(
    r"^(.*tls.*|httpsonly|supportshttpstrafficonly|enablenonsslport|sslenforcement|ftpsstate|"
    r"publicnetworkaccess.*|networkacls|ipsecurityrestrictions.*|scmipsecurityrestrictions.*|iprules|"
    r"virtualnetworkrules|cors|allowblobpublicaccess|publicaccess|vnetrouteallenabled|virtualnetworksubnetid|"
    r"startipaddress|endipaddress|startip|endip|authconfig|authentication|activedirectoryauth|passwordauth|"
    r"disablelocalauth|allowsharedkeyaccess|authnotrequired|accesspolicies|enablerbacauthorization|"
    r"clientprotocol|accesskeysauthentication|"
    r"remotedebuggingenabled|clientcert.*|roledefinitionid|principalid|identity|allow|"
    r"allowcrosstenantreplication|defaultaction|bypass)$", re.IGNORECASE)
_DATA_PATHS = re.compile(
    r"^(backup.*|.*backupretention.*|georedundantbackup|highavailability|enablesoftdelete|softdeleteretention.*|"
    r"enablepurgeprotection|deleteretentionpolicy|containerdeleteretentionpolicy|isversioningenabled|changefeed|"
    r"retentionindays|aof-.*|rdb-.*|persistence|aofenabled|rdbenabled)$", re.IGNORECASE)
_INDEX = re.compile(r"\[[^\]]*\]")


def _last(type_name: str) -> str:
    return type_name.rsplit("/", 1)[-1].lower()


def of_path(path: str) -> Severity:
    """The class a property path falls in: any segment naming an access or data-protection setting."""
    segments = _INDEX.sub("", path).split(".")
    if any(_ACCESS_PATHS.match(s) for s in segments):
        return Severity.ACCESS
    if any(_DATA_PATHS.match(s) for s in segments):
        return Severity.DATA
    return Severity.OTHER


def of_type(type_name: str) -> Severity:
    last = _last(type_name)
    if last in _ACCESS_TYPES:
        return Severity.ACCESS
    if last in _DATA_TYPES:
        return Severity.DATA
    return Severity.OTHER


def holds_data(type_name: str) -> bool:
    return _last(type_name) in _HOLDS_DATA


def of_change(change: Change) -> Severity:
    """The most urgent class among the change's type, its collection and its properties."""
    classes = [of_type(change.ref.type)]
    if change.collection:
        classes.append(of_type(change.collection))
    if change.action in (Action.DELETE, Action.REPLACE, Action.CREATE) and holds_data(change.ref.type):
        classes.append(Severity.DATA)  # deleting it, re-creating it, or finding it gone: its data
    if change.action is not Action.CREATE:
        classes += [of_path(p.path) for p in change.properties]
    return min(classes)


# Within access and exposure, in the order the classes list them: what admits addresses to a server, who is
# granted access, what is reachable from where, then how connections are secured.
_ADMITS = {"firewallrules", "virtualnetworkrules"}
_GRANTS = {"roleassignments", "accesspolicies", "administrators"}
_TLS_AUTH = re.compile(r"^(.*tls.*|httpsonly|supportshttpstrafficonly|enablenonsslport|sslenforcement|ftpsstate|"
                       r"authconfig|authentication|activedirectoryauth|passwordauth|disablelocalauth|"
                       r"allowsharedkeyaccess|authnotrequired|remotedebuggingenabled|clientcert.*|allow|"
                       r"clientprotocol|accesskeysauthentication)$",
                       re.IGNORECASE)


def _access_rank(change: Change) -> int:
    kinds = {_last(change.ref.type), _last(change.collection or "")}
    if kinds & _ADMITS:
        return 0
    if kinds & _GRANTS:
        return 1
    paths = [p.path for p in change.properties if of_path(p.path) is Severity.ACCESS]
    if paths and all(any(_TLS_AUTH.match(s) for s in _INDEX.sub("", p).split(".")) for p in paths):
        return 3
    return 2


def rank(change: Change) -> tuple[int, int]:
    """The sort key reports use: the class, then (within access and exposure) firewall rules, grants,
    network access, TLS and authentication."""
    severity = of_change(change)
    return int(severity), _access_rank(change) if severity is Severity.ACCESS else 0


def ordered(changes: Iterable[Change]) -> list[Change]:
    """Most urgent first; the plan's own order (the graph's) among equals."""
    return sorted(changes, key=rank)
