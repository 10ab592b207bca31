"""Microsoft.Web: App Service plans, sites, slots and their config, credentials policies, host names."""

from __future__ import annotations

from typing import Any

from ..containers import MARKER_SETTING, WARMUP_PATH, WARMUP_STATUSES, warmup_refusal
from ..errors import ArmError
from ..ids import ArmPath, region_display
from ..profile import (
    Action,
    ActionCtx,
    ActionReply,
    EngineApi,
    TypeProfile,
    WriteCtx,
    defaults,
    det_hex,
    fake_ips,
    fill_identity,
)
from . import web_kvrefs as kvrefs
from . import web_network
from .managedidentity import fill_user_assigned
from .vnet import check_integration_subnet
from .web_config import SEPARATE, default_config, merged_config, site_view
from .web_domains import PROFILES as DOMAIN_PROFILES
from .web_domains import check_site_binding, site_ssl_state
from .web_static import PROFILES as STATIC_PROFILES

_TIERS = {"F": "Free", "D": "Shared", "B": "Basic", "S": "Standard", "P": "Premium", "I": "Isolated",
          "Y": "Dynamic", "EP": "ElasticPremium", "WS": "WorkflowStandard"}
_MAX_WORKERS = {"Free": 1, "Shared": 1, "Basic": 3, "Standard": 10, "Premium": 20, "PremiumV2": 30,
                "PremiumV3": 30, "Isolated": 100, "Dynamic": 200}


def _sku(sku: dict[str, Any]) -> dict[str, Any]:
    """Fill tier/size/family/capacity from the SKU name (B1 -> Basic/B1/B/1, P1v3 -> PremiumV3/Pv3)."""
    name = str(sku.get("name") or "F1")
    letters = "".join(ch for ch in name if ch.isalpha() and ch.isupper()) or name[:1]
    suffix = name[len(name.rstrip("v0123456789")):] if "v" in name.lower() else ""
    version = "".join(ch for ch in suffix if ch.isdigit()) if "v" in suffix.lower() else ""
    tier = _TIERS.get(letters, _TIERS.get(letters[:1], "Standard")) + (f"V{version}" if version else "")
    family = letters + (f"v{version}" if version else "")
    out = dict(sku)
    defaults(out, {"name": name, "tier": tier, "size": name, "family": family, "capacity": 1})
    return out


def _plan_populate(ctx: WriteCtx) -> None:
    body, props = ctx.body, ctx.props
    body["sku"] = _sku(body.get("sku") or {})
    reserved = bool(props.get("reserved"))
    body["kind"] = body.get("kind") or ("linux" if reserved else "app")
    location = str(body.get("location") or "")
    rg = ctx.path.resource_group or ""
    defaults(props, {
        "perSiteScaling": False, "elasticScaleEnabled": False, "maximumElasticWorkerCount": 1,
        "isSpot": False, "reserved": reserved, "isXenon": False, "hyperV": False,
        "targetWorkerCount": 0, "targetWorkerSizeId": 0, "zoneRedundant": False,
    })
    props.update(
        serverFarmId=0, name=ctx.path.name, status="Ready", workerSize="Default", workerSizeId=0,
        currentWorkerSize="Default", currentWorkerSizeId=0, currentNumberOfWorkers=body["sku"]["capacity"],
        numberOfWorkers=body["sku"]["capacity"], webSpace=f"{rg}-{region_display(location).replace(' ', '')}webspace"
        + ("-Linux" if reserved else ""), subscription=ctx.path.subscription, computeMode="Dedicated",
        maximumNumberOfWorkers=_MAX_WORKERS.get(body["sku"]["tier"], 10), planName="VirtualDedicatedPlan",
        geoRegion=region_display(location), resourceGroup=rg,
        numberOfSites=len(_sites_on(ctx.engine, ctx.id)),
    )


def _sites_on(engine: EngineApi, plan_id: str) -> list[dict[str, Any]]:
    return [s for s in engine.find("Microsoft.Web/sites")
            if str((s.get("properties") or {}).get("serverFarmId", "")).lower() == plan_id.lower()]


