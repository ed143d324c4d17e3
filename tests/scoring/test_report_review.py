"""Reviewing in the report, end to end: a written thread scored by the toy model, decisions
made in headless Chromium with keys and clicks, kept across a reload, exported through the
page's download, then read by ``moderation evaluate`` and ``moderation train``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from moderation.cli import main
from moderation.labelled import Example, infer_labels
from moderation.modeldir import read_model_info
from moderation.thread import Comment, Thread
from tests.scoring.chromium import Chromium
from tests.scoring.conftest import read_records, score, write_threads
from tests.scoring.test_report import ARTIFACTS, chromium_or_skip

# Comments in the toy model's vocabulary. Two carry what a person would mark as evidence: one
# after a character outside the Basic Multilingual Plane (two UTF-16 units in the browser, one
# character in Python), one after a Windows line break (which an HTML parser would fold).
EMOJI = "\U0001f642 our town has a clown near the bridge"
CRLF = "people walk along the river\r\nthe moron runs past our market"
COMMENTS = [
    ("c1", "the market stalls open near the bridge and the bread is vile"),
    ("c2", "people walk along the river every morning"),
    ("c3", "every morning an idiot walks past our small town"),
    ("c4", EMOJI),
    ("c5", "coffee and music at the market while bread and fruit open"),
    ("c6", "rotten fruit at the market stalls near the river"),
    ("c7", CRLF),
    ("c8", "small town people walk the bridge with coffee"),
    ("c9", "the awful music runs every morning near our town"),
]


def card_of(cid: str) -> str:
    """The card of a written comment: cards are numbered in input order from 1."""
    return f"#card-{[c for c, _ in COMMENTS].index(cid) + 1}"


def _wait_for_download(directory: Path, timeout: float = 20.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in directory.iterdir() if p.suffix == ".jsonl"]
        if done:
            return done[0]
        time.sleep(0.1)
    raise TimeoutError(f"no download in {directory}: {list(directory.iterdir())}")


def test_review_decisions_persist_export_and_train(toy_model: Path, tiny_base: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    binary = chromium_or_skip()
    thread = Thread(source="written.xml", format="wxr",
                    comments=tuple(Comment(id=cid, text=text, author=f"reader {cid}") for cid, text in COMMENTS))
    threads = write_threads(tmp_path / "thread.jsonl", [thread])
    out, page = tmp_path / "scores.jsonl", tmp_path / "report.html"
    code, _, err = score([str(threads), "--model", str(toy_model), "-o", str(out), "--report", str(page)], capsys)
    assert code == 0, err
    records = {r["id"]: r for r in read_records(out)}
    assert [records[cid]["text"] for cid, _ in COMMENTS] == [text for _, text in COMMENTS]
    labels = list(read_model_info(toy_model).label_names)
    browser = Chromium(binary, tmp_path / "profile")
    downloads = tmp_path / "downloads"
    try:
        browser.open(page.as_uri())
        browser.downloads_to(downloads)
        current = lambda: browser.evaluate(  # noqa: E731
            "(document.querySelector('article.card.current .cid') || {textContent: ''}).textContent.slice(1)")
        queue = browser.evaluate("Array.from(document.querySelectorAll('#view-queue article.card'))"
                                 ".map(c => c.querySelector('.cid').textContent.slice(1))")
        assert set(queue) == {cid for cid, r in records.items() if r["flags"]}
        targets = [cid for cid in queue if cid not in ("c4", "c7")]
        assert len(targets) >= 3, f"the toy model flagged too few of the written comments: {queue}"
        expected: dict[str, dict[str, Any]] = {}

        def go_to(cid: str) -> None:  # j (and k) through the view until the comment is current
            for _ in range(len(records) + 1):
                if current() == cid:
                    return
                browser.press("j")
            raise AssertionError(f"j never reached {cid}")

        # confirm every flag with c, overturn every flag with x (k goes back, j forward again)
        go_to(targets[0])
        browser.press("c")
        expected[targets[0]] = {label: 1 for label in records[targets[0]]["flags"]}
        go_to(targets[1])
        browser.press("k")
        assert current() == queue[queue.index(targets[1]) - 1]
        browser.press("j")
        browser.press("x")
        expected[targets[1]] = {label: 0 for label in records[targets[1]]["flags"]}
        # one label at a time with the mouse: confirm, and a second click takes it back
        third = records[targets[2]]
        confirm = f'{card_of(targets[2])} .verdict[data-label="{third["flags"][0]}"] button.v.confirm'
        overturn = confirm.replace("v.confirm", "v.overturn")
        browser.click(overturn)
        browser.click(confirm)
        assert browser.evaluate(f"document.querySelector('{confirm}').getAttribute('aria-pressed')") == "true"
        browser.click(confirm)
        assert browser.evaluate(f"document.querySelector('{confirm}').getAttribute('aria-pressed')") == "false"
        browser.click(overturn)
        expected[targets[2]] = {third["flags"][0]: 0}

        # a label the model missed, on an allowed comment: tab 2, then a, then a click
        browser.press("2")
        allowed = browser.evaluate("Array.from(document.querySelectorAll('#view-allowed article.card'))"
                                   ".map(c => c.querySelector('.cid').textContent.slice(1))")
        missed = next(cid for cid in allowed if cid not in ("c4", "c7"))
        go_to(missed)
        browser.press("a")
        assert not browser.evaluate("document.getElementById('picker').hidden")
        browser.click('#picker button[data-label="threat"]')
        expected[missed] = {"threat": 1}

        # evidence: double-click a word to select it, e, then the label (a click, or its number)
        browser.press("3")
        spans: dict[str, list[dict[str, Any]]] = {}
        for cid, word, label in (("c4", "clown", "insult"), ("c7", "moron", "hostility")):
            card = card_of(cid)
            browser.double_click_text(f"{card} .text", word)
            assert browser.evaluate("window.getSelection().toString().trim()") == word
            browser.press("e")
            choices = browser.evaluate("Array.from(document.querySelectorAll('#picker button'))"
                                       ".map(b => b.dataset.label)")
            if cid == "c4":
                browser.click(f'#picker button[data-label="{label}"]')
            else:
                browser.press(str(choices.index(label) + 1))
            text = records[cid]["text"]
            start = text.index(word)  # characters, as Python (and the labelled loader) count them
            spans[cid] = [{"start": start, "end": start + len(word), "label": label}]
            expected[cid] = {**expected.get(cid, {}), label: 1}
            chip = browser.evaluate(f"document.querySelector('{card} .evidence li').textContent")
            assert chip.startswith(f"“{word}” {label}")

        # help: ? opens it, Escape closes it; it lists the shortcuts
        browser.press("?")
        assert browser.evaluate("!document.getElementById('help').hidden")
        help_text = browser.evaluate("document.getElementById('help').textContent")
        assert all(word in help_text for word in ("next / previous", "confirm", "overturn", "evidence", "export"))
        browser.press("Escape")
        assert browser.evaluate("document.getElementById('help').hidden")

        before = browser.evaluate("window.moderationReport.exportLines()")
        browser.reload()  # decisions survive a reload
        assert browser.evaluate("window.moderationReport.exportLines()") == before
        assert browser.evaluate("document.querySelector('#export .n').textContent") == str(len(expected))
        pressed = browser.evaluate(f"document.querySelector('{overturn}').getAttribute('aria-pressed')")
        assert pressed == "true"
        assert browser.evaluate("document.querySelectorAll('.evidence li').length") == 2
        browser.press("1")
        highlighted = browser.evaluate("""Array.from(CSS.highlights.get("evidence")).map(r => {
            const range = document.createRange();
            range.setStart(r.startContainer, r.startOffset);
            range.setEnd(r.endContainer, r.endOffset);
            return range.toString(); })""")
        assert sorted(highlighted) == ["clown", "moron"]  # marked in the text, after moving views
        browser.screenshot(ARTIFACTS / "report-review.png")

        browser.press("d")  # the export: a download made by the page itself
        exported = _wait_for_download(downloads)
    finally:
        browser.close()

    rows = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    order = [cid for cid, _ in COMMENTS if cid in expected]
    want = []
    for cid in order:
        row: dict[str, Any] = {"text": records[cid]["text"]}
        row.update({label: expected[cid][label] for label in labels if label in expected[cid]})
        if cid in spans:
            row.update(spans=spans[cid], span_labels=[spans[cid][0]["label"]])
        want.append({**row, "id": cid, "thread": "written.xml"})
    assert rows == want
    assert exported.name.startswith("decisions-") and exported.read_text(encoding="utf-8").endswith("\n")
    assert rows[order.index("c7")]["text"] == CRLF  # exact, carriage return and all

    # moderation evaluate reads the file as it is: the labels decided, the spans marked
    report = tmp_path / "evaluation.json"
    capsys.readouterr()
    assert main(["evaluate", "--model", str(toy_model), "--data", str(exported), "-o", str(report)]) == 0
    err = capsys.readouterr().err
    assert f"{len(rows)} row(s) read" in err and "ignored" not in err
    measured = json.loads(report.read_text())["a"]["labels"]
    groups = read_model_info(toy_model).groups
    known = [infer_labels(Example(r["text"], {k: float(r[k]) for k in labels if k in r}), groups).labels
             for r in rows]
    for label in labels:
        assert measured[label]["known"] == sum(label in k for k in known), label
    # the toy model's span head is trained for hostility: the one row marking hostility evidence
    assert measured["hostility"]["span_examples"] == 1

    # moderation train reads it too (a few steps of the tiny model)
    model = tmp_path / "retrained"
    assert main(["train", "--data", str(exported), "--validation", str(exported), "-o", str(model),
                 "--base", str(tiny_base), "--max-steps", "2", "--batch-size", "4", "--max-length", "32",
                 "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert f"training data: {len(rows)} row(s) read" in err
    info = read_model_info(model)
    assert set(info.label_names) == {label for r in rows for label in labels if label in r}
    assert {label.name for label in info.labels if label.spans} == {"hostility", "insult"}
