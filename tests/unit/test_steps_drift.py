"""Rules the drift suites found: what is reported as drift must be repairable by the step (or be a replace)."""

from __future__ import annotations

import pytest

from provisioner.engine.diff import diff
from tests.support import session, step


@pytest.mark.parametrize(("env", "name"), [("dev", "web_app"), ("staging", "deployment_slot")])
def test_a_site_kind_changed_out_of_band_is_a_replace_not_a_never_converging_update(env, name):
    # tests/e2e/test_mutations.py: the PATCH carries no kind, so an update "did not converge".
    s = step(session(env), name)
    desired = s.desired({})
    observed = {**desired, "kind": "app"}
    [change] = diff(desired, observed, s.rules).changes
    assert (change.path, change.requires_replace) == ("kind", True)
    # Azure's own casing of kind is not a change (normalizer kept).
    assert diff(desired, {**desired, "kind": desired["kind"].upper()}, s.rules).changes == []
