"""Microsoft.Communication: Communication Services, Email Services and email domains."""

from __future__ import annotations

from typing import Any

from ..errors import ArmError
from ..profile import (
    Action,
    ActionCtx,
    ActionReply,
    EngineApi,
    TypeProfile,
    WriteCtx,
    defaults,
    det_guid,
    det_hex,
    fill_identity,
)
from .network import cname_target, find_record_set, txt_values

_REGION = {"united states": "unitedstates", "europe": "europe", "uk": "uk", "australia": "australia"}
_IN_FLIGHT = ("VerificationRequested", "VerificationInProgress")
_LINKABLE = ("Domain", "SPF", "DKIM", "DKIM2")  # what must be Verified before a domain can be linked


def _folded(value: Any) -> str:
    return str(value or "").replace(" ", "").lower()


def _data_location(ctx: WriteCtx) -> None:
    """dataLocation is required when a service is created and can never change (400, as the service answers)."""
    sent = ctx.sent_props.get("dataLocation")
    old = ((ctx.existing or {}).get("properties") or {}).get("dataLocation")
    if ctx.created and not sent:
        raise ArmError(400, "BadRequest", "The property 'dataLocation' is required.")
    if old and sent and _folded(sent) != _folded(old):
        raise ArmError(400, "BadRequest", f"The property 'dataLocation' cannot be changed from '{old}' to '{sent}'.")


def _check_links(ctx: WriteCtx) -> None:
    """Only verified domains stored in the service's data location can be linked."""
    _data_location(ctx)
    location = ctx.sent_props.get("dataLocation") or ((ctx.existing or {}).get("properties") or {}).get("dataLocation")
    for domain_id in ctx.sent_props.get("linkedDomains") or []:
        domain = ctx.engine.get(str(domain_id))
        if domain is None:
            raise ArmError(400, "BadRequest", f"The linked domain '{domain_id}' was not found.")
        states = domain["properties"].get("verificationStates") or {}
        pending = [k for k in _LINKABLE if (states.get(k) or {}).get("status") != "Verified"]
        if pending:
            raise ArmError(400, "DomainNotVerified", f"The domain '{domain['name']}' cannot be linked before it is "
                                                     f"verified ({', '.join(pending)} not verified).")
        if _folded(domain["properties"].get("dataLocation")) != _folded(location):
            raise ArmError(400, "BadRequest", f"The domain '{domain['name']}' stores its data in "
                                              f"'{domain['properties'].get('dataLocation')}', not '{location}'.")


def _keys(ctx: ActionCtx) -> ActionReply:
    host = ((ctx.resource or {}).get("properties") or {}).get("hostName")
    key1, key2 = det_hex(ctx.id, "key1")[:43] + "=", det_hex(ctx.id, "key2")[:43] + "="
    return ActionReply(200, {"primaryKey": key1, "secondaryKey": key2,
                             "primaryConnectionString": f"endpoint=https://{host}/;accesskey={key1}",
                             "secondaryConnectionString": f"endpoint=https://{host}/;accesskey={key2}"})


def _service_populate(ctx: WriteCtx) -> None:
    props = ctx.props
    data_location = str(props.get("dataLocation") or "United States")
    defaults(props, {"dataLocation": data_location, "linkedDomains": [], "disableLocalAuth": False,
                     "publicNetworkAccess": "Enabled"})
    old = (ctx.existing or {}).get("properties") or {}
    region = _REGION.get(data_location.lower(), data_location.replace(" ", "").lower())
    props.update(hostName=f"{ctx.path.name}.{region}.communication.azure.com", version="0.2.0",
                 immutableResourceId=old.get("immutableResourceId") or det_guid(ctx.id, ctx.now),
                 notificationHubId=None)
    ctx.body.setdefault("identity", {"type": "None"})
    # arm-examples communicationServices get.json: a system identity comes back with principalId and tenantId.
    created_at = ((ctx.existing or {}).get("systemData") or {}).get("createdAt", ctx.now)
    fill_identity(ctx.body, ctx.id, created_at, ctx.engine.tenant_id, ctx.existing, ctx.now)


def _email_populate(ctx: WriteCtx) -> None:
    defaults(ctx.props, {"dataLocation": "United States"})


def _domain_populate(ctx: WriteCtx) -> None:
    props, name = ctx.props, ctx.path.name
    managed = str(props.get("domainManagement") or "CustomerManaged")
    old = (ctx.existing or {}).get("properties") or {}
    service = ctx.engine.get(ctx.id.rsplit("/domains/", 1)[0]) or {}
    defaults(props, {"domainManagement": managed, "userEngagementTracking": "Disabled"})
    if managed == "AzureManaged":
        host = old.get("fromSenderDomain") or f"{det_guid(ctx.id)}.azurecomm.net"
        state = "Verified"
    else:
        host, state = name, "NotStarted"
    token = det_guid(ctx.id, "verification")
    props.update(
        dataLocation=(service.get("properties") or {}).get("dataLocation", "United States"),
        fromSenderDomain=host, mailFromSenderDomain=host,
        verificationStates=old.get("verificationStates") or {
            k: {"status": state} for k in ("Domain", "SPF", "DKIM", "DKIM2", "DMARC")},
        verificationRecords={
            "Domain": {"type": "TXT", "name": host, "value": f"ms-domain-verification={token}", "ttl": 3600},
            "SPF": {"type": "TXT", "name": host, "value": "v=spf1 include:spf.protection.outlook.com -all", "ttl": 3600},
            "DKIM": {"type": "CNAME", "name": "selector1-azurecomm-prod-net._domainkey",
                     "value": "selector1-azurecomm-prod-net._domainkey.azurecomm.net", "ttl": 3600},
            "DKIM2": {"type": "CNAME", "name": "selector2-azurecomm-prod-net._domainkey",
                      "value": "selector2-azurecomm-prod-net._domainkey.azurecomm.net", "ttl": 3600},
            "DMARC": {"type": "TXT", "name": "_dmarc", "value": "v=DMARC1; p=none;", "ttl": 3600},
        },
    )