def _refresh_plan(engine: EngineApi, plan_id: str | None) -> None:
    plan = engine.get(plan_id) if plan_id else None
    if plan is not None and plan_id:
        plan.setdefault("properties", {})["numberOfSites"] = len(_sites_on(engine, plan_id))
        engine.put_raw(plan_id, plan)


def _plan_before_delete(engine: EngineApi, body: dict[str, Any]) -> None:
    if _sites_on(engine, body["id"]):
        raise ArmError(409, "Conflict", f"Server farm '{body['name']}' cannot be deleted because it has web "
                       "app(s) assigned to it.")


# ----------------------------------------------------------------------------- sites and slots


def _site_populate(ctx: WriteCtx) -> None:
    path, body, props = ctx.path, ctx.body, ctx.props
    site_name = path.names[0]
    slot = path.names[1] if len(path.names) > 1 else None
    host = f"{site_name}-{slot}" if slot else site_name
    parent = ctx.engine.get(ctx.id.rsplit("/slots/", 1)[0]) if slot else None
    if slot and not props.get("serverFarmId") and parent:
        props["serverFarmId"] = parent["properties"].get("serverFarmId")
    plan = ctx.engine.get(str(props.get("serverFarmId") or "")) if props.get("serverFarmId") else None
    body["kind"] = body.get("kind") or ("app,linux" if plan and plan["properties"].get("reserved") else "app")
    sent_config = props.pop("siteConfig", None)
    old = (ctx.existing or {}).get("properties") or {}
    subnet = props.get("virtualNetworkSubnetId")
    if subnet and str(subnet).lower() != str(old.get("virtualNetworkSubnetId") or "").lower():
        tier = str(((plan or {}).get("sku") or {}).get("tier") or "Standard")
        if tier in ("Free", "Shared"):
            # Regional VNet integration needs a dedicated tier: Basic and up (overview-vnet-integration).
            raise ArmError(400, "BadRequest", f"Virtual network integration is not supported on the {tier} tier.")
        check_integration_subnet(ctx.engine, str(subnet))
    if ctx.method == "PATCH" and ctx.existing is not None:
        # A site PATCH carries no tags: SitePatchResource is a ProxyOnlyResource without `tags`
        # (azure-rest-api-specs web WebApps.json; azure-mgmt-web models.SitePatchResource), so App Service
        # ignores them. Tags change through a PUT or the Tags API (routes._tags_at_scope).
        if ctx.existing.get("tags") is None:
            body.pop("tags", None)
        else:
            body["tags"] = ctx.existing["tags"]
    ips = fake_ips(ctx.id, 6)
    defaults(props, {
        "enabled": True, "reserved": bool(plan and plan["properties"].get("reserved")), "isXenon": False,
        "hyperV": False, "vnetRouteAllEnabled": False, "vnetImagePullEnabled": False,
        "vnetContentShareEnabled": False, "vnetBackupRestoreEnabled": False, "scmSiteAlsoStopped": False,
        "clientAffinityEnabled": True, "clientAffinityProxyEnabled": False, "clientCertEnabled": False,
        "clientCertMode": "Required", "hostNamesDisabled": False, "containerSize": 0,
        "dailyMemoryTimeQuota": 0, "httpsOnly": False, "redundancyMode": "None", "publicNetworkAccess": None,
        "storageAccountRequired": False, "keyVaultReferenceIdentity": "SystemAssigned",
        "endToEndEncryptionEnabled": False, "autoGeneratedDomainNameLabelScope": None,
    })
    web_network.routing(props, old, ctx.sent_props)
    hosts = [f"{host}.azurewebsites.net"] + [h for h in old.get("hostNames", []) if not h.endswith(".azurewebsites.net")]
    props.update(
        state=old.get("state", "Running"),
        hostNames=hosts,
        repositorySiteName=site_name,
        usageState="Normal",
        availabilityState="Normal",
        enabledHostNames=hosts + [f"{host}.scm.azurewebsites.net"],
        # A custom host keeps the TLS its binding set (web_domains.site_ssl_state).
        hostNameSslStates=[_ssl_state(old, h) for h in hosts]
        + [{"name": f"{host}.scm.azurewebsites.net", "sslState": "Disabled", "hostType": "Repository"}],
        lastModifiedTimeUtc=ctx.now[:23],
        outboundIpAddresses=",".join(ips[:2]),
        possibleOutboundIpAddresses=",".join(ips),
        customDomainVerificationId=old.get("customDomainVerificationId") or det_hex(ctx.id, ctx.now)[:64].upper(),
        resourceGroup=path.resource_group,
        defaultHostName=f"{host}.azurewebsites.net",
        sku=(plan or {}).get("sku", {}).get("tier", "Standard"),
        inProgressOperationId=None,
        slotSwapStatus=old.get("slotSwapStatus"),
    )
    created_at = ((ctx.existing or {}).get("systemData") or {}).get("createdAt", ctx.now)
    # A user-assigned identity must exist; its ids are the identity's own (types/managedidentity.py).
    fill_user_assigned(ctx.engine, body, ctx.id, ctx.sent)
    fill_identity(body, ctx.id, created_at, ctx.engine.tenant_id, ctx.existing, ctx.now)
    # siteConfig is write-only on the site: the values land in config/web (merged onto what is there),
    # app settings in config/appsettings; GET /sites shows the null-filled view.
    config_id = f"{ctx.id}/config/web"
    current = (ctx.engine.get(config_id) or {}).get("properties") or default_config(str(body["kind"]))
    config = merged_config(current, sent_config) if isinstance(sent_config, dict) else current
    props["siteConfig"] = site_view(config)
    ctx.extra["config"] = config
    settings = (ctx.engine.get(f"{ctx.id}/config/appsettings") or {}).get("properties") or {}
    ctx.extra["before"] = None if ctx.existing is None else (str(current.get("linuxFxVersion") or ""),
                                                             str(settings.get(MARKER_SETTING) or ""))
    changed = config.get("linuxFxVersion") != current.get("linuxFxVersion")
    if isinstance(sent_config, dict) and sent_config.get("appSettings") is not None:
        ctx.extra["appsettings"] = {s["name"]: s.get("value", "") for s in sent_config["appSettings"]}
        changed = changed or ctx.extra["appsettings"] != settings
    ctx.extra["restart"] = changed or ctx.existing is None


