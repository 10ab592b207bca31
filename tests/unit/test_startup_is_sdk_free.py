"""Commands that need no Azure call load no Azure SDK module: start-up stays fast (steps name their SDK models
lazily, steps/_fields.py SdkModel; importing them all took `validate` from 0.4 s to 2.3 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from click.testing import CliRunner
from provisioner.cli.app import main
result = CliRunner().invoke(main, sys.argv[1:])
assert result.exit_code == 0, result.output
print(",".join(sorted(m for m in sys.modules if m == "azure" or m.startswith("azure."))))
"""


@pytest.mark.parametrize("args", [["--help"], ["validate", "--env", "production"], ["validate", "--env", "dev"]])
def test_a_command_without_azure_calls_imports_no_azure_module(args: list[str]) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"`provisioner {' '.join(args)}` imported: {out.stdout.strip()[:300]}"


def test_the_probe_sees_an_azure_import_when_there_is_one() -> None:
    """The check can fail: resolving one step's model imports its SDK module."""
    code = PROBE.replace("print(", "import steps.web_app\nsteps.web_app.WebApp.model.resolve()\nprint(")
    out = subprocess.run([sys.executable, "-c", code, "--help"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "azure.mgmt.web.models" in out.stdout
