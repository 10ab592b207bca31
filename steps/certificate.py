"""Steps: the free App Service managed certificate for api.<zone> (Microsoft.Web/certificates) and the SNI TLS
binding that serves it (sslState + thumbprint on the site's hostNameBindings)."""

from __future__ import annotations

from typing import Any, ClassVar

from provisioner.azure import call, put_accepted, raw
from provisioner.core.errors import ConfigProblem
from provisioner.core.model import CLEAR, UNKNOWN
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules, lower
from steps import dns_zone
from steps._base import ArmStep, name_problems, rules
from steps._fields import PLATFORM, SdkModel, nm
from steps.custom_domain import (
    BINDING_ABSENT,
    BINDING_FILLED_IN,
    HOST_NORMALIZERS,
    ApiHostName,
    binding_body,
    host,
)
from steps.dns_delegation import NeedsPublicDns

SECTION = None  # configured by [dns] (steps/dns_zone.py): the certificate covers api.<zone>


def _fold(value: Any) -> Any:
    return value.lower().rstrip(".") if isinstance(value, str) else value


class ApiCertificate(NeedsPublicDns, ArmStep):
    """An App Service managed certificate: free, issued and renewed by App Service for a host name already bound
    to a site on the plan ("Create a free managed certificate", https://learn.microsoft.com/azure/app-service/
    configure-ssl-certificate#create-a-free-managed-certificate; ARM body canonicalName + serverFarmId, empty
    password: MicrosoftDocs/azure-docs#42539). Azure refuses it before the binding exists (azure-cli#13647)."""

    type = "Microsoft.Web/certificates"
    model = SdkModel("azure.mgmt.web.models", "Certificate")
    not_managed = (
        nm(PLATFORM, "kind")
        + nm("an input of the free certificate's issuance (how App Service validates the domain), not a setting "
             "of the issued certificate", "properties.domainValidationMethod")
    )
    needs = ("custom_domain:api", "app_service_plan")
    # thumbprint, subjectName, hostNames, issuer, issueDate, expirationDate, publicKeyHash, selfLink, valid,
    # keyVaultSecretStatus are server-populated (CertificateProperties' read-only fields in azure-mgmt-web).
    # The certificate is issued for one name: another name is a new certificate.
    # A managed certificate has no uploaded PFX, password or Key Vault source: declared absent (a certificate
    # re-pointed at someone's vault is drift).
    rules = rules(Rules(normalizers=(("properties.canonicalName", _fold), ("properties.hostNames[]", _fold)),
                        replace_on=("properties.canonicalName",),
                        absent=("properties.password", "properties.pfxBlob", "properties.keyVaultId",
                                "properties.keyVaultSecretName")))

    def desired(self, known: Any) -> dict[str, Any]:
        plan = (f"/subscriptions/{self.env.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.Web/serverfarms/{self.env.resource_name('app_service_plan')}")
        dns = self.env.section(dns_zone.SECTION, dns_zone.Config)
        name = host(self.env, dns.api_host)
        return self.base(canonicalName=name, serverFarmId=plan, hostNames=[name])

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.web.certificates.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # App Service answers a new managed certificate with 202 + Location and issues it in the background; the
        # SDK operation accepts only 200 and raises (azure-sdk-for-python#34395, azure-rest-api-specs#27962).
        # put_accepted polls the Location to its end; the executor's re-read then finds the thumbprint, which the
        # TLS binding (custom_domain:api-tls) needs.
        put_accepted(clients.web.certificates.create_or_update, self.resource_group, self.resource_name, desired,
                     polling_interval=clients.target.polling_interval)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH (CertificatePatchResource): tags, and the clearing of a Key Vault source or PFX set by hand
        # (declared absent; CLEAR in the body) are all that change on an issued certificate.
        cleared = {k: v for k, v in desired["properties"].items() if v is CLEAR}
        patch: dict[str, Any] = {"tags": desired["tags"], **({"properties": cleared} if cleared else {})}
        call(clients.web.certificates.update, self.resource_group, self.resource_name, patch)

    def delete(self, clients: Any) -> None:
        call(clients.web.certificates.delete, self.resource_group, self.resource_name)


class ApiTls(ApiHostName):
    """The same binding as custom_domain:api with SNI TLS on: serves the managed certificate by its thumbprint,
    so the site's httpsOnly redirect lands on a certificate that matches api.<zone>."""

    needs: ClassVar[tuple[str, ...]] = ("custom_domain:api", "certificate:api")
    # The plain binding leaves sslState/thumbprint to this step; here they are compared (TLS must stay on).
    not_managed: ClassVar[tuple[tuple[str, str], ...]] = BINDING_FILLED_IN
    rules = rules(Rules(normalizers=(*HOST_NORMALIZERS, ("properties.sslState", lower),
                                     ("properties.thumbprint", lower)), absent=BINDING_ABSENT))

    def desired(self, known: Any) -> dict[str, Any]:
        body = binding_body(self.site)
        thumbprint = ((known.get("certificate:api") or {}).get("properties") or {}).get("thumbprint")
        body["properties"].update(sslState="SniEnabled", thumbprint=thumbprint or UNKNOWN)
        return body


def instances(env: EnvironmentSpec) -> list[ArmStep]:
    dns = env.section(dns_zone.SECTION, dns_zone.Config)
    return [ApiCertificate(env, "certificate:api", env.resource_name("certificate")),
            ApiTls(env, "custom_domain:api-tls", host(env, dns.api_host))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    # Certificate names: 1-260 characters without / \\ ? # and not ending with '.' or ' ' (like other Web names).
    return name_problems(env, "certificate", r"[^/\\?#]{0,259}[^/\\?#. ]", "1-260 characters, no / \\ ? #")
