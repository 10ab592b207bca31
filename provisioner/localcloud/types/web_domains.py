"""Custom host names on App Service and Static Web Apps: the DNS proof each service checks before binding, and
App Service managed certificates with the SNI bindings that serve them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import ArmError
from ..ids import normalize_location, region_display
from ..profile import LRO_FAILURE, EngineApi, TypeProfile, WriteCtx, defaults, det_hex
from .network import cname_target, find_record_set, txt_values

CERTIFICATES = "Microsoft.Web/certificates"


def check_site_binding(ctx: WriteCtx) -> None:
    """App Service wants TXT asuid.<host> = the site's customDomainVerificationId and a CNAME to its default
    host name, looked up in public DNS: here, through the delegation chain (network.find_record_set). A name
    nobody answers for fails like a missing record. Azure answers 400 BadRequest "A TXT record pointing from
    asuid.<host> to <id> was not found." / "A CNAME record pointing from <host> to <site> was not found."
    (hashicorp/terraform-provider-azurerm and fszlin/certes#155 quote both)."""
    host = ctx.path.name
    site = ctx.engine.get(ctx.id.rsplit("/hostNameBindings/", 1)[0])
    if site is None or host.lower().endswith(".azurewebsites.net"):
        return
    txt, cname = find_record_set(ctx.engine, f"asuid.{host}", "TXT"), find_record_set(ctx.engine, host, "CNAME")
    props = site.get("properties") or {}
    token, default = str(props.get("customDomainVerificationId") or ""), str(props.get("defaultHostName") or "")
    if token not in txt_values(txt):
        raise ArmError(400, "BadRequest", f"A TXT record pointing from asuid.{host} to {token} was not found.")
    if cname_target(cname) != default.lower():
        raise ArmError(400, "BadRequest", f"A CNAME record pointing from {host} to {default} was not found.")
    _check_tls(ctx, host)


def _check_tls(ctx: WriteCtx, host: str) -> None:
    """SNI/IP TLS on a binding names a certificate of the site's resource group by thumbprint that covers the
    host (NotFound as in azurerm#13425: "Cannot find Certificate with ..."; a certificate for another name is
    refused as the portal refuses it)."""
    state = str(ctx.sent_props.get("sslState") or "Disabled")
    if state.lower() == "disabled":
        ctx.sent_props.pop("thumbprint", None)
        return
    thumbprint = str(ctx.sent_props.get("thumbprint") or "").upper()
    group = ctx.id.lower().split("/providers/")[0]
    certs = [c for c in ctx.engine.find(CERTIFICATES) if c["id"].lower().startswith(group + "/")
             and str(c["properties"].get("thumbprint") or "").upper() == thumbprint]
    if not thumbprint or not certs:
        raise ArmError(404, "NotFound", f"Cannot find Certificate with thumbprint {thumbprint or '(none)'}.")
    names = [str(n).lower() for n in certs[0]["properties"].get("hostNames") or []]
    if host.lower() not in names:
        raise ArmError(400, "BadRequest", f"The certificate with thumbprint {thumbprint} does not match the "
                                          f"hostname {host}.")


def check_static_domain(ctx: WriteCtx) -> None:
    """Static Web Apps validate a subdomain by its CNAME to the site's default host name (cname-delegation),
    looked up in public DNS. The PUT is accepted (202, the domain `Validating`) and the validation fails through
    the long-running operation: it ends Failed ("The resource operation completed with terminal provisioning state
    'Failed'", Azure/static-web-apps#225; a domain stuck Validating or ending Failed, #1745) and the domain stays,
    status Failed, with Azure's message "CNAME Record is invalid.  Please ensure the CNAME record has been
    created." (#202, #911; ExtendedCode 51021)."""
    host = ctx.path.name
    site = ctx.engine.get(ctx.id.rsplit("/customDomains/", 1)[0])
    method = str(ctx.sent_props.get("validationMethod") or "cname-delegation").lower()
    if site is None or method != "cname-delegation":
        return
    default = str((site.get("properties") or {}).get("defaultHostname") or "")
    if cname_target(find_record_set(ctx.engine, host, "CNAME")) != default.lower():
        ctx.extra[LRO_FAILURE] = {"code": "BadRequest", "message": CNAME_INVALID}


CNAME_INVALID = "CNAME Record is invalid.  Please ensure the CNAME record has been created."


def _bound(engine: EngineApi, farm: str, host: str) -> bool:
    """Whether a site on the plan `farm` has `host` bound (a managed certificate is issued only for those)."""
    for binding in engine.find("Microsoft.Web/sites/hostNameBindings"):
        if binding["id"].rsplit("/", 1)[-1].lower() != host.lower():
            continue
        site = engine.get(binding["id"].rsplit("/hostNameBindings/", 1)[0]) or {}
        if str((site.get("properties") or {}).get("serverFarmId") or "").lower() == farm.lower():
            return True
    return False


def _certificate_populate(ctx: WriteCtx) -> None:
    """A managed certificate (canonicalName + serverFarmId, no pfx): App Service issues it for a host name
    already bound to a site on that plan; before that Azure refuses with 400 "Hostname(Custom domain) '<host>'
    is not registered with app" (Azure/azure-cli#13647). The thumbprint and validity are server-populated."""
    props, old = ctx.props, (ctx.existing or {}).get("properties") or {}
    name = str(props.get("canonicalName") or old.get("canonicalName") or "")
    farm = str(props.get("serverFarmId") or old.get("serverFarmId") or "")
    if not name and not props.get("pfxBlob"):
        raise ArmError(400, "BadRequest", "Either a pfxBlob or a canonicalName (managed certificate) is required.")
    if name and not _bound(ctx.engine, farm, name):
        raise ArmError(400, "BadRequest", f"Hostname(Custom domain) '{name}' is not registered with app")
    props.pop("password", None)  # write-only
    # Shape of azure-rest-api-specs web .../2024-11-01/examples/GetCertificate.json: location as a display
    # name ('East US'), friendlyName "", the thumbprint upper-case hex.
    ctx.body["location"] = region_display(str(normalize_location(str(ctx.body.get("location") or ""))))
    defaults(props, {"friendlyName": ""})
    issued = old.get("issueDate") or ctx.now[:19] + "+00:00"
    expires = old.get("expirationDate") or (datetime.now(UTC) + timedelta(days=180)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    thumbprint = old.get("thumbprint") or det_hex(ctx.id, name, ctx.now)[:40].upper()
    defaults(props, {"keyVaultId": None, "keyVaultSecretName": None, "hostingEnvironmentProfile": None})
    props.update(canonicalName=name, serverFarmId=farm, subjectName=name, hostNames=[name], thumbprint=thumbprint,
                 issuer="GeoTrust Global TLS RSA4096 SHA256 2022 CA1", issueDate=issued, expirationDate=expires,
                 selfLink=None, siteName=None, valid=True, publicKeyHash=det_hex(thumbprint)[:44],
                 keyVaultSecretStatus="Initialized")


def site_ssl_state(site: dict[str, Any], host: str, binding: dict[str, Any] | None) -> None:
    """Mirror a binding's TLS on the site's hostNameSslStates: what HTTPS on that name serves."""
    props = site["properties"]
    states = [s for s in props.get("hostNameSslStates") or [] if s.get("name", "").lower() != host.lower()]
    if binding is not None:
        b = binding.get("properties") or {}
        states.append({"name": host, "sslState": b.get("sslState") or "Disabled", "thumbprint": b.get("thumbprint"),
                       "hostType": "Standard", "virtualIP": None, "toUpdate": None, "ipBasedSslResult": None,
                       "ipBasedSslState": "NotConfigured"})
    props["hostNameSslStates"] = states


PROFILES = [
    # Certificates_CreateOrUpdate is declared 200 only (azure-mgmt-web CertificatesOperations.create_or_update,
    # Certificates.json), but App Service answers a new managed certificate with 202 + Location and issues it in
    # the background (azure-sdk-for-python#34395, azure-rest-api-specs#27962, azure-sdk-for-go#13665): accepted.py.
    TypeProfile(type=CERTIFICATES, created=200, updated=200, provisioning_state=False, latency=60.0,
                populate=_certificate_populate, accepted_create=True),
]
