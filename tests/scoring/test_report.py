"""The HTML report: escaping and highlighting, then the page itself in a real headless Chromium
(cards and spans match the records, filters and sorting work, nothing is fetched)."""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from moderation.modeldir import LabelInfo, ModelInfo
from moderation.policy import model_policy
from moderation.report import HtmlReport, highlight
from tests.conftest import REPO
from tests.scoring.chromium import Chromium, find_chromium
from tests.scoring.conftest import TRICKY, read_records, score

ARTIFACTS = REPO / "test-artifacts"


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.count: Counter[str] = Counter()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)
        self.count[tag] += 1
        self.attributes.update(name for name, _ in attrs)


def test_highlight_escapes_and_splits_overlapping_spans() -> None:
    text = "a <b>bad</b> & worse"
    spans = [{"start": 2, "end": 12, "label": "hostility", "score": 0.9},
             {"start": 5, "end": 20, "label": "insult", "score": 0.7}]
    assert highlight(text, spans) == (
        'a <mark class="span" data-spans="0" data-label="hostility" title="hostility 0.90">'
        "&lt;b&gt;</mark>"
        '<mark class="span" data-spans="0 1" data-label="hostility insult" '
        'title="hostility 0.90, insult 0.70">bad&lt;/b&gt;</mark>'
        '<mark class="span" data-spans="1" data-label="insult" title="insult 0.70"> &amp; worse</mark>')
    assert highlight("<i>", []) == "&lt;i&gt;"


def test_page_is_self_contained_and_escapes_everything() -> None:
    info = ModelInfo(path=Path("m"), name="m", version="1", base_name="b", base_sha256="0",
                     labels=(LabelInfo("hostility", "hostility", threshold=0.5),))
    buffer = io.StringIO()
    from moderation.batch import Item, Scored, ThreadRef, ThreadStart
    from moderation.thread import Comment, Pingback

    ref = ThreadRef("<src>", '<img src=x onerror="alert(1)">', "k", "javascript:alert(1)")
    report = HtmlReport(buffer, ["hostility"], model_policy(info), "model <m>")
    report.add(ThreadStart(ref, (Pingback(title="<script>", site='"site"'),)))
    comment = Comment(id='"><script>', text=TRICKY, author="<b>x</b>")
    record = {"thread": ref.to_dict(), "kind": "comment", "id": comment.id, "author": comment.author,
              "posted_at": None, "parent_id": None, "status": "approved", "text": TRICKY,
              "scores": {"hostility": 0.9}, "flags": ["hostility"], "decision": "review", "spans": []}
    report.add(Scored(Item(ref, comment), record))
    report.close()
    page = buffer.getvalue()
    tags = Tags()
    tags.feed(page)
    # only the page's own elements: the one script is ours, nothing can fetch or run input
    assert tags.names <= {"html", "head", "meta", "title", "style", "body", "div", "h1", "p", "button",
                          "span", "label", "select", "option", "output", "main", "section",
                          "header", "h2", "details", "summary", "ul", "li", "small", "article",
                          "time", "mark", "script", "i"}
    assert tags.count["script"] == 1 and tags.count["i"] == 0
    assert not {a for a in tags.attributes if a in ("src", "href") or a.startswith("on")}
    assert "default-src 'none'" in page
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


def chromium_or_skip() -> str:
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/install-browser installs it")
        pytest.skip("chromium is not installed (apt-get install chromium); the report's browser test needs it")
    return binary


def test_report_in_headless_chromium(toy_model: Path, toy_thread_file: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    binary = chromium_or_skip()
    out, page = tmp_path / "scores.jsonl", tmp_path / "report.html"
    code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "-o", str(out),
                          "--report", str(page)], capsys)
    assert code == 0, err
    records = read_records(out)
    browser = Chromium(binary, tmp_path / "profile")
    try:
        browser.open(page.as_uri())
        assert browser.requested_urls() == [page.as_uri()]  # nothing from the network
        cards = browser.evaluate("""Array.from(document.querySelectorAll("article.card")).map(card => {
            const spans = {}, titles = {};
            for (const mark of card.querySelectorAll("mark.span")) {
              for (const i of mark.dataset.spans.split(" ")) {
                spans[i] = (spans[i] || "") + mark.textContent;
                titles[i] = mark.title;
              }
            }
            return {text: card.querySelector(".text").textContent, spans, titles,
                    bars: Array.from(card.querySelectorAll(".bars .label")).map(e => e.textContent),
                    author: card.querySelector(".author").textContent};
        })""")
        assert len(cards) == len(records)
        assert sum(len(c["spans"]) for c in cards) == sum(len(r["spans"]) for r in records) > 0
        for card, record in zip(cards, records, strict=True):
            assert card["text"] == record["text"] and card["author"] == record["author"]
            assert card["bars"] == record["flags"]  # one coloured bar per flagged label
            for i, span in enumerate(record["spans"]):
                # each highlight covers exactly the span's characters, its label shown on hover
                assert card["spans"][str(i)] == record["text"][span["start"]:span["end"]]
                assert f"{span['label']} {span['score']:.2f}" in card["titles"][str(i)]
        assert browser.evaluate("window.pwned === undefined")  # markup in comments stays text

        def shown() -> tuple[int, int]:  # the count the page states, the cards one can see
            return tuple(browser.evaluate(
                "[Number(document.getElementById('shown').dataset.shown),"
                " Array.from(document.querySelectorAll('article.card')).filter(c => c.offsetParent).length]"))

        assert shown() == (len(records), len(records))
        insulting = sum("insult" in r["flags"] for r in records)
        assert 0 < insulting < len(records)
        browser.click('button.chip[data-filter="label"][data-value="insult"]')
        assert shown() == (insulting, insulting)
        browser.click('button.chip[data-filter="decision"][data-value="allow"]')
        assert shown() == (sum("insult" in r["flags"] and r["decision"] == "allow" for r in records),) * 2
        browser.click('button.chip[data-filter="label"][data-value=""]')
        allowed = sum(r["decision"] == "allow" for r in records)
        assert shown() == (allowed, allowed)
        browser.click('button.chip[data-filter="decision"][data-value=""]')
        assert shown() == (len(records), len(records))

        order = browser.evaluate("""(() => {
            const sort = document.getElementById("sort");
            sort.value = "hostility";
            sort.dispatchEvent(new Event("change"));
            return Array.from(document.querySelectorAll("section.thread")[0].querySelectorAll("article.card"))
              .map(c => JSON.parse(c.dataset.scores).hostility);
        })()""")
        first = [r["scores"]["hostility"] for r in records if r["thread"]["source"] == "toy-0.xml"]
        assert order == sorted(first, reverse=True) and order != first
        browser.evaluate("(() => { const s = document.getElementById('sort'); s.value = '';"
                         " s.dispatchEvent(new Event('change')); })()")
        browser.screenshot(ARTIFACTS / "report.png")
    finally:
        browser.close()
    assert (ARTIFACTS / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(out.read_text().split("\n")[0])["id"] == records[0]["id"]
