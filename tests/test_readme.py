"""The README's set-up commands are exactly what CI runs, and the commands and options the
documents show exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO


def _setup_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)]


def test_ci_runs_the_readme_install_checks_and_test_commands() -> None:
    commands = _setup_commands()
    assert len(commands) == 3, "the README's set-up shows the install, the static checks and the tests"
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line and not line.startswith(("#", "set ", "cd ", ".ci/"))]  # .ci/ helpers: system packages
    assert ci == [line for command in commands for line in command.splitlines()]


def test_install_pins_torch_through_the_constraints_file() -> None:
    install = _setup_commands()[0]
    assert "-c constraints.txt" in install
    pins = (REPO / "constraints.txt").read_text().split()
    assert "torch==2.13.0" in pins


DOCUMENTS = ("README.md", "serve/README.md", "bench/README.md")
# Where an option named on its own is one of a moderation command's (bench/README.md names the
# benchmark scripts' options too), and those options that belong to other tools (pytest).
ABOUT_COMMANDS = ("README.md", "serve/README.md")
OTHER_TOOLS = {"--run-slow"}


def _visible_options() -> dict[str, set[str]]:
    """Each command's options as ``--help`` shows them (old spellings left out)."""
    import argparse

    from moderation.cli import build_parser

    [commands] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: {s for a in parser._actions if a.help is not argparse.SUPPRESS for s in a.option_strings}
            for name, parser in commands.choices.items()}


def _code(text: str) -> list[str]:
    """The code in a Markdown text: each line of its code blocks, and each inline span."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    prose = re.sub(r"```[a-z]*\n.*?```", "", text, flags=re.S)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return lines + re.findall(r"`([^`\n]+)`", prose.replace("\n", " "))


def test_documented_commands_and_options_exist() -> None:
    """Every `moderation COMMAND ...` in the documents names a command and options it has (as
    spelt today, not an old spelling), and an option named on its own is some command's."""
    options = _visible_options()
    every = set().union(*options.values())
    for document in DOCUMENTS:
        for code in _code((REPO / document).read_text(encoding="utf-8")):
            for command, rest in re.findall(r"(?:^|[\s/])moderation ([a-z]+)(?=\s|$)(.*)", code):
                assert command in options, f"{document}: `moderation {command}` is no command"
                words = re.split(r"[\s\[\]|]+", rest.split(" #")[0].split("&&")[0])
                for flag in (w.split("=")[0] for w in words if w.startswith("-") and w != "-"):
                    assert flag in options[command], f"{document}: `moderation {command}` has no {flag}"
            if code.startswith("--") and document in ABOUT_COMMANDS:  # an option on its own
                flag = code.split()[0].split("=")[0]
                assert flag in every | OTHER_TOOLS, f"{document}: no command has {flag}"


def _python_api_example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return block


def _run_python_api_example(model: str) -> list[str]:
    import subprocess
    import sys

    code = _python_api_example()
    assert 'moderation.load("default")' in code
    code = code.replace('moderation.load("default")', f"moderation.load({model!r})")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def _check_python_api_output(lines: list[str]) -> None:
    # two texts, then one line per comment of the Disqus seed's threads
    from moderation.parsers import parse_file

    comments = [c for t in parse_file(REPO / "seeds" / "disqus-export.xml") for c in t.comments]
    assert len(lines) == 2 + len(comments)
    for line in lines[:2]:
        decision, rest = line.split(" ", 1)
        assert decision in ("allow", "review", "reject") and 0 <= float(rest.rsplit(" ", 1)[1]) <= 1
    assert [line.split(" ")[0] for line in lines[2:]] == [c.id for c in comments]


def test_the_python_api_example_runs(toy_model: Path) -> None:
    """The README's Python example as written, with the toy model in place of the shipped one
    (the shipped one: the slow test below)."""
    _check_python_api_output(_run_python_api_example(str(toy_model)))


@pytest.mark.slow
def test_the_python_api_example_runs_with_the_shipped_model() -> None:
    lines = _run_python_api_example("default")
    _check_python_api_output(lines)
    assert lines[0].startswith("review ") and lines[1].startswith("allow ")