# API 2024-11-01 renamed the site's VNet routing switches: the SDK's OutboundVnetRouting documents
# applicationTraffic as "Previously called VnetRouteAllEnabled", and contentShareTraffic, imagePullTraffic,
# backupRestoreTraffic likewise (azure-mgmt-web 11, API 2025-05-01; arm-examples GetWebApp 2025-03-01 shows
# the new object). One setting, two names: whichever a write changed is what both say afterwards.
def _child(ctx_id: str, body_type: str, name: str, location: Any, properties: dict[str, Any],
           kind: str | None = None) -> dict[str, Any]:
    body = {"id": f"{ctx_id}/{name}", "name": name.rsplit("/", 1)[-1], "type": body_type, "kind": kind,
            "location": location, "properties": properties}
    return body


def _site_after_write(ctx: WriteCtx) -> None:
    engine, sid, loc = ctx.engine, ctx.id, ctx.body.get("location")
    config_type = ("Microsoft.Web/sites/slots" if "/slots/" in sid.lower() else "Microsoft.Web/sites") + "/config"
    policy_type = config_type.replace("/config", "/basicPublishingCredentialsPolicies")
    ctx.extra["config"].update(web_network.identity_ids(ctx.body))
    engine.put_raw(f"{sid}/config/web", _child(sid, config_type, "config/web", loc, ctx.extra["config"]))
    settings = ctx.extra.get("appsettings")
    if settings is not None or engine.get(f"{sid}/config/appsettings") is None:
        current = settings if settings is not None else {}
        engine.put_raw(f"{sid}/config/appsettings", _child(sid, config_type, "config/appsettings", loc, current))
    if ctx.extra.get("restart"):
        _restarted(engine, sid, ctx.extra.get("before"))
    if ctx.created:
        if "/slots/" not in sid.lower():
            engine.put_raw(f"{sid}/config/slotConfigNames", _child(sid, config_type, "config/slotConfigNames", loc, {
                "connectionStringNames": None, "appSettingNames": None, "azureStorageConfigNames": None}))
        for which in ("ftp", "scm"):
            engine.put_raw(f"{sid}/basicPublishingCredentialsPolicies/{which}",
                           _child(sid, policy_type, f"basicPublishingCredentialsPolicies/{which}", loc,
                                  {"allow": True}))
    kvrefs.refresh(engine, sid)
    old_plan = ((ctx.existing or {}).get("properties") or {}).get("serverFarmId")
    _refresh_plan(engine, ctx.props.get("serverFarmId"))
    if old_plan and str(old_plan).lower() != str(ctx.props.get("serverFarmId", "")).lower():
        _refresh_plan(engine, old_plan)


