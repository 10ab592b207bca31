"""App Service site configuration: the fully defaulted config/web body and the null-filled site view."""

from __future__ import annotations

import copy
from typing import Any

_ALLOW_ALL = [{"ipAddress": "Any", "action": "Allow", "priority": 2147483647, "name": "Allow all",
               "description": "Allow all access"}]

_DEFAULT_DOCUMENTS = ["Default.htm", "Default.html", "Default.asp", "index.htm", "index.html", "iisstart.htm",
                      "default.aspx", "index.php", "hostingstart.html"]

# Shaped after GetSiteConfig.json with the Linux values of CreateOrUpdateFunctionAppFlexConsumption.json
# (empty language versions, 64-bit worker, "Allow all" access restrictions). Keys GET returns as null
# are listed too: a differ must see the same shape Azure returns.
_CONFIG: dict[str, Any] = {
    "numberOfWorkers": 1,
    "defaultDocuments": _DEFAULT_DOCUMENTS,
    "netFrameworkVersion": "v4.0",
    "phpVersion": "",
    "pythonVersion": "",
    "nodeVersion": "",
    "powerShellVersion": "",
    "linuxFxVersion": "",
    "windowsFxVersion": None,
    "requestTracingEnabled": False,
    "remoteDebuggingEnabled": False,
    "remoteDebuggingVersion": None,
    "httpLoggingEnabled": False,
    "acrUseManagedIdentityCreds": False,
    "acrUserManagedIdentityID": None,
    "logsDirectorySizeLimit": 35,
    "detailedErrorLoggingEnabled": False,
    "publishingUsername": None,
    "scmType": "None",
    "use32BitWorkerProcess": False,
    "webSocketsEnabled": False,
    "alwaysOn": False,
    "javaVersion": None,
    "javaContainer": None,
    "javaContainerVersion": None,
    "appCommandLine": "",
    "managedPipelineMode": "Integrated",
    "virtualApplications": [{"virtualPath": "/", "physicalPath": "site\\wwwroot", "preloadEnabled": False}],
    "loadBalancing": "LeastRequests",
    "experiments": {"rampUpRules": []},
    "autoHealEnabled": False,
    "vnetName": "",
    "vnetRouteAllEnabled": False,
    "vnetPrivatePortsCount": 0,
    "cors": None,
    "localMySqlEnabled": False,
    "managedServiceIdentityId": None,
    "xManagedServiceIdentityId": None,
    "keyVaultReferenceIdentity": None,
    "ipSecurityRestrictions": _ALLOW_ALL,
    "ipSecurityRestrictionsDefaultAction": None,
    "scmIpSecurityRestrictions": _ALLOW_ALL,
    "scmIpSecurityRestrictionsDefaultAction": None,
    "scmIpSecurityRestrictionsUseMain": False,
    "http20Enabled": False,
    "minTlsVersion": "1.2",
    "minTlsCipherSuite": None,
    "scmMinTlsVersion": "1.2",
    "ftpsState": "AllAllowed",
    "preWarmedInstanceCount": 0,
    "functionAppScaleLimit": 0,
    "elasticWebAppScaleLimit": None,
    "healthCheckPath": None,
    "functionsRuntimeScaleMonitoringEnabled": False,
    "websiteTimeZone": None,
    "minimumElasticInstanceCount": 0,
    "azureStorageAccounts": {},
    "publicNetworkAccess": None,
}

# What GET /sites/{name} keeps in properties.siteConfig: everything else is null (siteConfig is
# write-only on the site; the real values live in config/web).
_SITE_VIEW_KEYS = ("numberOfWorkers", "linuxFxVersion", "windowsFxVersion", "acrUseManagedIdentityCreds",
                   "alwaysOn", "http20Enabled", "functionAppScaleLimit", "minimumElasticInstanceCount")

# Never stored in config/web: they have their own endpoints (config/appsettings, connectionstrings).
SEPARATE = ("appSettings", "connectionStrings", "handlerMappings", "metadata", "machineKey", "push")


def default_config(kind: str) -> dict[str, Any]:
    config = copy.deepcopy(_CONFIG)
    if "linux" not in kind.lower():
        # Windows apps: the values of the Windows GetSiteConfig.json example.
        config.update(phpVersion="5.6", use32BitWorkerProcess=True, linuxFxVersion="",
                      ipSecurityRestrictions=copy.deepcopy(_ALLOW_ALL))
    return config


def merged_config(base: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in sent.items():
        if key in SEPARATE:
            continue
        if key in ("minTlsVersion", "scmMinTlsVersion") and isinstance(value, str):
            out[key] = value
        elif value is not None:
            out[key] = copy.deepcopy(value)
    return out


def site_view(config: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {key: None for key in _CONFIG}
    for key in _SITE_VIEW_KEYS:
        view[key] = config.get(key)
    view.update(appSettings=None, connectionStrings=None, machineKey=None, handlerMappings=None, metadata=None)
    return view
