"""The HTML report: escaping, highlighting, ordering and streaming, then the page itself in a
real headless Chromium (cards and spans match the records, the review queue comes first and
most severe first, filters and sorting work, nothing is fetched, hostile input stays text)."""

from __future__ import annotations

import io
import json
import os
import re
import tomllib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from moderation.batch import Failure, Item, Scored, Skipped, ThreadRef, ThreadStart
from moderation.modeldir import LabelInfo, ModelInfo, read_model_info
from moderation.policy import Policy, Rule, model_policy
from moderation.record import as_record
from moderation.report import HtmlReport, highlight, severity
from moderation.thread import Comment, Pingback
from tests.conftest import REPO
from tests.scoring.chromium import Chromium, find_chromium
from tests.scoring.conftest import read_records, score

ARTIFACTS = REPO / "test-artifacts"
TEMPLATES = REPO / "moderation" / "templates"

# Hostile strings for every field a page shows: markup that would run script if it reached
# the page as HTML, a breakout of the page's own script element and attributes, and template
# syntax that would evaluate if input were ever rendered as a template.
HOSTILE = (
    '</script><script>window.pwned = "script"</script>',
    '"><img src=x onerror="window.pwned = \'img\'">',
    "'><svg onload=window.pwned='svg'>",
    "{{ 7*7 }} {% if 1 %}jinja{% endif %} ${7*7}",
    "</textarea><style>body{display:none}</style>",
)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.count: Counter[str] = Counter()
        self.attributes: set[str] = set()
        self.script_types: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)
        self.count[tag] += 1
        self.attributes.update(name for name, _ in attrs)
        if tag == "script":
            self.script_types.append(dict(attrs).get("type"))


def _info(*names: str) -> ModelInfo:
    return ModelInfo(path=Path("m"), name="m", version="1", base_name="b", base_sha256="0",
                     labels=tuple(LabelInfo(n, "hostility", threshold=0.5) for n in names))