def _site_removed(engine: EngineApi, body: dict[str, Any], now: str) -> None:
    _refresh_plan(engine, (body.get("properties") or {}).get("serverFarmId"))


def _slot_name(path: ArmPath) -> str:
    return f"{path.names[0]}/{path.names[1]}"


# Deployment slots per site by plan tier, besides production (Basic and below have none).
_SLOTS = {"Free": 0, "Shared": 0, "Basic": 0, "Standard": 5, "Premium": 20, "PremiumV2": 20, "PremiumV3": 20,
          "Isolated": 20}


def _slot_quota(ctx: WriteCtx) -> None:
    """A new slot must fit the plan tier's slot count (none on Basic)."""
    if not ctx.created:
        return
    site_id = ctx.id.rsplit("/slots/", 1)[0]
    site = ctx.engine.get(site_id) or {}
    plan = ctx.engine.get(str((site.get("properties") or {}).get("serverFarmId") or "")) or {}
    tier = str((plan.get("sku") or {}).get("tier") or "Standard")
    if len(ctx.engine.find("Microsoft.Web/sites/slots", site_id)) >= _SLOTS.get(tier, 5):
        raise ArmError(409, "Conflict", f"Cannot complete the operation because the site will exceed the number "
                       f"of slots allowed for the '{tier}' SKU.")


# What stays with its slot on a swap (MicrosoftDocs/azure-docs includes/app-service-deployment-slots-settings.md,
# "When you swap slots, these settings aren't swapped"): protocol settings (TLS version, HTTP/2), publishing
# endpoints (FTPS), IP restrictions, Always On, diagnostic log settings, CORS, scale, managed identities, VNet
# integration. Everything else in config/web (the container image in linuxFxVersion, language stacks, 32/64
# bit, WebSockets, handler and path mappings, the health check path) follows the content.
SLOT_SPECIFIC_CONFIG = frozenset({
    "alwaysOn", "minTlsVersion", "scmMinTlsVersion", "minTlsCipherSuite", "http20Enabled", "ftpsState",
    "ipSecurityRestrictions", "ipSecurityRestrictionsDefaultAction", "scmIpSecurityRestrictions",
    "scmIpSecurityRestrictionsDefaultAction", "scmIpSecurityRestrictionsUseMain", "cors", "httpLoggingEnabled",
    "detailedErrorLoggingEnabled", "requestTracingEnabled", "logsDirectorySizeLimit", "vnetName",
    "vnetRouteAllEnabled", "vnetPrivatePortsCount", "publicNetworkAccess", "numberOfWorkers",
    "publishingUsername", "scmType", "managedServiceIdentityId", "xManagedServiceIdentityId",
})


def _sticky_setting(name: str, sticky: set[str]) -> bool:
    # Same source: app settings marked as slot settings, and "settings ending with _EXTENSION_VERSION".
    return name in sticky or name.upper().endswith("_EXTENSION_VERSION")


