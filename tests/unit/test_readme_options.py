"""Every option the README's command table shows is an option of that command, and every option deploy and
rollback have (beyond the shared target options) is in the table: the README and --help agree on them."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from provisioner.cli.app import main, target_options
from tests.support import ROOT


@click.command()
@target_options
def _targets(target: object) -> None:
    """Only the shared target options."""


TARGET = {o for p in _targets.params for o in p.opts}


def _rows() -> dict[str, set[str]]:
    text = (ROOT / "README.md").read_text()
    return {m["cmd"]: set(re.findall(r"--[a-z][a-z-]*", m["rest"]))
            for m in re.finditer(r"^\| `provisioner (?P<cmd>[a-z ]+?) (?P<rest>--[^`]*)`", text, re.M)}


def _command(cmd: str) -> click.Command:
    group: click.Command = main
    for word in cmd.split():
        assert isinstance(group, click.Group)
        group = group.commands[word]
    return group


def _options(cmd: str) -> set[str]:
    return {o for p in _command(cmd).params for o in p.opts if o.startswith("--")}


@pytest.mark.parametrize("cmd", sorted(_rows()))
def test_every_option_in_the_table_exists(cmd):
    missing = _rows()[cmd] - _options(cmd)
    assert not missing, f"README shows {sorted(missing)} for `provisioner {cmd}`; the command has no such option"


@pytest.mark.parametrize("cmd", ["deploy backend", "rollback"])
def test_every_option_of_deploy_and_rollback_is_in_the_table(cmd):
    own = _options(cmd) - TARGET - {"--help"}
    assert own <= _rows()[cmd], f"README's row for `provisioner {cmd}` lacks {sorted(own - _rows()[cmd])}"
    text = CliRunner().invoke(main, [*cmd.split(), "--help"]).output
    assert all(o in text for o in own)
