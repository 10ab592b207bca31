"""DNS, custom domain and email validation: one bad input per rule, reported with its file and key path."""

from pathlib import Path

import pytest

import steps
from provisioner.cli.session import load_session
from provisioner.core.errors import ConfigError


def problem(envs: Path, key: str, append: str, env: str = "dev", file: str | None = None):
    """Append TOML to envs/<file or env>.toml, load, and return the one error reported for `key`."""
    path = envs / f"{file or env}.toml"
    path.write_text(path.read_text() + "\n" + append + "\n")
    with pytest.raises(ConfigError) as info:
        load_session(env, steps.ALL_STEPS, envs)
    found = [p for p in info.value.problems if p.key == key and p.severity == "error"]
    assert len(found) == 1, info.value.problems
    assert Path(found[0].file).name == f"{file or env}.toml"
    return found[0]


def test_zone_label_characters(envs):
    p = problem(envs, "naming.dns_zone", '[naming]\ndns_zone = "dev!.fundrbolt.app"')
    assert "'dev!'" in p.message and "letters, digits" in p.message


def test_zone_needs_two_labels(envs):
    p = problem(envs, "naming.dns_zone", '[naming]\ndns_zone = "fundrbolt"')
    assert "2-34 labels" in p.message


def test_zone_label_length(envs):
    p = problem(envs, "naming.dns_zone", f'[naming]\ndns_zone = "{"a" * 64}.fundrbolt.app"', env="staging")
    assert "1-63" in p.message


def test_record_relative_name(envs):
    p = problem(envs, "dns.api_host", '[dns]\napi_host = "my api"')
    assert "not a valid record name" in p.message


def test_cname_not_at_the_apex(envs):
    prod = envs / "production.toml"  # production already has a [dns] table (its delegations)
    prod.write_text(prod.read_text().replace("[dns]\n", '[dns]\nadmin_host = "@"\n', 1))
    p = problem(envs, "dns.admin_host", "", env="production")
    assert "apex" in p.message


def test_cname_hosts_differ(envs):
    p = problem(envs, "dns.admin_host", '[dns]\nadmin_host = "api"')
    assert "already" in p.message


def test_txt_value_too_long_to_chunk(envs):
    p = problem(envs, "dns.txt_records.@[0]", f'[dns.txt_records]\n"@" = ["{"x" * 4097}"]')
    assert "4096" in p.message and "255" in p.message


def test_txt_value_not_ascii(envs):
    p = problem(envs, "dns.txt_records.verify[0]", '[dns.txt_records]\nverify = ["caf\u00e9"]')
    assert "ASCII" in p.message


def test_txt_name_owned_by_the_provisioner(envs):
    p = problem(envs, "dns.txt_records._dmarc", '[dns.txt_records]\n_dmarc = ["v=DMARC1; p=none"]')
    assert "managed by the provisioner" in p.message


def test_ttl_lower_bound(envs):
    p = problem(envs, "dns.ttl", "[dns]\nttl = 0")
    assert "greater than or equal to 1" in p.message


def test_ttl_upper_bound(envs):
    p = problem(envs, "dns.ttl", "[dns]\nttl = 2147483648")
    assert "less than or equal to 2147483647" in p.message


def test_email_data_location_in_allowed_set(envs):
    p = problem(envs, "email.data_location", '[email]\ndata_location = "Mars"\n[communication]\ndata_location = "Mars"')
    assert "'Mars'" in p.message and "United States" in p.message


def test_communication_data_location_in_allowed_set(envs):
    p = problem(envs, "communication.data_location", '[communication]\ndata_location = "unitedstates"')
    assert "not a Communication Services data location" in p.message


def test_data_locations_must_match(envs):
    p = problem(envs, "communication.data_location", '[communication]\ndata_location = "Europe"', env="staging")
    assert "differs from email.data_location" in p.message


def test_communication_service_name(envs):
    p = problem(envs, "naming.communication_service", '[naming]\ncommunication_service = "fundrbolt_dev_acs"')
    assert "1-63 letters, digits and '-'" in p.message


def test_communication_service_name_length(envs):
    p = problem(envs, "naming.communication_service", f'[naming]\ncommunication_service = "{"a" * 64}"')
    assert "1-63" in p.message


def test_email_service_name(envs):
    p = problem(envs, "naming.email_service", '[naming]\nemail_service = "fundrbolt.email"')
    assert "1-63 letters, digits and '-'" in p.message


def test_dmarc_policy_enum(envs):
    p = problem(envs, "email.dmarc_policy", '[email]\ndmarc_policy = "block"')
    assert "quarantine" in p.message


def test_dmarc_report_address(envs):
    p = problem(envs, "email.dmarc_report_address", '[email]\ndmarc_report_address = "reports"')
    assert "not an email address" in p.message


def test_dmarc_report_address_template(envs):
    p = problem(envs, "email.dmarc_report_address", '[email]\ndmarc_report_address = "dmarc@{domain}"')
    assert "only {zone}" in p.message


def test_second_apex_spf_record(envs):
    p = problem(envs, "dns.txt_records.@[1]", '[dns.txt_records]\n"@" = ["google-site-verification=x", "v=spf1 -all"]')
    assert "SPF" in p.message


def _prod_dns(envs: Path, line: str) -> None:
    """Add a key to production's existing [dns] table (it holds the delegations)."""
    prod = envs / "production.toml"
    prod.write_text(prod.read_text().replace("[dns]\n", f"[dns]\n{line}\n", 1))


def test_spf_include_is_a_domain(envs):
    p = problem(envs, "email.spf_includes[1]", '[email]\nspf_includes = ["_spf.google.com", "include:x.net"]')
    assert "without 'include:'" in p.message


def test_spf_include_listed_twice(envs):
    p = problem(envs, "email.spf_includes", '[email]\nspf_includes = ["a.example.com", "A.example.com"]')
    assert "listed twice" in p.message


def test_spf_includes_respect_the_lookup_limit(envs):
    many = ", ".join(f'"s{i}.example.com"' for i in range(10))
    p = problem(envs, "email.spf_includes", f"[email]\nspf_includes = [{many}]", env="production")
    assert "10 DNS lookups" in p.message and "RFC 7208" in p.message


def test_the_apex_has_no_parent_to_be_delegated_from(envs):
    prod = envs / "production.toml"
    prod.write_text(prod.read_text().replace('parent_environment = ""', 'parent_environment = "staging"', 1)
                    .replace('parent_resource_group = ""', 'parent_resource_group = "fundrbolt-staging-rg"', 1))
    p = problem(envs, "dns.parent_environment", "", env="production")
    assert "registered at a registrar" in p.message


def test_parent_resource_group_must_be_a_group_name(envs):
    p = problem(envs, "dns.parent_resource_group", '[dns]\nparent_resource_group = "bad/group"')
    assert "resource group name" in p.message


def test_delegation_label_cannot_shadow_a_record(envs):
    _prod_dns(envs, 'delegations = { api = "fundrbolt-dev-rg" }')
    prod = envs / "production.toml"
    # the first `delegations` line wins only if the shipped one is gone: drop it
    prod.write_text(prod.read_text().replace('delegations = { dev = "fundrbolt-dev-rg", staging = "fundrbolt-staging-rg" }\n', ""))
    p = problem(envs, "dns.delegations.api", "", env="production")
    assert "already a record name" in p.message