def _swap(ctx: ActionCtx) -> ActionReply:
    """slotsswap: exchange the swappable part of config/web and the non-sticky app settings of two slots.
    An LRO (202 + Azure-AsyncOperation, 1-5 min in realistic latency) as on Azure; the local cloud makes the
    exchange when it accepts the request, so a client that waits for the LRO sees what Azure shows after it."""
    request = ctx.request if isinstance(ctx.request, dict) else {}
    target = str(request.get("targetSlot") or "")
    # CsmSlotEntity: targetSlot and preserveVnet are both required (azure-mgmt-web models, REST spec).
    if not target:
        raise ArmError(400, "BadRequest", "The parameter targetSlot has an invalid value.")
    if not isinstance(request.get("preserveVnet"), bool):
        raise ArmError(400, "BadRequest", "The parameter preserveVnet has an invalid value.")
    site_id = ctx.id.rsplit("/slots/", 1)[0]
    source = ctx.id if "/slots/" in ctx.id.lower() else site_id
    other = site_id if target.lower() == "production" else f"{site_id}/slots/{target}"
    if source.lower() == other.lower():
        other = f"{site_id}/slots/{target}"
    if ctx.engine.get(other) is None:
        raise ArmError(404, "ResourceNotFound", f"Slot '{target}' not found.")
    sticky = set(((ctx.engine.get(f"{site_id}/config/slotConfigNames") or {}).get("properties") or {})
                 .get("appSettingNames") or [])
    refusal = _warmup_refusal(ctx.engine, source)
    if refusal:
        # Accepted, then the operation fails with nothing exchanged (deploy-staging-slots.md, step 2 and
        # "Specify custom warm-up"). The docs give no error code for it: the code below is the local cloud's.
        return ActionReply(202, None, lro_seconds=120.0, lro_error={"code": "SwapWarmupFailed", "message": refusal})
    apps = getattr(ctx.engine, "app_containers", None)
    if apps is not None:
        apps.containers.swapped(source, other)
    a_cfg, b_cfg = ctx.engine.get(f"{source}/config/web"), ctx.engine.get(f"{other}/config/web")
    if a_cfg and b_cfg:
        a_props, b_props = a_cfg["properties"], b_cfg["properties"]
        keys = (set(a_props) | set(b_props)) - SLOT_SPECIFIC_CONFIG
        a_cfg["properties"] = {**a_props, **{k: b_props.get(k) for k in keys}}
        b_cfg["properties"] = {**b_props, **{k: a_props.get(k) for k in keys}}
        ctx.engine.put_raw(f"{source}/config/web", a_cfg)
        ctx.engine.put_raw(f"{other}/config/web", b_cfg)
    a_set, b_set = ctx.engine.get(f"{source}/config/appsettings"), ctx.engine.get(f"{other}/config/appsettings")
    if a_set and b_set:
        a_props, b_props = a_set["properties"], b_set["properties"]
        a_new = ({k: v for k, v in a_props.items() if _sticky_setting(k, sticky)}
                 | {k: v for k, v in b_props.items() if not _sticky_setting(k, sticky)})
        b_new = ({k: v for k, v in b_props.items() if _sticky_setting(k, sticky)}
                 | {k: v for k, v in a_props.items() if not _sticky_setting(k, sticky)})
        a_set["properties"], b_set["properties"] = a_new, b_new
        ctx.engine.put_raw(f"{source}/config/appsettings", a_set)
        ctx.engine.put_raw(f"{other}/config/appsettings", b_set)
    source_name = source.rsplit("/slots/", 1)[1] if "/slots/" in source else "production"
    other_name = other.rsplit("/slots/", 1)[1] if "/slots/" in other else "production"
    for sid in (source, other):
        site = ctx.engine.get(sid)
        if site is not None and isinstance((cfg := ctx.engine.get(f"{sid}/config/web")), dict):
            site["properties"]["siteConfig"] = site_view(cfg["properties"])
            # GET shows the last swap (Site.slotSwapStatus in the REST spec: timestampUtc, source, destination).
            site["properties"]["slotSwapStatus"] = {"timestampUtc": ctx.now, "sourceSlotName": source_name,
                                                    "destinationSlotName": other_name}
            ctx.engine.put_raw(sid, site)
    return ActionReply(202, None, lro_seconds=120.0)


def _warmup_refusal(engine: EngineApi, source: str) -> str | None:
    """Why the swap's warm-up of the source slot stops it (WEBSITE_SWAP_WARMUP_PING_STATUSES), or None."""
    apps = getattr(engine, "app_containers", None)
    settings = (engine.get(f"{source}/config/appsettings") or {}).get("properties") or {}
    if apps is None or not settings.get(WARMUP_STATUSES):
        return None
    return warmup_refusal(settings, apps.warmup_status(source, str(settings.get(WARMUP_PATH) or "/")))