def _domain_before_write(ctx: WriteCtx) -> None:
    managed = ctx.sent_props.get("domainManagement")
    old = ((ctx.existing or {}).get("properties") or {}).get("domainManagement")
    if old and managed and managed != old:
        raise ArmError(400, "BadRequest", "The property 'domainManagement' cannot be changed.")
    if (managed or old) == "AzureManaged" and ctx.path.name != "AzureManagedDomain":
        raise ArmError(400, "BadRequest", "An Azure managed domain must be named 'AzureManagedDomain'.")


# "DNS changes require 15 to 30 minutes to take effect" before a check passes (Communication Services quickstart
# "Add custom verified domains", MicrosoftDocs/azure-docs .../create-custom-managed-domain-resource-az-portal.md):
# a realistic check ends after 15 minutes (scaled by --time-scale like every other duration).
CHECK_SECONDS = 900.0


def _verify(ctx: ActionCtx) -> ActionReply:
    """POST initiateVerification: the check is requested now and decided against DNS when the operation ends.
    Sender authentication comes after ownership: the same quickstart verifies the domain's TXT record first and
    adds SPF/DKIM "once you verify your domain" ("confirm that Domain Status is in the Verified state")."""
    assert ctx.resource is not None
    which = str((ctx.request or {}).get("verificationType") or "")
    states = ctx.resource["properties"].setdefault("verificationStates", {})
    if which not in ("Domain", "SPF", "DKIM", "DKIM2", "DMARC"):
        raise ArmError(400, "BadRequest", f"'{which}' is not a verification type.")
    if (states.get(which) or {}).get("status") in _IN_FLIGHT:
        raise ArmError(409, "Conflict", f"A {which} verification is already in progress.")
    if which != "Domain" and (states.get("Domain") or {}).get("status") != "Verified":
        raise ArmError(400, "BadRequest", f"The domain '{ctx.resource['name']}' must be verified before {which} "
                                          "can be verified.")
    states[which] = {"status": "VerificationRequested"}
    ctx.engine.put_raw(ctx.id, ctx.resource)
    return ActionReply(202, None, lro_seconds=CHECK_SECONDS)


def _record_present(engine: EngineApi, domain: dict[str, Any], kind: str) -> bool:
    """Look the record up as the service does, in DNS: here, the zones this cloud serves."""
    record = (domain["properties"].get("verificationRecords") or {}).get(kind) or {}
    name, value, zone = str(record.get("name") or ""), str(record.get("value") or ""), domain["name"].lower()
    fqdn = name if name.lower().rstrip(".") == zone or name.lower().endswith("." + zone) else f"{name}.{zone}"
    if record.get("type") == "CNAME":
        return cname_target(find_record_set(engine, fqdn, "CNAME")) == value.lower().rstrip(".")
    found = txt_values(find_record_set(engine, fqdn, "TXT"))
    if kind == "DMARC":
        return any(v.startswith("v=DMARC1") for v in found)
    if kind == "SPF":
        # What an SPF evaluator sees: exactly one v=spf1 record at the name (two are a PermError, RFC 7208
        # §4.5), and it must authorize Azure's senders (its include), whatever else it includes.
        spf = [v.split() for v in found if v.lower().split()[:1] == ["v=spf1"]]
        needed = [t.lower() for t in value.split() if t.lower().startswith("include:")]
        return len(spf) == 1 and all(t in (x.lower() for x in spf[0]) for t in needed)
    return value in found


def _verification_done(engine: EngineApi, body: dict[str, Any]) -> None:
    """When a verification operation ends, each requested check passes or fails against DNS."""
    states = (body.get("properties") or {}).get("verificationStates") or {}
    for kind, state in states.items():
        if (state or {}).get("status") in _IN_FLIGHT:
            states[kind] = {"status": "Verified"} if _record_present(engine, body, kind) else {
                "status": "VerificationFailed", "errorCode": "DnsRecordNotFound"}


def _running(engine: EngineApi, body: dict[str, Any]) -> None:
    """Communication and Email services report `Running` as their steady state, not `Succeeded`
    (arm-examples communicationServices/2025-05-01/get.json, emailServices/2025-05-01/get.json)."""
    props = body.get("properties")
    if isinstance(props, dict) and props.get("provisioningState") == "Succeeded":
        props["provisioningState"] = "Running"


def _steady(populate: Any) -> Any:
    """A sync write (PATCH) answers with the steady `Running` too; an LRO's Creating/Updating overrides it."""
    def hook(ctx: WriteCtx) -> None:
        populate(ctx)
        ctx.props["provisioningState"] = "Running"
    return hook


def _lro(type_name: str, **kw: Any) -> TypeProfile:
    return TypeProfile(type=type_name, lro=True, created=201, updated=200, delete_lro=True, latency=120.0,
                       keep_location=True, **kw)


PROFILES = [
    _lro("Microsoft.Communication/communicationServices", populate=_steady(_service_populate), before_write=_check_links,
         actions={"listKeys": Action(_keys, write=False)}, on_settled=_running),
    _lro("Microsoft.Communication/emailServices", patch_lro=True, populate=_steady(_email_populate),
         before_write=_data_location, on_settled=_running),
    _lro("Microsoft.Communication/emailServices/domains", patch_lro=True, populate=_domain_populate,
         before_write=_domain_before_write, on_settled=_verification_done,
         actions={"initiateVerification": Action(_verify, write=True)}),
]
