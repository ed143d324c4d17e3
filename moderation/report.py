"""The HTML report a moderator opens in a browser (``moderation score --report FILE.html``).

One self-contained page: styles and script inline, no network access (a Content-Security-Policy
forbids it). Per thread the article title and pingbacks, then each comment as a card with its
author and time, a coloured score bar for every flagged label (amber: review, red: reject; the
tick marks the review threshold), and the evidence spans highlighted in the text with their label
and score on hover. Filters (label, decision) and sorting (by any label's score) run in the page.

The page is written as records stream in, so it never holds the run in memory. Every piece of
input text is HTML-escaped; the data the script needs lives in ``data-`` attributes, never in
inline script.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from html import escape
from typing import Any, TextIO

from moderation.batch import Failure, Scored, ScoredEvent, Skipped, ThreadRef, ThreadStart
from moderation.policy import DECISIONS, Policy

SKIPPED_SHOWN = 20

_CSS = """
:root{--review:#c27803;--reject:#c81e1e;--allow:#3f7d3a;--ink:#1f2328;--muted:#656d76;
--line:#d8dee4;--bg:#f6f8fa;--mark:#fff0b3}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
[hidden]{display:none!important}
.top{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:.6rem 1.2rem}
.top h1{font-size:1.15rem;margin:0 0 .2rem}
.top .about{color:var(--muted);font-size:.85rem;margin:0 0 .4rem}
.controls{display:flex;flex-wrap:wrap;gap:.35rem 1rem;align-items:center;font-size:.85rem}
.group{display:flex;flex-wrap:wrap;gap:.25rem;align-items:center}
.group>span{color:var(--muted);margin-right:.2rem}
button.chip{font:inherit;border:1px solid var(--line);background:#fff;border-radius:999px;padding:.1rem .6rem;cursor:pointer}
button.chip[aria-pressed=true]{background:var(--ink);color:#fff;border-color:var(--ink)}
button.chip .n{opacity:.7;margin-left:.25rem}
#shown{font-weight:600}
main{max-width:60rem;margin:0 auto;padding:1rem}
section.thread{margin:0 0 2rem}
section.thread>header h2{font-size:1.2rem;margin:.2rem 0}
.src{color:var(--muted);font-size:.8rem;margin:0;word-break:break-all}
details.pingbacks,p.skipped,.failure{font-size:.85rem;color:var(--muted);margin:.3rem 0}
.failure{color:var(--reject);background:#fff;border:1px solid var(--reject);border-radius:6px;padding:.5rem .8rem}
article.card{background:#fff;border:1px solid var(--line);border-left:5px solid var(--allow);border-radius:6px;padding:.6rem .9rem;margin:.6rem 0}
article.card.review{border-left-color:var(--review)}
article.card.reject{border-left-color:var(--reject)}
.meta{display:flex;flex-wrap:wrap;gap:.6rem;align-items:baseline;font-size:.85rem;color:var(--muted)}
.meta .author{font-weight:600;color:var(--ink)}
.badge{border-radius:4px;padding:0 .4rem;color:#fff;font-size:.75rem;text-transform:uppercase;letter-spacing:.03em}
.badge.allow{background:var(--allow)}.badge.review{background:var(--review)}.badge.reject{background:var(--reject)}
.bars{margin:.4rem 0;display:grid;grid-template-columns:max-content 1fr 3.2rem;gap:.15rem .6rem;align-items:center;font-size:.8rem}
.track{position:relative;height:.6rem;background:#eef1f4;border-radius:3px;overflow:hidden}
.fill{position:absolute;left:0;top:0;bottom:0;border-radius:3px}
.fill.review{background:var(--review)}.fill.reject{background:var(--reject)}
.tick{position:absolute;top:0;bottom:0;width:2px;background:var(--ink);opacity:.45}
.value{text-align:right;font-variant-numeric:tabular-nums}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:.4rem 0}
mark.span{position:relative;background:var(--mark);border-bottom:2px solid var(--review);border-radius:2px;padding:0 1px;cursor:help}
mark.span:hover::after{content:attr(data-label);position:absolute;left:0;bottom:110%;z-index:1;background:var(--ink);color:#fff;font-size:.7rem;line-height:1.4;padding:0 .35rem;border-radius:3px;white-space:nowrap;pointer-events:none}
details.all{font-size:.8rem;color:var(--muted)}
details.all table{border-collapse:collapse;margin-top:.3rem}
details.all td{padding:0 .8rem 0 0;font-variant-numeric:tabular-nums}
"""

_JS = """
"use strict";
(() => {
  const cards = Array.from(document.querySelectorAll("article.card"));
  const sections = Array.from(document.querySelectorAll("section.thread"));
  const state = {label: "", decision: ""};
  for (const card of cards) {
    card._scores = JSON.parse(card.dataset.scores);
    card._flags = card.dataset.flags ? card.dataset.flags.split(" ") : [];
  }
  const matches = (card, kind, value) =>
    !value || (kind === "label" ? card._flags.includes(value) : card.dataset.decision === value);
  function apply() {
    let shown = 0;
    for (const card of cards) {
      card.hidden = !(matches(card, "label", state.label) && matches(card, "decision", state.decision));
      if (!card.hidden) shown += 1;
    }
    const filtering = Boolean(state.label || state.decision);
    for (const section of sections) {
      section.hidden = filtering && !section.querySelector("article.card:not([hidden])");
    }
    const out = document.getElementById("shown");
    out.textContent = `${shown} of ${cards.length} comments shown`;
    out.dataset.shown = String(shown);
  }
  for (const chip of document.querySelectorAll("button.chip")) {
    const kind = chip.dataset.filter, value = chip.dataset.value;
    chip.querySelector(".n").textContent = String(cards.filter(c => matches(c, kind, value)).length);
    chip.addEventListener("click", () => {
      state[kind] = value;
      for (const other of document.querySelectorAll(`button.chip[data-filter="${kind}"]`)) {
        other.setAttribute("aria-pressed", String(other === chip));
      }
      apply();
    });
  }
  for (const section of sections) {
    const n = section.querySelectorAll("article.card").length;
    section.querySelector(".count").textContent = `${n} comment${n === 1 ? "" : "s"}`;
  }
  document.getElementById("sort").addEventListener("change", event => {
    const key = event.target.value;
    const byOrder = (a, b) => Number(a.dataset.order) - Number(b.dataset.order);
    for (const list of document.querySelectorAll(".comments")) {
      const items = Array.from(list.querySelectorAll(":scope > article.card"));
      items.sort(key ? (a, b) => (b._scores[key] - a._scores[key]) || byOrder(a, b) : byOrder);
      list.append(...items);
    }
  });
  document.addEventListener("toggle", event => {
    const box = event.target;
    if (!box.matches || !box.matches("details.all") || box.querySelector("table")) return;
    const table = document.createElement("table");
    for (const [label, score] of Object.entries(box.closest("article")._scores)) {
      const row = table.insertRow();
      row.insertCell().textContent = label;
      row.insertCell().textContent = score.toFixed(3);
    }
    box.append(table);
  }, true);
  apply();
})();
"""


class HtmlReport:
    """Writes the report to ``out`` as events arrive; call :meth:`close` at the end."""

    def __init__(self, out: TextIO, labels: Sequence[str], policy: Policy, about: str) -> None:
        self.out = out
        self.labels = list(labels)
        self.policy = policy
        self._order = 0
        self._thread: ThreadRef | None = None
        self._skipped: list[Skipped] = []
        self._skipped_count = 0
        csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
        out.write(
            f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>Moderation report</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f'<div class="top">\n<h1>Moderation report</h1>\n<p class="about">{escape(about)}</p>\n'
            f'<div class="controls">\n{self._chips("label", "Label", self.labels)}\n'
            f'{self._chips("decision", "Decision", list(reversed(DECISIONS)))}\n'
            f'<label class="group"><span>Sort</span><select id="sort"><option value="">input order</option>'
            + "".join(f'<option value="{escape(label)}">{escape(label)} score</option>' for label in self.labels)
            + '</select></label>\n<output id="shown"></output>\n</div>\n</div>\n<main>\n'
        )

    @staticmethod
    def _chips(kind: str, title: str, values: Sequence[str]) -> str:
        chips = [(f'<button class="chip" type="button" data-filter="{kind}" data-value="" '
                  f'aria-pressed="true">any<span class="n"></span></button>')]
        chips += [f'<button class="chip" type="button" data-filter="{kind}" data-value="{escape(v)}" '
                  f'aria-pressed="false">{escape(v)}<span class="n"></span></button>' for v in values]
        return f'<div class="group" role="group" aria-label="{title}"><span>{title}</span>{"".join(chips)}</div>'

    def add(self, event: ScoredEvent) -> None:
        if isinstance(event, ThreadStart):
            self._open_thread(event)
        elif isinstance(event, Scored):
            if self._thread is None or event.item.thread.key != self._thread.key:
                self._open_thread(ThreadStart(event.item.thread))
            self.out.write(self._card(event.record))
        elif isinstance(event, Skipped):
            self._skipped_count += 1
            if len(self._skipped) < SKIPPED_SHOWN:
                self._skipped.append(event)
        elif isinstance(event, Failure):
            self._close_thread()
            self.out.write(f'<p class="failure">Could not read <b>{escape(event.path)}</b>: '
                           f"{escape(event.reason)}</p>\n")

    def close(self) -> None:
        self._close_thread()
        self.out.write(f"</main>\n<script>{_JS}</script>\n</body>\n</html>\n")

    def _open_thread(self, start: ThreadStart) -> None:
        self._close_thread()
        ref = start.thread
        self._thread = ref
        title = escape(ref.title) if ref.title else "<i>untitled</i>"
        source = escape(ref.source) + (f" · {escape(ref.url)}" if ref.url else "")
        parts = [(f'<section class="thread">\n<header><h2>{title}</h2>'
                  f'<p class="src">{source} · <span class="count"></span></p></header>\n')]
        if start.pingbacks:
            items = "".join(
                f"<li>{escape(p.title or p.url or 'untitled')}"
                + (f" <small>({escape(p.site)})</small>" if p.site else "") + "</li>"
                for p in start.pingbacks)
            n = len(start.pingbacks)
            parts.append(f'<details class="pingbacks"><summary>{n} pingback{"s" if n != 1 else ""} '
                         f"(listed, not scored)</summary><ul>{items}</ul></details>\n")
        parts.append('<div class="comments">\n')
        self.out.write("".join(parts))

    def _close_thread(self) -> None:
        if self._thread is None:
            return
        self.out.write("</div>\n")
        if self._skipped_count:
            shown = ", ".join(f"{escape(s.id)} ({escape(s.reason)})" for s in self._skipped)
            more = self._skipped_count - len(self._skipped)
            self.out.write(f'<p class="skipped">{self._skipped_count} not scored: {shown}'
                           + (f" and {more} more" if more else "") + "</p>\n")
        self.out.write("</section>\n")
        self._thread = None
        self._skipped, self._skipped_count = [], 0

    def _card(self, record: dict[str, Any]) -> str:
        decision = record["decision"]
        scores = record["scores"]
        meta = [f'<span class="author">{escape(record["author"] or "anonymous")}</span>']
        if record["posted_at"]:
            when = record["posted_at"]
            meta.append(f'<time datetime="{escape(when)}" title="{escape(when)}">'
                        f'{escape(when[:16].replace("T", " "))}</time>')
        if record.get("kind") == "article":
            meta.append("<span>article body</span>")
        if record.get("status") not in (None, "approved"):
            meta.append(f'<span>{escape(record["status"])}</span>')
        meta.append(f'<span class="badge {decision}">{decision}</span>')
        meta.append(f'<span>#{escape(str(record["id"]))}</span>')
        bars = "".join(self._bar(label, scores[label]) for label in record["flags"])
        self._order += 1
        return (
            f'<article class="card {decision}" data-decision="{decision}" '
            f'data-flags="{escape(" ".join(record["flags"]))}" '
            f'data-scores="{escape(json.dumps(scores))}" data-order="{self._order}">\n'
            f'<div class="meta">{"".join(meta)}</div>\n'
            + (f'<div class="bars">{bars}</div>\n' if bars else "")
            + f'<p class="text">{highlight(record["text"], record["spans"])}</p>\n'
            '<details class="all"><summary>all scores</summary></details>\n</article>\n'
        )

    def _bar(self, label: str, score: float) -> str:
        rule = self.policy.rules.get(label)
        level = self.policy.level(label, score) if rule else "review"
        tick = f'<span class="tick" style="left:{rule.review * 100:.1f}%"></span>' if rule else ""
        limits = ""
        if rule:
            limits = f" (review at {rule.review:.2f}" + (
                f", reject at {rule.reject:.2f})" if rule.reject is not None else ")")
        return (f'<span class="label" title="{escape(label)}{limits}">{escape(label)}</span>'
                f'<span class="track"><span class="fill {level}" style="width:{score * 100:.1f}%"></span>'
                f'{tick}</span><span class="value">{score:.2f}</span>')


def highlight(text: str, spans: Sequence[dict[str, Any]]) -> str:
    """``text`` escaped, with every evidence span inside ``<mark>`` elements.

    Overlapping spans cut the text into segments; each segment's mark lists the spans covering
    it (``data-spans``, indices into ``spans``) and their labels and scores (``title``).
    """
    spans = [s for s in spans if 0 <= s["start"] < s["end"] <= len(text)]
    cuts = sorted({0, len(text), *(s["start"] for s in spans), *(s["end"] for s in spans)})
    out = []
    for start, end in itertools.pairwise(cuts):
        piece = escape(text[start:end])
        covering = [i for i, s in enumerate(spans) if s["start"] <= start and end <= s["end"]]
        if not covering:
            out.append(piece)
            continue
        labels = " ".join(dict.fromkeys(spans[i]["label"] for i in covering))
        title = ", ".join(f"{spans[i]['label']} {spans[i]['score']:.2f}" for i in covering)
        out.append(f'<mark class="span" data-spans="{" ".join(map(str, covering))}" '
                   f'data-label="{escape(labels)}" title="{escape(title)}">{piece}</mark>')
    return "".join(out)