def _state_action(state: str) -> Action:
    def handler(ctx: ActionCtx) -> ActionReply:
        assert ctx.resource is not None
        ctx.resource["properties"]["state"] = state
        ctx.engine.put_raw(ctx.id, ctx.resource)
        return ActionReply(200, None)

    return Action(handler, write=True)


def _restart(ctx: ActionCtx) -> ActionReply:
    kvrefs.refresh(ctx.engine, ctx.id)  # how App Service re-reads Key Vault references
    apps = getattr(ctx.engine, "app_containers", None)
    if apps is not None:  # a new container, with the references resolved again (appdb.py)
        _restarted(ctx.engine, ctx.id, apps.containers.configured(ctx.id))
    return ActionReply(200, None)


_SITE_ACTIONS = {"slotsswap": Action(_swap, write=True), "start": _state_action("Running"),
                 "stop": _state_action("Stopped"), "restart": Action(_restart, write=True)}

# ----------------------------------------------------------------------------- config resources


def _config_populate(ctx: WriteCtx) -> None:
    name = ctx.path.name.lower()
    site_id = ctx.id.rsplit("/config/", 1)[0]
    site = ctx.engine.get(site_id) or {}
    ctx.body["location"] = site.get("location", ctx.body.get("location"))
    if name == "web":
        props = {k: v for k, v in ctx.props.items() if k not in SEPARATE}
        ctx.body["properties"] = merged_config(default_config(str(site.get("kind", "app"))), props)
        ctx.body["properties"].update(web_network.identity_ids(site))
        ctx.body.setdefault("kind", None)
    elif name == "appsettings":
        # App setting values are strings on the wire; ARM coerces what it is given.
        ctx.body["properties"] = {k: "" if v is None else str(v) for k, v in ctx.props.items()}
    elif name == "slotconfignames":
        defaults(ctx.props, {"connectionStringNames": None, "appSettingNames": None, "azureStorageConfigNames": None})


def _config_after_write(ctx: WriteCtx) -> None:
    site_id = ctx.id.rsplit("/config/", 1)[0]
    kvrefs.refresh(ctx.engine, site_id)  # a configuration change re-resolves Key Vault references
    name = ctx.path.name.lower()
    before = ((ctx.existing or {}).get("properties") or {})
    after = ctx.body["properties"]
    if name == "appsettings" and before != after:
        # New environment variables need a new container (configure-common.md: app settings are passed as
        # `--env` flags); the image is unchanged.
        image = str(((ctx.engine.get(f"{site_id}/config/web") or {}).get("properties") or {}).get("linuxFxVersion") or "")
        _restarted(ctx.engine, site_id, (image, str(before.get(MARKER_SETTING) or "")))
    if name != "web":
        return
    site = ctx.engine.get(site_id)
    if site is not None:
        site["properties"]["siteConfig"] = site_view(after)
        ctx.engine.put_raw(site_id, site)
    if after.get("linuxFxVersion") != before.get("linuxFxVersion"):
        settings = (ctx.engine.get(f"{site_id}/config/appsettings") or {}).get("properties") or {}
        _restarted(ctx.engine, site_id, (str(before.get("linuxFxVersion") or ""),
                                         str(settings.get(MARKER_SETTING) or "")))


def _restarted(engine: EngineApi, site_id: str, before: tuple[str, str] | None) -> None:
    """A new image or new app settings on a site or slot: a new container starts and the one running keeps
    answering until then (containers.Containers). A swap is not a restart here: it moves warm instances."""
    apps = getattr(engine, "app_containers", None)
    if apps is not None:
        apps.containers.restarted(site_id, before)


def _config_list(ctx: ActionCtx) -> ActionReply:
    """POST config/{appsettings|connectionstrings|...}/list: the stored set (secrets included)."""
    if ctx.resource is not None:
        return ActionReply(200, ctx.resource)
    site = ctx.engine.get(ctx.id.rsplit("/config/", 1)[0])
    if site is None:
        raise ArmError(404, "ResourceNotFound", f"The resource '{ctx.id}' was not found.")
    return ActionReply(200, {"id": ctx.id, "name": ctx.path.name, "type": ctx.path.full_type, "kind": None,
                             "location": site.get("location"), "properties": {}})


