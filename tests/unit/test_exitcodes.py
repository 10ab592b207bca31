"""The README's exit-code table, the CLI's --help and the code's constants are one table."""

from __future__ import annotations

import re

from click.testing import CliRunner

from provisioner.cli import commands, exitcodes
from provisioner.cli.app import main
from tests.support import ROOT


def _readme_table() -> dict[int, str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- sample:exit-codes -->\n(.*?)<!-- /sample:exit-codes -->", text, re.S)
    assert block, "README.md lost its exit-codes block"
    return {int(code): meaning.strip() for code, meaning in re.findall(r"^\| (\d+) \| (.*) \|$", block.group(1), re.M)}


def test_readme_table_is_the_code_table():
    assert _readme_table() == exitcodes.MEANINGS


def test_help_prints_the_same_table():
    out = CliRunner().invoke(main, ["--help"]).output
    flat = " ".join(out.split())
    for code, meaning in exitcodes.MEANINGS.items():
        assert f"{code} {' '.join(meaning.split())}" in flat


def test_commands_use_the_constants():
    assert (commands.EXIT_OK, commands.EXIT_ERROR, commands.EXIT_CHANGES, commands.EXIT_INTERRUPTED) == (0, 1, 2, 130)
    assert set(exitcodes.MEANINGS) == {0, 1, 2, 130}
