"""The second independent list: fields whose NAME says they can run code, route traffic, grant access, ship
data elsewhere, weaken transport or weaken data protection, derived from the SDK models' wire paths.

A field name is split into words (camelCase, dots, brackets) and each word is looked up in the grammar below.
The grammar is about what a field does, not about our steps: it never reads a step's rules or desired(),
so a field nobody thought about is still caught (`appCommandLine` is "command"; `autoSwapSlotName` is
"swap"; `isLocalUserEnabled` is "local user"; `DisableIpMasking` is "masking").
"""

from __future__ import annotations

import re

GRAMMAR: dict[str, str] = {
    "runs code": "command commandline script scripts exe startup image fx docker customaction install registry "
                 "runtime handler debugging remote push",
    "routes traffic": "host hosts hostname hostnames domain domains route routes routing vnet subnet subnets ip "
                      "ips proxy redirect endpoint endpoints network dns cname nameserver swap ramp reroute "
                      "outbound inbound link forward gateway peering nat delegation delegations",
    "grants access": "auth authentication authorization identity identities cert certificate certificates ssh ftp "
                     "ftps publishing credential credentials password secret secrets token sas cors origins acl "
                     "acls firewall public access role roles local sftp tenant admin administrator "
                     "administrators rbac principal login restrictions permissions oauth aad entra key keys",
    "ships data elsewhere": "workspace eventhub export destination replication webhook webhooks email "
                            "emails url uri copy diagnostic masking linked mount mounts receivers sink",
    "weakens transport": "tls ssl https cipher protocol encryption nonssl secure transfer",
    "weakens data protection": "delete deletion retention purge soft versioning immutability immutable lock "
                               "backup backups redundant",
}
WORDS: dict[str, str] = {w: kind for kind, words in GRAMMAR.items() for w in words.split()}


def words(path: str) -> list[str]:
    out: list[str] = []
    for segment in re.split(r"[.\[\]*]+", path):
        if not segment:
            continue
        out.append(segment.lower())
        out += [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", segment)]
    return out


def risky(path: str) -> list[str]:
    """What a field can do, by the words of its name (empty: none of the above)."""
    return sorted({WORDS[w] for w in words(path) if w in WORDS})


# Fields a grammar word flags that are not what the word says, each with why (kept short on purpose: a new
# entry needs a reason a reviewer accepts, and the test below fails when one stops being needed).
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("Microsoft.Web/sites", "properties.customDomainVerificationId"):
        "an identifier Azure assigns per subscription (the asuid TXT record's value); writing it adds no domain",
    ("Microsoft.Web/sites/slots", "properties.customDomainVerificationId"):
        "an identifier Azure assigns per subscription (the asuid TXT record's value); writing it adds no domain",
    ("Microsoft.Web/sites/config", "properties.publishingUsername"):
        "the site's publishing user name, assigned by Azure; basic publishing itself is off (publishing_credentials)",
    ("Microsoft.Web/sites/slots/config", "properties.publishingUsername"):
        "the slot's publishing user name, assigned by Azure; basic publishing itself is off (publishing_credentials)",
    ("Microsoft.KeyVault/vaults", "properties.vaultUri"):
        "the vault's own data-plane address, derived by Azure from its name and cloud",
    ("Microsoft.Network/privateEndpoints", "properties.customDnsConfigs[].fqdn"):
        "filled in by Azure from the connection (the linked server's privatelink name, PrivateEndpointGet.json); the "
        "name the app resolves is the DNS zone group's record, compared by the postgres_private_dns_zone_group step",
    ("Microsoft.Network/privateEndpoints", "properties.customDnsConfigs[].ipAddresses"):
        "filled in by Azure: the address the endpoint's network interface got in the compared subnet",
    ("Microsoft.Web/sites/config", "properties.managedServiceIdentityId"):
        "a number App Service derives from the site's system-assigned identity, which the web_app step compares",
    ("Microsoft.Web/sites/slots/config", "properties.managedServiceIdentityId"):
        "a number App Service derives from the slot's system-assigned identity, which the deployment_slot step compares",
    ("Microsoft.Web/sites/config", "properties.xManagedServiceIdentityId"):
        "a number App Service derives from the site's user-assigned identity, which the web_app step owns whole "
        "(identity.userAssignedIdentities)",
    ("Microsoft.Web/sites/slots/config", "properties.xManagedServiceIdentityId"):
        "a number App Service derives from the slot's user-assigned identity, which the deployment_slot step owns whole "
        "(identity.userAssignedIdentities)",
    ("Microsoft.Web/certificates", "properties.domainValidationMethod"):
        "an input of the free certificate's issuance, not a setting of the issued certificate",
}
