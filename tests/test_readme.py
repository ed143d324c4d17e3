"""The README's two set-up commands are exactly what CI runs."""

from __future__ import annotations

import re

from tests.conftest import REPO


def _setup_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)]


def test_ci_runs_the_readme_install_and_test_commands() -> None:
    commands = _setup_commands()
    assert len(commands) == 2, "the README's set-up shows exactly two commands"
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line and not line.startswith(("#", "set ", "cd ", ".ci/"))]  # .ci/ helpers: system packages
    assert ci == commands


def test_install_pins_torch_through_the_constraints_file() -> None:
    install = _setup_commands()[0]
    assert "-c constraints.txt" in install
    pins = (REPO / "constraints.txt").read_text().split()
    assert "torch==2.13.0" in pins
