"""policy/baseline.toml and the env files' exemptions: every built-in is assigned or left out by a class whose
check holds for it (against Microsoft's files and the steps), every exemption names an assigned definition."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import steps.policy as policy_step
from provisioner.core.errors import ConfigError
from provisioner.engine.policy import baseline as baseline_mod
from provisioner.engine.policy.baseline import PolicyConfig, load
from provisioner.engine.policy.definitions import POLICY_DIR, Definition, builtins
from provisioner.engine.policy.evaluate import target_types
from tests.support import copy_envs, session

BASELINE = load()
ENVS = ("dev", "staging", "production")


def _provisioned_types() -> set[str]:
    return {s.type.lower() for env in ENVS for s in session(env).steps}


def _requires_function_app(d: Definition) -> bool:
    """The `if` is an allOf with a `kind contains functionapp` member: it holds only for function apps."""
    top = {k.lower(): v for k, v in d.condition.items()}
    members = top.get("allof") or []
    return any({k.lower(): v for k, v in m.items()}.get("field", "").lower() == "kind"
               and str({k.lower(): v for k, v in m.items()}.get("contains", "")).lower() == "functionapp"
               for m in members if isinstance(m, dict))


def test_every_built_in_is_assigned_or_left_out_once():
    left = BASELINE.left_out()
    assert len(builtins()) == 252  # policy/builtins/INDEX.md
    assert len(BASELINE.assigned) + len(left) == len(builtins())
    assert {d.reference_id.lower() for d in BASELINE.assigned}.isdisjoint(left)


@pytest.mark.parametrize("name", sorted(BASELINE.classes))
def test_each_left_out_definition_meets_its_class_check(name):
    cls = BASELINE.classes[name]
    by_ref = {d.reference_id.lower(): d for d in builtins()}
    provisioned = _provisioned_types()
    for ref in cls.definitions:
        d = by_ref[ref.lower()]
        if cls.check == "function-app":
            assert _requires_function_app(d), ref
        elif cls.check == "type-not-provisioned":
            types = {t.lower() for t in target_types(d)}
            assert types and not types & provisioned, (ref, types & provisioned)
        else:
            given = {k.lower() for k in BASELINE.parameters.get(d.reference_id, {})}
            missing = [p for p in d.required() if p.lower() not in given]
            assert missing, f"{ref}: every required parameter is given, so it could be assigned"


def test_the_platforms_sites_are_not_function_apps():
    for env in ENVS:
        kinds = {s.desired({}).get("kind") for s in session(env).steps if s.type == "Microsoft.Web/sites"}
        assert kinds == {"app,linux,container"}


def test_every_assigned_definition_has_a_value_for_each_parameter():
    facts = policy_step.facts(session("production").env)
    for d in BASELINE.assigned:
        values = BASELINE.values(d, facts)
        assert all(p in values for p in d.parameters), d.reference_id


def test_parameter_placeholders_are_facts_the_environment_provides():
    facts = set(policy_step.facts(session("dev").env))
    used = {m for values in BASELINE.parameters.values() for v in values.values()
            for m in re.findall(r"\{(\w+)\}", str(v))}
    assert used and used <= facts, used - facts


def test_the_shipped_exemptions_name_assigned_definitions():
    for env in ENVS:
        spec = session(env).env
        config = spec.section("policy", PolicyConfig)
        assert config.exemptions
        assert baseline_mod.exemption_problems(config, spec.where) == []


def test_an_exemption_of_an_unknown_definition_names_file_and_key(tmp_path):
    from provisioner.cli.session import load_session

    envs = copy_envs(tmp_path)
    text = (envs / "common.toml").read_text()
    (envs / "common.toml").write_text(text.replace('["Authentication_WebApp_Audit"]', '["Authentication_WebApp_Audti"]'))
    import steps

    with pytest.raises(ConfigError) as err:
        load_session("dev", steps.ALL_STEPS, envs)
    [p] = [p for p in err.value.problems if p.key.startswith("policy.")]
    assert p.file.endswith("common.toml")
    assert p.key == "policy.exemptions.api-authenticates-its-callers.policy_definition_reference_ids[0]"
    assert "did you mean 'Authentication_WebApp_Audit'" in p.message


def test_an_exemption_of_a_definition_left_out_is_refused(tmp_path):
    from provisioner.cli.session import load_session

    envs = copy_envs(tmp_path)
    text = (envs / "dev.toml").read_text()
    (envs / "dev.toml").write_text(text.replace('["Recoverable_Audit"]', '["AuditFTPS_FunctionApp_Audit"]'))
    import steps

    with pytest.raises(ConfigError) as err:
        load_session("dev", steps.ALL_STEPS, envs)
    [p] = [p for p in err.value.problems if p.key.startswith("policy.")]
    assert p.file.endswith("dev.toml") and "not assigned (class 'function-app'" in p.message


def test_an_exemption_needs_a_category_azure_knows(tmp_path):
    from provisioner.cli.session import load_session

    envs = copy_envs(tmp_path)
    text = (envs / "common.toml").read_text()
    (envs / "common.toml").write_text(text.replace('exemption_category = "Mitigated"', 'exemption_category = "Accepted"', 1))
    import steps

    with pytest.raises(ConfigError) as err:
        load_session("dev", steps.ALL_STEPS, envs)
    [p] = [p for p in err.value.problems if p.key.startswith("policy.")]
    assert p.key.endswith(".exemption_category") and "'Waiver' or 'Mitigated'" in p.message


def test_a_baseline_naming_no_built_in_names_file_and_key(tmp_path):
    root = tmp_path / "policy"
    shutil.copytree(POLICY_DIR, root)
    text = (root / "baseline.toml").read_text()
    (root / "baseline.toml").write_text(text.replace('"DS_EH_cache-redis_DINE"', '"DS_EH_cache-rediz_DINE"', 1))
    with pytest.raises(ConfigError) as err:
        load(Path(root))
    [p] = err.value.problems
    assert p.file.endswith("baseline.toml") and p.key.startswith("not_assigned.event-hub-destination.definitions[")
    assert "did you mean 'DS_EH_cache-redis_DINE'" in p.message
