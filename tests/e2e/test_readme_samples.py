"""README samples come from real runs (scripts/readme_samples.py); this fails when one no longer matches."""

from __future__ import annotations

import sys

import pytest

from tests.e2e import forked
from tests.support import ROOT

pytestmark = pytest.mark.e2e


def test_readme_samples_match_a_fresh_run(monkeypatch, capsys):
    sys.path.insert(0, str(ROOT / "scripts"))
    import readme_samples

    monkeypatch.setattr(readme_samples, "RUN", forked.run)  # each CLI run forked (tests/e2e/forked.py)
    code = readme_samples.main(["--check"])
    assert code == 0, capsys.readouterr().err


def test_normalize_masks_only_what_changes_every_run():
    sys.path.insert(0, str(ROOT / "scripts"))
    import readme_samples

    a = "last changed by bob at 2026-11-25T18:58:58Z (2s ago) in 1.7s on 127.0.0.1:4242"
    b = "last changed by bob at 2026-12-01T02:25:11Z (13m ago) in 0.2s on 127.0.0.1:39341"
    assert readme_samples.normalize(a) == readme_samples.normalize(b)
    assert readme_samples.normalize("3 of 58 resource(s)") != readme_samples.normalize("3 of 59 resource(s)")


def test_a_sample_no_file_holds_or_a_marker_with_no_sample_is_stale(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    import readme_samples

    texts = {tmp_path / "a.md": "<!-- sample:one -->\nx\n<!-- /sample:one -->\n<!-- sample:typo -->\n<!-- /sample:typo -->\n"}
    found = readme_samples.unplaced(texts, {"one": "x\n", "two": "y\n"})
    assert found == ["two (no marker in README.md or docs/)", "typo (a marker with no such sample)"]
    updated, stale = readme_samples.apply(texts[tmp_path / "a.md"], {"one": "z\n"})
    assert stale == ["one"] and "z\n" in updated
