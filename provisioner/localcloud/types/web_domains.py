"""Custom host names on App Service and Static Web Apps: the DNS proof each service checks before binding."""

from __future__ import annotations

from ..errors import ArmError
from ..profile import WriteCtx
from .network import cname_target, find_record_set, txt_values


def check_site_binding(ctx: WriteCtx) -> None:
    """App Service wants TXT asuid.<host> = the site's customDomainVerificationId and a CNAME to its default
    host name. A name no zone of this cloud serves is taken as hosted elsewhere and not checked."""
    host = ctx.path.name
    site = ctx.engine.get(ctx.id.rsplit("/hostNameBindings/", 1)[0])
    if site is None or host.lower().endswith(".azurewebsites.net"):
        return
    txt, cname = find_record_set(ctx.engine, f"asuid.{host}", "TXT"), find_record_set(ctx.engine, host, "CNAME")
    if txt is None and cname is None:
        return
    props = site.get("properties") or {}
    token, default = str(props.get("customDomainVerificationId") or ""), str(props.get("defaultHostName") or "")
    if token not in txt_values(txt):
        raise ArmError(400, "BadRequest", f"A TXT record pointing from asuid.{host} to {token} was not found.")
    if cname_target(cname) != default.lower():
        raise ArmError(400, "BadRequest", f"A CNAME record pointing from {host} to {default} was not found.")


def check_static_domain(ctx: WriteCtx) -> None:
    """Static Web Apps validate a subdomain by its CNAME to the site's default host name (cname-delegation)."""
    host = ctx.path.name
    site = ctx.engine.get(ctx.id.rsplit("/customDomains/", 1)[0])
    method = str(ctx.sent_props.get("validationMethod") or "cname-delegation").lower()
    cname = find_record_set(ctx.engine, host, "CNAME")
    if site is None or method != "cname-delegation" or cname is None:
        return
    default = str((site.get("properties") or {}).get("defaultHostname") or "")
    if cname_target(cname) != default.lower():
        raise ArmError(400, "BadRequest", f"CNAME Record is invalid. Please ensure the CNAME record for {host} "
                                          f"points to {default}.")