def _binding_populate(ctx: WriteCtx) -> None:
    site_name = ctx.path.names[0]
    defaults(ctx.props, {"siteName": site_name, "azureResourceName": site_name, "azureResourceType": "Website",
                         "customHostNameDnsRecordType": "CName", "hostNameType": "Verified", "sslState": "Disabled",
                         "domainId": None, "thumbprint": None, "virtualIP": None})


def _ssl_state(old: dict[str, Any], host: str) -> dict[str, Any]:
    kept = next((s for s in old.get("hostNameSslStates") or [] if s.get("name", "").lower() == host.lower()), None)
    return kept or {"name": host, "sslState": "Disabled", "hostType": "Standard"}


def _binding_hosts(engine: EngineApi, binding_id: str, host: str, add: bool) -> None:
    site_id = binding_id.rsplit("/hostNameBindings/", 1)[0]
    site = engine.get(site_id)
    if site is None or host.endswith(".azurewebsites.net"):
        return
    props = site["properties"]
    for key in ("hostNames", "enabledHostNames"):
        hosts = [h for h in props.get(key, []) if h.lower() != host.lower()]
        props[key] = hosts + [host] if add else hosts
    site_ssl_state(site, host, engine.get(binding_id) if add else None)
    engine.put_raw(site_id, site)


def _site_profile(type_name: str, **kw: Any) -> TypeProfile:
    return TypeProfile(type=type_name, lro=True, created=202, updated=202, patch_status=200, delete_missing=204,
                       latency=30.0, populate=_site_populate, after_write=_site_after_write,
                       on_removed=_site_removed, actions=dict(_SITE_ACTIONS), **kw)


def _config_profile(type_name: str) -> TypeProfile:
    return TypeProfile(type=type_name, created=200, updated=200, provisioning_state=False, latency=2.0,
                       populate=_config_populate, after_write=_config_after_write, body_type=type_name,
                       name_fn=lambda p: p.name, list_fn=web_network.web_config_only, actions={"list": Action(_config_list, False, needs_resource=False)})


def _policy_profile(type_name: str) -> TypeProfile:
    return TypeProfile(type=type_name, created=200, updated=200, provisioning_state=False, latency=1.0)


def _binding_profile(type_name: str) -> TypeProfile:
    return TypeProfile(
        type=type_name, created=200, updated=200, provisioning_state=False, latency=5.0,
        # No PATCH: WebApps has create_or_update/get/delete/list_host_name_binding only (azure-mgmt-web).
        methods=frozenset({"GET", "PUT", "DELETE", "HEAD"}),
        name_fn=lambda p: "/".join(p.names), populate=_binding_populate, before_write=check_site_binding,
        after_write=lambda ctx: _binding_hosts(ctx.engine, ctx.id, ctx.path.name, True),
        on_removed=lambda engine, body, now: _binding_hosts(engine, body["id"], body["id"].rsplit("/", 1)[-1], False),
    )


PROFILES = [
    TypeProfile(type="Microsoft.Web/serverfarms", lro=True, created=202, updated=202, patch_status=200,
                latency=30.0, populate=_plan_populate, before_delete=_plan_before_delete),
    _site_profile("Microsoft.Web/sites"),
    _site_profile("Microsoft.Web/sites/slots", name_fn=_slot_name, before_write=_slot_quota),
    _config_profile("Microsoft.Web/sites/config"),
    _config_profile("Microsoft.Web/sites/slots/config"),
    _policy_profile("Microsoft.Web/sites/basicPublishingCredentialsPolicies"),
    _policy_profile("Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies"),
    _binding_profile("Microsoft.Web/sites/hostNameBindings"),
    _binding_profile("Microsoft.Web/sites/slots/hostNameBindings"),
    *STATIC_PROFILES,
    *DOMAIN_PROFILES,
    *web_network.PROFILES,
]