def _record(ref: ThreadRef, cid: str, text: str, author: str | None, scores: dict[str, float],
            policy: Policy, spans: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    flags, decision = policy.decide(scores)
    return {"thread": {"source": ref.source, "title": ref.title}, "kind": "comment", "id": cid,
            "author": author, "posted_at": None, "parent_id": None, "status": "approved",
            "text": text, "scores": scores, "flags": flags, "decision": decision,
            "spans": spans or []}


def hostile_page() -> tuple[str, list[dict[str, Any]], list[ThreadRef]]:
    """A report whose every input field is one of the hostile strings."""
    labels = ["hostility", "insult"]
    policy = model_policy(_info(*labels))
    buffer = io.StringIO()
    report = HtmlReport(buffer, labels, policy, f"model {HOSTILE[0]}")
    records, refs = [], []
    for t, title in enumerate(HOSTILE):
        ref = ThreadRef(f"{HOSTILE[-1 - t]}.xml", title, f"k{t}", HOSTILE[t - 1])
        refs.append(ref)
        report.add(ThreadStart(ref, (Pingback(title=HOSTILE[t - 2], site=HOSTILE[t - 3]),)))
        for c, text in enumerate(HOSTILE):
            flagged = (t + c) % 2 == 0
            scores = {"hostility": 0.9 if flagged else 0.1, "insult": 0.2}
            spans = [{"start": 0, "end": 9, "label": "hostility", "score": 0.9}] if flagged else []
            record = _record(ref, f"{HOSTILE[(c + 1) % len(HOSTILE)]}#{t}{c}", text,
                             HOSTILE[(c + 2) % len(HOSTILE)], scores, policy, spans)
            records.append(record)
            report.add(Scored(Item(ref, Comment(id=record["id"], text=text)), as_record(record)))
        report.add(Skipped(ref, HOSTILE[t], HOSTILE[t - 1]))
    report.add(Failure(HOSTILE[1], HOSTILE[2]))
    report.close()
    return buffer.getvalue(), records, refs


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
    # the DOM must hold the text at the same offsets: a carriage return the HTML parser would
    # fold into a line feed is written as a reference, a NUL as the U+FFFD it becomes anyway
    assert highlight("a\r\nb\0", []) == "a&#13;\nb&#xFFFD;"


def test_page_is_self_contained_and_escapes_everything() -> None:
    page, records, _ = hostile_page()
    tags = Tags()
    tags.feed(page)
    # only the page's own elements: the scripts are ours, nothing can fetch or run input
    assert tags.names <= {"html", "head", "meta", "title", "style", "body", "div", "h1", "h2", "h3",
                          "p", "button", "span", "label", "select", "option", "output", "main",
                          "section", "header", "details", "summary", "ul", "li", "small", "article",
                          "time", "mark", "script", "i", "nav", "kbd", "table", "thead", "tbody",
                          "tr", "th", "td", "b", "code"}
    assert tags.script_types == ["application/json", None]  # the data, then the code
    assert tags.count["img"] == tags.count["svg"] == tags.count["textarea"] == 0
    assert tags.count["style"] == 1
    assert not {a for a in tags.attributes if a in ("src", "href") or a.startswith("on")}
    assert "default-src 'none'" in page
    assert "&lt;/script&gt;&lt;script&gt;window.pwned" in page
    assert "&lt;img src=x onerror=&#34;window.pwned = &#39;img&#39;&#34;&gt;" in page
    assert "{{ 7*7 }}" in page and "49" not in page  # input is never a template
    # data for the script is JSON that cannot close its element or attribute
    data = re.search(r'<script id="report-data" type="application/json">(.*?)</script>', page, re.S)
    assert data is not None and json.loads(data.group(1))["labels"] == ["hostility", "insult"]
    payloads = [json.loads(p) for p in re.findall(r"data-card='([^']*)'", page)]
    assert [p["id"] for p in payloads] == [r["id"] for r in records]
    assert payloads[0]["thread"] == HOSTILE[0] and payloads[0]["flags"] == ["hostility"]


def test_every_template_file_ships_as_package_data() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["moderation"]
    shipped = {p for pattern in patterns for p in (REPO / "moderation").glob(pattern)}
    assert set(TEMPLATES.iterdir()) <= shipped
    assert {"report.html.j2", "report_parts.html.j2", "report.css", "report.js"} <= {
        p.name for p in shipped}
    assert any(re.match(r"jinja2\b", d, re.I) for d in pyproject["project"]["dependencies"])
    assert any(line.lower().startswith("jinja2==")
               for line in (REPO / "constraints.txt").read_text().splitlines())


def test_page_is_written_as_events_arrive() -> None:
    policy = model_policy(_info("hostility"))
    buffer = io.StringIO()
    report = HtmlReport(buffer, ["hostility"], policy, "model m")
    assert buffer.getvalue().startswith("<!doctype html>") and "</html>" not in buffer.getvalue()
    ref = ThreadRef("a.xml", "A thread", "k")
    report.add(ThreadStart(ref))
    record = _record(ref, "c1", "the first comment", "ann", {"hostility": 0.7}, policy)
    report.add(Scored(Item(ref, Comment(id="c1", text=record["text"])), as_record(record)))
    written = buffer.getvalue()
    assert "the first comment" in written and "</html>" not in written  # out before the end
    report.close()
    assert buffer.getvalue().startswith(written) and buffer.getvalue().endswith("</html>\n")


def test_severity_puts_rejects_first_then_the_clearest_flags() -> None:
    policy = Policy("p", {"hostility": Rule(0.5, 0.9), "insult": Rule(0.2)})

    def of(scores: dict[str, float]) -> float:
        flags, decision = policy.decide(scores)
        return severity(decision, scores, flags, policy)

    rejected = of({"hostility": 0.91, "insult": 0.0})
    # 0.6 of the way from insult's threshold to 1 beats hostility's 0.4, though its score is lower
    insult = of({"hostility": 0.1, "insult": 0.68})
    hostile = of({"hostility": 0.7, "insult": 0.0})
    allowed = of({"hostility": 0.45, "insult": 0.1})
    assert rejected > insult > hostile > allowed
    assert 2 <= rejected < 3 and 1 <= hostile < 2 and allowed == 0


def chromium_or_skip() -> str:
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/install-browser installs it")
        pytest.skip("chromium is not installed (apt-get install chromium); the report's browser test needs it")
    return binary


def test_hostile_input_stays_text_in_headless_chromium(tmp_path: Path) -> None:
    binary = chromium_or_skip()
    page_html, records, refs = hostile_page()
    page = tmp_path / "report.html"
    page.write_text(page_html, encoding="utf-8")
    browser = Chromium(binary, tmp_path / "profile")
    try:
        browser.open(page.as_uri())
        assert browser.requested_urls() == [page.as_uri()]  # the img never loaded
        # our script ran (it counted the queue), and none from the input did
        assert browser.evaluate("document.querySelector('#tab-queue .n').textContent") == (
            f"({sum(r['decision'] != 'allow' for r in records)})")
        assert browser.evaluate("window.pwned === undefined")
        assert browser.evaluate("document.querySelectorAll('script').length") == 2
        assert browser.evaluate("document.querySelectorAll('img, svg, textarea').length") == 0
        browser.press("3")  # the threads view, in input order
        shown = browser.evaluate("""Array.from(document.querySelectorAll("article.card")).map(card => ({
            text: card.querySelector(".text").textContent,
            author: card.querySelector(".author").textContent,
            id: card.querySelector(".cid").textContent}))""")
        assert shown == [{"text": r["text"], "author": r["author"], "id": f"#{r['id']}"} for r in records]
        titles = browser.evaluate("Array.from(document.querySelectorAll('section.thread h2'))"
                                  ".map(h => h.textContent)")
        assert titles == [ref.title for ref in refs]
        sources = browser.evaluate("Array.from(document.querySelectorAll('section.thread .src'))"
                                   ".map(p => p.textContent)")
        assert sources == [f"{ref.source} · {ref.url} · {len(HOSTILE)} comments" for ref in refs]
        assert browser.evaluate("document.querySelector('.top .about').textContent") == f"model {HOSTILE[0]}"
        assert browser.evaluate("getComputedStyle(document.body).display") == "block"
        assert "{{ 7*7 }}" in browser.evaluate("document.body.textContent")
        # what the export would write carries the text exactly
        browser.press("j")
        browser.press("c")
        lines = browser.evaluate("window.moderationReport.exportLines()")
        row = json.loads(lines[0])
        first = next(r for r in records if r["decision"] != "allow")
        assert (row["text"], row["id"], row["hostility"]) == (first["text"], first["id"], 1)
        assert browser.evaluate("window.pwned === undefined")
    finally:
        browser.close()


def test_report_in_headless_chromium(toy_model: Path, toy_thread_file: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    binary = chromium_or_skip()
    out, page = tmp_path / "scores.jsonl", tmp_path / "report.html"
    code, _, err = score([str(toy_thread_file), "--model", str(toy_model), "-o", str(out),
                          "--report", str(page)], capsys)
    assert code == 0, err
    records = read_records(out)
    policy = model_policy(read_model_info(toy_model))
    browser = Chromium(binary, tmp_path / "profile")
    try:
        browser.open(page.as_uri())
        assert browser.requested_urls() == [page.as_uri()]  # nothing from the network

        def visible_cards() -> list[dict[str, Any]]:
            return browser.evaluate("""Array.from(document.querySelectorAll("article.card"))
              .filter(card => card.offsetParent).map(card => {
                const spans = {}, titles = {};
                for (const mark of card.querySelectorAll("mark.span")) {
                  for (const i of mark.dataset.spans.split(" ")) {
                    spans[i] = (spans[i] || "") + mark.textContent;
                    titles[i] = mark.title;
                  }
                }
                return {text: card.querySelector(".text").textContent, spans, titles,
                        id: card.querySelector(".cid").textContent.slice(1),
                        bars: Array.from(card.querySelectorAll(".bars .label")).map(e => e.textContent),
                        verdicts: Array.from(card.querySelectorAll("button.v.confirm"))
                          .map(e => e.parentElement.dataset.label),
                        author: card.querySelector(".author").textContent};
            })""")

        # the page opens on the review queue: flagged comments only, most severe first
        assert browser.evaluate("document.querySelector('[role=tab][aria-selected=true]').id") == "tab-queue"
        flagged = [r for r in records if r["decision"] != "allow"]
        assert 0 < len(flagged) < len(records)
        by_severity = sorted(flagged, key=lambda r: -severity(r["decision"], r["scores"], r["flags"], policy))
        queue = visible_cards()
        assert [c["id"] for c in queue] == [r["id"] for r in by_severity]
        assert all(c["bars"] == c["verdicts"] != [] for c in queue)  # a decision per flagged label

        browser.click("#tab-allowed")
        assert [c["id"] for c in visible_cards()] == [r["id"] for r in records if r["decision"] == "allow"]
        assert all(c["bars"] == [] for c in visible_cards())  # no chips for labels not flagged

        browser.click("#tab-threads")
        cards = visible_cards()
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
        browser.click("#tab-queue")  # the filter holds across views
        assert shown() == (insulting, insulting)
        browser.click("#tab-threads")
        # only labels that flagged something get a filter chip
        never = [label for label in policy.rules if not any(label in r["flags"] for r in records)]
        for label in never:
            assert browser.evaluate(f"document.querySelector('button.chip[data-value=\"{label}\"]').hidden")
        browser.click('button.chip[data-filter="label"][data-value=""]')
        assert shown() == (len(records), len(records))

        order = browser.evaluate("""(() => {
            const sort = document.getElementById("sort");
            sort.value = "hostility";
            sort.dispatchEvent(new Event("change"));
            return Array.from(document.querySelectorAll("section.thread")[0].querySelectorAll("article.card"))
              .map(c => JSON.parse(c.dataset.card).scores.hostility);
        })()""")
        # the page carries scores to 4 decimals
        first = [round(r["scores"]["hostility"], 4) for r in records if r["thread"]["source"] == "toy-0.xml"]
        assert order == sorted(first, reverse=True) and order != first
        browser.evaluate("(() => { const s = document.getElementById('sort'); s.value = '';"
                         " s.dispatchEvent(new Event('change')); })()")

        browser.click("#tab-summary")
        summary = browser.evaluate("""Object.fromEntries(Array.from(
            document.querySelectorAll("#view-summary table.totals tr")).map(
            row => [row.querySelector("th").textContent, row.querySelector("td").textContent]))""")
        assert summary["comments scored"] == str(len(records))
        assert summary["review"] == str(sum(r["decision"] == "review" for r in records))
        assert summary["insult"] == str(insulting)
        browser.click("#tab-queue")
        browser.screenshot(ARTIFACTS / "report.png")
    finally:
        browser.close()
    assert (ARTIFACTS / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(out.read_text().split("\n")[0])["id"] == records[0]["id"]
