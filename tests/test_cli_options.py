"""One vocabulary on the command line: every option has help, the commands are listed in the
order a user meets them, an unknown option gets the command's usage and the closest option,
old spellings still work with a note, and ``--help`` loads neither torch nor numpy."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from moderation import cli
from moderation.cli import COMMAND_ORDER, build_parser, main, parse_args
from moderation.options import DeprecatedAlias
from tests.conftest import REPO


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def listed_commands(parser: argparse.ArgumentParser) -> list[str]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return [choice.dest for choice in action._choices_actions]


def test_every_option_of_every_command_has_help() -> None:
    commands = subparsers(build_parser())
    assert set(COMMAND_ORDER) <= set(commands)
    for name, parser in commands.items():
        for action in parser._actions:
            if action.help is argparse.SUPPRESS:
                # the only hidden options are old spellings kept working
                assert isinstance(action, DeprecatedAlias), (name, action.option_strings)
                continue
            assert isinstance(action.help, str) and action.help.strip(), (name, action.option_strings or action.dest)
        parser.format_help()  # help strings format (a stray % would raise here)


def test_help_lists_the_commands_in_the_order_a_user_meets_them() -> None:
    parser = build_parser()
    assert listed_commands(parser)[:len(COMMAND_ORDER)] == list(COMMAND_ORDER)
    met = ("parse", "score", "serve", "train", "evaluate", "export")
    assert [name for name in COMMAND_ORDER if name in met] == list(met)
    text = parser.format_help()
    positions = [text.index(f"\n    {name}") for name in COMMAND_ORDER]
    assert positions == sorted(positions)


def test_a_new_command_is_listed_after_the_known_ones_or_where_the_order_puts_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def audit(sub: object) -> None:
        sub.add_parser("audit", help="a command not in the order yet")  # type: ignore[attr-defined]

    # registered first, listed last: the order tuple decides, not the registration
    monkeypatch.setattr(cli, "_BUILDERS", {"audit": audit, **cli._BUILDERS})
    assert listed_commands(build_parser()) == [*COMMAND_ORDER, "audit"]
    order = (*COMMAND_ORDER[:2], "audit", *COMMAND_ORDER[2:])
    monkeypatch.setattr(cli, "COMMAND_ORDER", order)
    assert listed_commands(build_parser()) == list(order)


@pytest.mark.parametrize(("argv", "usage", "message"), [
    (["score", "--batchsize", "8", "x.jsonl"], "usage: moderation score",
     "moderation score: error: unrecognized arguments: --batchsize (did you mean --batch-size?)"),
    (["train", "--lerning-rate", "1e-4"], "usage: moderation train",
     "moderation train: error: unrecognized arguments: --lerning-rate (did you mean --learning-rate?)"),
    (["export", "--precison=fp32"], "usage: moderation export",
     "moderation export: error: unrecognized arguments: --precison (did you mean --precision?)"),
    (["parse", "--zzzz", "x"], "usage: moderation parse",
     "moderation parse: error: unrecognized arguments: --zzzz\n"),
])
def test_an_unknown_option_gets_the_commands_usage_and_the_closest_option(
        argv: list[str], usage: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage) and message in err
    assert "usage: moderation [-h]" not in err


def test_old_spellings_still_work_with_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    cases = [
        (["train", "--out", "m"], "out", "m", "moderation train: --out is deprecated; use -o/--output"),
        (["export", "--out", "g.onnx"], "output", "g.onnx",
         "moderation export: --out is deprecated; use -o/--output"),
        (["score", "--format", "csv", "x"], "output_format", "csv",
         "moderation score: --format is deprecated; use --output-format"),
        (["parse", "--format", "html", "x"], "input_format", "html",
         "moderation parse: --format is deprecated; use --input-format"),
    ]
    for argv, dest, value, note in cases:
        args = parse_args(parser, argv)
        assert getattr(args, dest) == value
        assert capsys.readouterr().err == note + "\n"
    for argv, dest, value in ((["train", "-o", "m"], "out", "m"), (["train", "--output", "m"], "out", "m"),
                              (["score", "--output-format", "csv", "x"], "output_format", "csv")):
        assert getattr(parse_args(parser, argv), dest) == value
        assert capsys.readouterr().err == ""
    # the old spellings stay out of the help
    commands = subparsers(parser)
    assert "--out " not in commands["train"].format_help()
    assert "--format" not in commands["score"].format_help().replace("-format", "")


def test_output_is_o_everywhere_and_input_and_output_formats_differ() -> None:
    commands = subparsers(build_parser())
    for name in ("parse", "score", "train", "evaluate", "export"):
        strings = {s for a in commands[name]._actions for s in a.option_strings}
        assert {"-o", "--output"} <= strings, name
    options = {name: {s for a in p._actions if a.help is not argparse.SUPPRESS for s in a.option_strings}
               for name, p in commands.items()}
    assert "--input-format" in options["parse"] and "--input-format" in options["score"]
    assert "--output-format" in options["score"]
    assert not any("--format" in strings for strings in options.values())


def test_evaluate_uses_the_default_model_like_score(
        toy_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "held-out.jsonl"
    data.write_text("".join(json.dumps({"text": text, "hostility": label}) + "\n" for text, label in
                            [("the river runs past our town", 0), ("you vile idiot", 1),
                             ("people walk along it every morning", 0), ("rotten awful clown", 1)]),
                    encoding="utf-8")
    monkeypatch.setenv("MODERATION_MODEL", str(toy_model))  # what models/default stands for
    out = tmp_path / "evaluation.json"
    assert main(["evaluate", "--data", str(data), "--backend", "torch", "-o", str(out)]) == 0, \
        capsys.readouterr().err
    saved = json.loads(out.read_text())
    assert saved["config"]["model"] == str(toy_model.resolve())
    hostility = saved["a"]["labels"]["hostility"]
    assert saved["config"]["backend"] == "torch" and (hostility["known"], hostility["support"]) == (4, 2)
    monkeypatch.setenv("MODERATION_MODEL", str(tmp_path / "nowhere"))
    assert main(["evaluate", "--data", str(data)]) == 2
    assert "no model at" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["train"], ["score"], ["serve"]])
def test_help_loads_neither_torch_nor_numpy(command: list[str]) -> None:
    code = ("import sys, contextlib, io\n"
            "from moderation.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()) as out:\n"
            f"    main({[*command, '--help']!r})\n"
            "assert 'usage: moderation' in out.getvalue()\n"
            "heavy = sorted({'torch', 'numpy', 'transformers', 'pydantic'} & set(sys.modules))\n"
            "assert not heavy, heavy\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ})
    assert done.returncode == 0, done.stderr


def test_evaluate_judges_a_text_using_no_technique_a_negative_of_every_technique(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from moderation.modeldir import default_model_dir

    data = tmp_path / "calm.jsonl"
    rows = [("The bus was late again but the driver was kind.", 0), ("Lovely photos of the bridge.", 0),
            ("What about the other party's lies? Nobody mentions those.", 1)]
    data.write_text("".join(json.dumps({"text": text, "propaganda": label, "whataboutism": label}
                                       if label else {"text": text, "propaganda": label}) + "\n"
                            for text, label in rows), encoding="utf-8")
    out = tmp_path / "evaluation.json"
    assert main(["evaluate", "--model", str(default_model_dir()), "--data", str(data),
                 "--backend", "torch", "-o", str(out)]) == 0, capsys.readouterr().err
    labels = json.loads(out.read_text())["a"]["labels"]
    # the calm texts annotate only the headline: every technique is judged on them too
    assert (labels["whataboutism"]["known"], labels["whataboutism"]["support"]) == (3, 1)
    assert labels["straw_man"]["known"] == 2 and labels["loaded_language"]["known"] == 2
