"""`moderation score` through the real command line with the toy model: records, spans,
flat comment lists, CSV, policies, summary, bad inputs, the progress bar."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import sys
import threading
from pathlib import Path

import pytest

from moderation.cli import main
from moderation.parsers import expand_paths, parse_file
from tests.scoring.conftest import TRICKY, read_records, score, write_flat
from tests.tiny_model import HOSTILE, INSULTS

FIELDS = ["thread", "kind", "id", "author", "posted_at", "parent_id", "status", "text", "scores",
          "flags", "decision", "spans"]


def assert_spans_are_whole_words(record: dict) -> None:
    text = record["text"]
    for span in record["spans"]:
        assert 0 <= span["start"] < span["end"] <= len(text)
        piece = text[span["start"]:span["end"]]
        assert piece == piece.strip() and piece, (record["id"], span)
        # a highlight never cuts a word
        assert span["start"] == 0 or not (text[span["start"] - 1].isalnum() and piece[0].isalnum())
        assert span["end"] == len(text) or not (text[span["end"]].isalnum() and piece[-1].isalnum())
        assert span["label"] in record["flags"] and 0.5 <= span["score"] <= 1


def test_seed_threads_give_one_record_per_comment_in_input_order(
    toy_model: Path, seeds_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, summary = tmp_path / "scores.jsonl", tmp_path / "summary.json"
    code, _, err = score([str(seeds_dir), "--model", str(toy_model), "-o", str(out),
                          "--summary", str(summary)], capsys)
    assert code == 0, err
    records = read_records(out)
    threads = [t for path in expand_paths([str(seeds_dir)]) for t in parse_file(path)]
    expected = [(t.source, t.article.title if t.article else None, c.id)
                for t in threads for c in t.comments if c.text.strip()]
    assert [(r["thread"]["source"], r["thread"]["title"], r["id"]) for r in records] == expected
    assert len(records) == 41
    for record in records:
        assert list(record) == FIELDS
        assert list(record["scores"]) == ["hostility", "insult", "threat"]
        assert record["decision"] in ("allow", "review") and record["kind"] == "comment"
        assert_spans_are_whole_words(record)
    # the copied page's first comment, with its metadata
    page = next(r for r in records if r["thread"]["source"].endswith("page-copy.txt"))
    assert page["id"] == "c1" and page["author"] == "Pell Ostrander"
    assert page["posted_at"] == "2025-03-04T09:15:00" and page["text"].startswith("Good news")
    totals = json.loads(summary.read_text())["totals"]
    assert totals == {"threads": len(threads), "comments": 41, "skipped": 4,
                      "pingbacks": sum(len(t.pingbacks) for t in threads),
                      "decisions": totals["decisions"], "failed_inputs": 0}
    assert "scored 41 comment(s) in 18 thread(s)" in err and "18 pingback(s) listed, not scored" in err
    assert "4 skipped" in err


def test_onnx_runtime_scores_unless_the_reference_is_asked_for(
    toy_model: Path, toy_thread_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = {}
    for name, extra in (("default", []), ("torch", ["--backend", "torch"])):
        out, summary = tmp_path / f"{name}.jsonl", tmp_path / f"{name}-summary.json"
        code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "-o", str(out),
                              "--summary", str(summary), *extra], capsys)
        assert code == 0, err
        runs[name] = (json.loads(summary.read_text())["model"]["backend"], read_records(out))
    assert runs["default"][0] == "onnx-int8" and runs["torch"][0] == "torch"
    default, reference = runs["default"][1], runs["torch"][1]
    assert [r["id"] for r in default] == [r["id"] for r in reference]
    drift = max(abs(a["scores"][k] - b["scores"][k])
                for a, b in zip(default, reference, strict=True) for k in a["scores"])
    assert 0 < drift <= 0.03  # int8 really ran, within the parity bound


def test_shared_seed_pages(toy_model: Path, shared_dir: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    out, summary = tmp_path / "scores.jsonl", tmp_path / "summary.json"
    code, _, err = score([str(shared_dir / "seeds"), "--model", str(toy_model), "-o", str(out),
                          "--summary", str(summary)], capsys)
    assert code == 0, err
    records = read_records(out)
    assert len(records) == 2
    assert [Path(r["thread"]["source"]).suffix for r in records] == [".txt", ".txt"]
    assert len({r["thread"]["source"] for r in records}) == 2
    for record in records:
        assert record["text"] and record["author"] and record["posted_at"]
        assert_spans_are_whole_words(record)
    data = json.loads(summary.read_text())
    assert data["totals"]["threads"] == 2 and data["totals"]["comments"] == 2
    assert data["totals"]["pingbacks"] == 4
    assert [len(t["pingbacks"]) for t in data["threads"]] == [3, 1]


def test_spans_point_at_the_flagged_words(toy_model: Path, toy_thread_file: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scores.jsonl"
    assert score([str(toy_thread_file), "--model", str(toy_model), "-o", str(out)], capsys)[0] == 0
    records = [r for r in read_records(out) if r["text"] != TRICKY]
    bad_words = set(HOSTILE + INSULTS)
    spans = [(r, s) for r in records for s in r["spans"]]
    assert len(spans) >= 3
    for record, span in spans:
        assert record["text"][span["start"]:span["end"]] in bad_words
        assert span["label"] == "hostility" and "hostility" in record["flags"]
    calm = [r for r in records if not bad_words & set(r["text"].split())]
    assert calm and all(r["decision"] == "allow" and not r["spans"] for r in calm)
    hostile = [r for r in records if bad_words & set(r["text"].split())]
    assert sum(r["decision"] == "review" for r in hostile) >= len(hostile) - 1


def test_flat_comment_lists_jsonl_csv_and_stdin(toy_model: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    jsonl = tmp_path / "comments.jsonl"
    jsonl.write_text('{"id": 7, "author": "ann", "thread": "market", "text": "the vile market"}\n'
                     '\n{"text": "bread and coffee", "thread": "market"}\n'
                     '{"text": "   ", "thread": "bridge", "id": "blank"}\n'
                     '{"text": "people walk", "thread": "bridge", "posted_at": "2025-01-02T03:04:05"}\n',
                     encoding="utf-8")
    csv_file = tmp_path / "comments.csv"
    csv_file.write_text('comment_id,body,author\nx1,"a rotten\n\nclown",bob\nx2,music,\n', encoding="utf-8")
    out = tmp_path / "scores.jsonl"
    code, _, err = score([str(jsonl), str(csv_file), "--model", str(toy_model), "-o", str(out),
                          "--text-field", "body"], capsys)
    # --text-field renames the text column, so the JSONL file (whose field is "text") is not a
    # comment list any more: it is read as a thread export and fails; the CSV is scored
    assert code == 1 and f"{jsonl}:" in err
    assert [r["text"] for r in read_records(out)] == ["a rotten\n\nclown", "music"]
    assert [r["id"] for r in read_records(out)] == ["2", "5"]  # no id column: the line a row starts on

    code, _, err = score([str(jsonl), "--model", str(toy_model), "-o", str(out)], capsys)
    assert code == 0, err
    records = read_records(out)
    assert [(r["thread"]["title"], r["id"], r["author"]) for r in records] == [
        ("market", "7", "ann"), ("market", "3", None), ("bridge", "5", None)]
    assert records[2]["posted_at"] == "2025-01-02T03:04:05"
    assert "1 skipped" in err  # the blank comment

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(jsonl.read_bytes())))
    code, printed, _ = score(["-", "--model", str(toy_model)], capsys)
    assert code == 0
    piped = [json.loads(line) for line in printed.split("\n") if line]
    assert [r["id"] for r in piped] == ["7", "3", "5"]
    assert {r["thread"]["source"] for r in piped} == {"<stdin>"}
    assert [r["scores"] for r in piped] == [r["scores"] for r in records]


def test_csv_output_flattens_scores_into_columns(toy_model: Path, toy_thread_file: Path,
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import csv

    jsonl, table = tmp_path / "scores.jsonl", tmp_path / "scores.csv"
    assert score([str(toy_thread_file), "--model", str(toy_model), "-o", str(jsonl)], capsys)[0] == 0
    assert score([str(toy_thread_file), "--model", str(toy_model), "-o", str(table),
                  "--output-format", "csv"], capsys)[0] == 0
    with open(table, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    records = read_records(jsonl)
    assert list(rows[0]) == ["thread_source", "thread_title", "kind", "id", "author", "posted_at",
                             "parent_id", "status", "text", "decision", "flags", "score_hostility",
                             "score_insult", "score_threat", "spans"]
    assert len(rows) == len(records)
    for row, record in zip(rows, records, strict=True):
        assert row["id"] == record["id"] and row["text"] == record["text"]
        assert float(row["score_hostility"]) == record["scores"]["hostility"]
        assert row["flags"].split(";") == (record["flags"] or [""])
        assert json.loads(row["spans"]) == record["spans"]


def test_article_bodies_only_on_request(toy_model: Path, seeds_dir: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    page = str(seeds_dir / "wordpress-page.html")
    out = tmp_path / "scores.jsonl"
    assert score([page, "--model", str(toy_model), "-o", str(out)], capsys)[0] == 0
    assert {r["kind"] for r in read_records(out)} == {"comment"}
    assert score([page, "--model", str(toy_model), "-o", str(out), "--include-article"], capsys)[0] == 0
    records = read_records(out)
    [thread] = parse_file(page)
    assert records[0]["kind"] == "article" and records[0]["id"] == "article"
    assert thread.article is not None and records[0]["text"] == thread.article.text
    assert [r["id"] for r in records[1:]] == [c.id for c in thread.comments]


def test_a_bad_file_is_reported_and_every_other_file_scored(
    toy_model: Path, seeds_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "a-empty.xml").write_bytes(b"")
    (inputs / "b-broken.jsonl").write_text('{"source": "x", "comments": [{"text": "no id"}]}\n')
    (inputs / "c-rows.jsonl").write_text('{"text": "market opens"}\n{"text": 5}\nnot json\n'
                                         '{"text": "bread"}\n')
    (inputs / "d-notext.csv").write_text("id,comment\n1,hello\n")
    (inputs / "e-page.html").write_bytes((seeds_dir / "wordpress-legacy.html").read_bytes())
    out, summary, report = tmp_path / "scores.jsonl", tmp_path / "summary.json", tmp_path / "r.html"
    code, _, err = score([str(inputs), "--model", str(toy_model), "-o", str(out),
                          "--summary", str(summary), "--report", str(report)], capsys)
    assert code == 1
    page = report.read_text(encoding="utf-8")
    assert page.count('<p class="failure">') == 4 and page.count('<article class="card') == 7
    assert "2 not scored: line 2 (&#39;text&#39; must be a string, got int), line 3 (not valid JSON" in page
    records = read_records(out)
    # the good rows of the partly bad list, then the whole page
    assert [r["text"] for r in records[:2]] == ["market opens", "bread"]
    assert [r["id"] for r in records[2:]] == ["201", "202", "203", "204", "205"]
    failures = {Path(f["path"]).name: f["reason"] for f in json.loads(summary.read_text())["failures"]}
    assert set(failures) == {"a-empty.xml", "b-broken.jsonl", "c-rows.jsonl", "d-notext.csv"}
    assert failures["a-empty.xml"] == "the input is empty"
    assert "comments[0].id: missing" in failures["b-broken.jsonl"]
    assert failures["c-rows.jsonl"].startswith("2 row(s) skipped: line 2: 'text' must be a string")
    assert "line 3: not valid JSON" in failures["c-rows.jsonl"]
    assert "no 'text' column (columns: id, comment); name the text column with --text-field" \
        in failures["d-notext.csv"]
    for name, reason in failures.items():
        assert f"moderation: {inputs / name}: {reason}" in err
    assert "4 input(s) failed" in err
    assert "Traceback" not in err and "market opens" not in err  # no comment text in logs


def test_outputs_inside_a_scored_directory_are_not_read_back(
    toy_model: Path, seeds_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "page.html").write_bytes((seeds_dir / "wordpress-legacy.html").read_bytes())
    outputs = ["-o", str(tmp_path / "scores.jsonl"), "--summary", str(tmp_path / "summary.json"),
               "--report", str(tmp_path / "report.html")]
    assert score([str(tmp_path), "--model", str(toy_model), *outputs], capsys)[0] == 0
    first = (tmp_path / "scores.jsonl").read_bytes()
    # the second run finds the first run's files in the directory: they are its own outputs
    code, _, err = score([str(tmp_path), "--model", str(toy_model), *outputs], capsys)
    assert code == 0, err
    assert (tmp_path / "scores.jsonl").read_bytes() == first and first.count(b"\n") == 5
    code, _, err = score([str(tmp_path / "empty"), "--model", str(toy_model)], capsys)
    assert code == 1 and "cannot open" in err


def test_policy_and_community_decide(toy_model: Path, toy_thread_file: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[labels]\nhostility = { review = 0.5 }\n"
                      "[communities.strict.labels]\nhostility = { review = 0.01, reject = 0.9 }\n")
    out = tmp_path / "scores.jsonl"
    code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "-o", str(out),
                          "--policy", str(policy), "--community", "strict"], capsys)
    assert code == 0, err
    records = read_records(out)
    for record in records:
        p = record["scores"]["hostility"]
        assert ("hostility" in record["flags"]) == (p >= 0.01)
        assert (record["decision"] == "reject") == (p >= 0.9)
    assert {r["decision"] for r in records} >= {"reject", "review"}
    code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "-o", str(out),
                          "--policy", str(policy), "--community", "lenient"], capsys)
    assert code == 2 and "no community 'lenient' (communities: strict)" in err
    code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "--community", "x"], capsys)
    assert code == 2 and "community 'x' needs a policy file that defines it (--policy FILE)" in err


def test_summary_per_thread(toy_model: Path, toy_thread_file: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    out, summary = tmp_path / "scores.jsonl", tmp_path / "summary.json"
    assert score([str(toy_thread_file), "--model", str(toy_model), "-o", str(out),
                  "--summary", str(summary)], capsys)[0] == 0
    data = json.loads(summary.read_text())
    records = read_records(out)
    assert data["model"]["name"] == toy_model.name and data["policy"]["name"] == "model thresholds"
    first = data["threads"][0]
    mine = [r for r in records if r["thread"]["source"] == "toy-0.xml"]
    assert first["source"] == "toy-0.xml" and first["title"] == "River market news 0"
    assert first["comments"] == len(mine) == 7
    assert first["skipped"] == 1 and first["skipped_comments"] == [{"id": "t0-empty", "reason": "empty"}]
    assert first["pingbacks"][0]["title"] == "Linked from blog 0"
    assert first["decisions"]["review"] == sum(r["decision"] == "review" for r in mine)
    assert first["flagged_share"]["hostility"] == round(
        sum("hostility" in r["flags"] for r in mine) / len(mine), 4)
    worst = first["worst"]
    assert 1 <= len(worst) <= 3
    assert [w["score"] for w in worst] == sorted((w["score"] for w in worst), reverse=True)
    assert worst[0]["score"] == max(max(r["scores"][f] for f in r["flags"]) for r in mine if r["flags"])
    assert first["top_techniques"] == []  # the toy model has no propaganda techniques
    assert [t["pingbacks"] != [] for t in data["threads"]] == [True, True, False]


def test_missing_model_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch, seeds_dir: Path) -> None:
    monkeypatch.setenv("MODERATION_MODEL", str(tmp_path / "none"))
    code, _, err = score([str(seeds_dir)], capsys)
    assert code == 2 and "pass --model DIR or set MODERATION_MODEL" in err
    code, _, err = score([str(seeds_dir), "--model", str(tmp_path)], capsys)
    assert code == 2 and "not a model directory" in err


def test_fast_names_a_model_so_model_is_refused_beside_it(tmp_path: Path, seeds_dir: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        score([str(seeds_dir), "--fast", "--model", str(tmp_path)], capsys)
    assert stop.value.code == 2
    assert "argument --model: not allowed with argument --fast" in capsys.readouterr().err


def test_progress_bar_on_a_terminal_only(toy_model: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_flat(tmp_path / "corpus.jsonl", 1500)
    out = tmp_path / "scores.jsonl"
    master, slave = pty.openpty()
    terminal = os.fdopen(slave, "w", encoding="utf-8")
    shown: list[bytes] = []

    def drain() -> None:  # read the terminal while the run writes to it, so it never blocks
        with contextlib.suppress(OSError):
            while block := os.read(master, 65536):
                shown.append(block)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = main(["score", str(corpus), "--model", str(toy_model), "-o", str(out), "--chunk", "32"])
    terminal.flush()
    monkeypatch.undo()
    terminal.close()  # the reader sees the end of the terminal's output
    reader.join(timeout=10)
    os.close(master)
    assert code == 0
    text = b"".join(shown).decode("utf-8", "replace")
    assert "comments" in text and "/s" in text and "\r" in text
    assert "1,500 comments" in text and "ETA" in text  # the total was counted in the background
    assert "scored 1500 comment(s) in 30 thread(s)" in text
    # piped: only the final line, no bar
    code, _, err = score([str(corpus), "--model", str(toy_model), "-o", str(out), "--chunk", "32"], capsys)
    assert code == 0 and "\r" not in err and "ETA" not in err and err.count("\n") == 1
