"use strict";
// The report's behaviour: tabs, filter and sort, and the moderator's decisions (saved in
// localStorage under the report's identity, exported as JSONL). Input text only ever reaches
// the page through textContent: never innerHTML.
(() => {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const labels = data.labels;
  const storeKey = `moderation-report:${data.identity}`;
  const cards = Array.from(document.querySelectorAll("article.card"));
  const byKey = new Map();
  for (const card of cards) {
    card._info = JSON.parse(card.dataset.card);
    card._key = JSON.stringify(card._info.key);
    card._home = card.parentElement;
    card._order = Number(card.dataset.order);
    card._severity = Number(card.dataset.severity);
    card._flags = card._info.flags;
    byKey.set(card._key, card);
  }
  const views = {
    queue: card => card.dataset.decision !== "allow",
    allowed: card => card.dataset.decision === "allow",
    threads: () => true,
    summary: () => false,
  };
  const state = {view: "queue", label: "", sort: "", current: null};
  const note = message => { document.getElementById("note").textContent = message; };

  // ---- decisions: {labels: {label: 0 | 1}, spans: [{start, end, label}]} per comment ----
  let decisions = {};
  try {
    const saved = JSON.parse(localStorage.getItem(storeKey) || "{}");
    if (saved && saved.version === 1 && saved.decisions) decisions = saved.decisions;
  } catch (error) {
    note("The decisions saved for this report could not be read; starting afresh.");
  }
  const decided = d => Boolean(d && (Object.keys(d.labels).length || d.spans.length));
  function save() {
    try {
      localStorage.setItem(storeKey, JSON.stringify({version: 1, decisions}));
    } catch (error) {
      note("This browser would not save the decisions (storage full or blocked): export them now.");
    }
  }
  function decisionOf(card, create) {
    let d = decisions[card._key];
    if (!d && create) d = decisions[card._key] = {labels: {}, spans: []};
    return d;
  }
  function setLabel(card, label, value) {
    const d = decisionOf(card, true);
    if (value === null) delete d.labels[label];
    else d.labels[label] = value;
    if (value !== 1) d.spans = d.spans.filter(s => s.label !== label);  // evidence says 1
    changed(card);
  }
  function changed(card) {
    const d = decisions[card._key];
    if (d && !decided(d)) delete decisions[card._key];
    save();
    paint(card);
    counts();
  }

  // ---- the text: UTF-16 offsets in the DOM, code point offsets in the export ----
  const textOf = card => card.querySelector(".text").textContent;
  const codePoints = s => { let n = 0; for (const _ of s) n += 1; return n; };
  function utf16At(text, points) {
    let i = 0;
    for (let n = 0; n < points && i < text.length; n += 1) i += text.codePointAt(i) > 0xffff ? 2 : 1;
    return i;
  }
  function selectedSpan() {
    const selection = window.getSelection();
    if (!selection.rangeCount || selection.isCollapsed) return null;
    const range = selection.getRangeAt(0);
    const textEl = (range.startContainer.parentElement || range.startContainer).closest(".text");
    if (!textEl || !textEl.contains(range.endContainer)) return null;
    const before = document.createRange();
    before.selectNodeContents(textEl);
    before.setEnd(range.startContainer, range.startOffset);
    const text = textEl.textContent;
    let start = before.toString().length, end = start + range.toString().length;
    while (start < end && /\s/.test(text[start])) start += 1;  // a double-click's trailing space
    while (end > start && /\s/.test(text[end - 1])) end -= 1;
    if (start === end) return null;
    const cp = codePoints(text.slice(0, start));
    return {card: textEl.closest("article.card"), start: cp, end: cp + codePoints(text.slice(start, end))};
  }
  // A static range: a live one would collapse when its card moves between views.
  function domRange(textEl, start16, end16) {
    const walker = document.createTreeWalker(textEl, NodeFilter.SHOW_TEXT);
    let seen = 0, node, start = null;
    while ((node = walker.nextNode())) {
      const length = node.data.length;
      if (!start && start16 < seen + length) start = [node, start16 - seen];
      if (start && end16 <= seen + length) {
        return new StaticRange({startContainer: start[0], startOffset: start[1],
                                endContainer: node, endOffset: end16 - seen});
      }
      seen += length;
    }
    return null;
  }
  const evidenceRanges = new Map();  // card key -> ranges, for the CSS highlight
  function paintEvidence() {
    if (!window.CSS || !CSS.highlights || typeof Highlight === "undefined") return;
    CSS.highlights.set("evidence", new Highlight(...Array.from(evidenceRanges.values()).flat()));
  }

  // ---- painting one card's decisions ----
  function chip(text, cls, remove, title) {
    const li = document.createElement("li");
    li.className = cls;
    li.append(text);
    const x = document.createElement("button");
    x.type = "button";
    x.textContent = "×";
    x.title = title;
    x.addEventListener("click", remove);
    li.append(x);
    return li;
  }
  function list(card, name, title) {  // made when first needed: most cards are never decided
    let ul = card.querySelector(`.decide .${name}`);
    if (!ul) {
      ul = document.createElement("ul");
      ul.className = name;
      ul.setAttribute("aria-label", title);
      card.querySelector(".decide").prepend(ul);
    }
    return ul;
  }
  function paint(card) {
    const d = decisionOf(card, false) || {labels: {}, spans: []};
    for (const button of card.querySelectorAll("button.v")) {
      const value = d.labels[button.parentElement.dataset.label];
      const on = button.dataset.act === "confirm" ? value === 1 : value === 0;
      button.setAttribute("aria-pressed", String(on));
    }
    const added = list(card, "added", "labels decided");
    added.replaceChildren();
    for (const label of labels) {
      if (!(label in d.labels) || card._flags.includes(label)) continue;
      const yes = d.labels[label] === 1;
      added.append(chip(`${label} ${yes ? "added" : "not shown"}`, yes ? "yes" : "no",
                        () => setLabel(card, label, null), `forget the decision on ${label}`));
    }
    const evidence = list(card, "evidence", "evidence marked");
    evidence.replaceChildren();
    const text = card._info.text === undefined ? textOf(card) : card._info.text;
    const ranges = [];
    d.spans.forEach((span, i) => {
      const from = utf16At(text, span.start), to = utf16At(text, span.end);
      evidence.append(chip(`“${text.slice(from, to)}” ${span.label}`, "span", () => {
        d.spans.splice(i, 1);
        changed(card);
      }, "remove this evidence"));
      const range = domRange(card.querySelector(".text"), from, to);
      if (range) ranges.push(range);
    });
    if (ranges.length) evidenceRanges.set(card._key, ranges);
    else evidenceRanges.delete(card._key);
    paintEvidence();
    const n = Object.keys(d.labels).length;
    card.querySelector(".state").textContent = decided(d) ? `decided: ${n} label${n === 1 ? "" : "s"}` +
      (d.spans.length ? `, ${d.spans.length} span${d.spans.length === 1 ? "" : "s"}` : "") : "";
    card.classList.toggle("decided", decided(d));
  }

  // ---- actions ----
  function verdictAll(card, value) {
    if (!card._flags.length) {
      note("This comment has no flags; add a missed label with a.");
      return;
    }
    const d = decisionOf(card, true);
    for (const label of card._flags) {
      d.labels[label] = value;
      if (value !== 1) d.spans = d.spans.filter(s => s.label !== label);
    }
    changed(card);
    note(`${value ? "Confirmed" : "Overturned"} ${card._flags.join(", ")}.`);
  }
  function toggleVerdict(card, label, value) {
    const d = decisionOf(card, false);
    setLabel(card, label, d && d.labels[label] === value ? null : value);
  }
  const picker = document.getElementById("picker");
  let pick = null;  // what the open picker chooses a label for
  function openPicker(title, choices, onChoose) {
    document.getElementById("picker-title").textContent = title;
    const box = picker.querySelector(".choices");
    box.replaceChildren();
    choices.forEach((label, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.label = label;
      b.textContent = i < 9 ? `${i + 1}  ${label}` : label;
      b.addEventListener("click", () => { closePicker(); onChoose(label); });
      box.append(b);
    });
    pick = {choices, onChoose, focus: document.activeElement};
    picker.hidden = false;
    if (box.firstChild) box.firstChild.focus();
  }
  function closePicker() {
    picker.hidden = true;
    if (pick && pick.focus && pick.focus.focus) pick.focus.focus({preventScroll: true});
    pick = null;
  }
  function addLabel(card) {
    const d = decisionOf(card, false);
    const open = labels.filter(l => !card._flags.includes(l) && !(d && d.labels[l] === 1));
    openPicker("Add a label the model missed", open, label => {
      setLabel(card, label, 1);
      note(`Added ${label}.`);
    });
  }
  function markEvidence(card) {
    const span = selectedSpan();
    if (!span || (card && span.card !== card)) {
      note("Select part of a comment's text first, then press e or click “mark as evidence”.");
      return;
    }
    setCurrent(span.card, false);
    const d = decisionOf(span.card, false);
    const chosen = labels.filter(l => d && d.labels[l] === 1);
    const order = [...chosen, ...span.card._flags.filter(l => !chosen.includes(l)),
                   ...labels.filter(l => !chosen.includes(l) && !span.card._flags.includes(l))];
    openPicker("Evidence for which label?", order, label => {
      const mine = decisionOf(span.card, true);
      mine.labels[label] = 1;  // evidence for a label says the comment shows it
      if (!mine.spans.some(s => s.start === span.start && s.end === span.end && s.label === label)) {
        mine.spans.push({start: span.start, end: span.end, label});
        mine.spans.sort((a, b) => a.start - b.start || a.end - b.end);
      }
      window.getSelection().removeAllRanges();
      changed(span.card);
      note(`Marked evidence for ${label}.`);
    });
  }
  function clearCard(card) {
    delete decisions[card._key];
    changed(card);
    note("Cleared this comment's decisions.");
  }

  // ---- export: one JSON line per decided comment, in report order ----
  function exportLines() {
    const lines = [];
    for (const card of [...cards].sort((a, b) => a._order - b._order)) {
      const d = decisions[card._key];
      if (!decided(d)) continue;
      const row = {text: card._info.text === undefined ? textOf(card) : card._info.text};
      for (const label of labels) if (label in d.labels) row[label] = d.labels[label];
      if (d.spans.length) {
        row.spans = d.spans.map(s => ({start: s.start, end: s.end, label: s.label}));
        row.span_labels = [...new Set(d.spans.map(s => s.label))];
      }
      row.id = card._info.id;
      row.thread = card._info.thread;
      lines.push(JSON.stringify(row) + "\n");
    }
    return lines;
  }
  function exportDecisions() {
    const lines = exportLines();
    if (!lines.length) {
      note("No decisions to export yet.");
      return;
    }
    const url = URL.createObjectURL(new Blob(lines, {type: "application/x-ndjson"}));
    const a = document.createElement("a");
    a.href = url;
    a.download = `decisions-${data.identity}.jsonl`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    note(`Exported ${lines.length} decided comment${lines.length === 1 ? "" : "s"} to ${a.download}.`);
  }

  // ---- views, filter, sort, navigation ----
  function compare(a, b) {
    const key = state.sort || (state.view === "queue" ? "severity" : "order");
    if (key === "severity") return (b._severity - a._severity) || (a._order - b._order);
    if (key === "order") return a._order - b._order;
    return (b._info.scores[key] - a._info.scores[key]) || (a._order - b._order);
  }
  const matches = card => !state.label || card._flags.includes(state.label);
  function layout() {
    const chosen = cards.filter(views[state.view]).sort(compare);
    if (state.view === "queue" || state.view === "allowed") {
      const section = document.getElementById(`view-${state.view}`);
      section.querySelector(".list").append(...chosen);
      section.querySelector(".empty").hidden = chosen.length > 0;
    } else if (state.view === "threads") {
      for (const card of chosen) card._home.append(card);
    }
    for (const chipButton of document.querySelectorAll("button.chip")) {  // counts in this view
      const value = chipButton.dataset.value;
      chipButton.querySelector(".n").textContent = String(
        chosen.filter(c => !value || c._flags.includes(value)).length);
    }
    let shown = 0;
    for (const card of chosen) {
      card.hidden = !matches(card);
      if (!card.hidden) shown += 1;
    }
    for (const section of document.querySelectorAll("section.thread")) {
      section.hidden = Boolean(state.label) && !section.querySelector("article.card:not([hidden])");
    }
    const out = document.getElementById("shown");
    out.textContent = state.view === "summary" ? "" : `${shown} of ${chosen.length} comments shown`;
    out.dataset.shown = String(shown);
    if (state.current && (state.current.hidden || !views[state.view](state.current))) setCurrent(null);
  }
  function show(view) {
    state.view = view;
    for (const tab of document.querySelectorAll("[role=tab]")) {
      tab.setAttribute("aria-selected", String(tab.dataset.view === view));
    }
    for (const section of document.querySelectorAll("section.view")) {
      section.hidden = section.id !== `view-${view}`;
    }
    layout();
  }
  const visible = () => cards.filter(c => views[state.view](c) && !c.hidden)
    .sort((a, b) => a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
  function setCurrent(card, scroll = true) {
    if (state.current) state.current.classList.remove("current");
    state.current = card;
    if (!card) return;
    card.classList.add("current");
    if (scroll) {
      card.focus({preventScroll: true});
      card.scrollIntoView({block: "center"});
    }
  }
  function move(step) {
    const list = visible();
    if (!list.length) return;
    const at = list.indexOf(state.current);
    const next = at < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, at + step));
    setCurrent(list[next]);
  }
  const current = () => {
    if (!state.current) note("Choose a comment first: j and k move between them.");
    return state.current;
  };
  function counts() {
    const n = Object.values(decisions).filter(decided).length;
    document.querySelector("#export .n").textContent = String(n);
    document.getElementById("decided-count").textContent = String(n);
    for (const tab of document.querySelectorAll("[role=tab] .n")) {
      const view = tab.parentElement.dataset.view;
      tab.textContent = `(${cards.filter(views[view]).length})`;
    }
  }

  // ---- wiring ----
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => show(tab.dataset.view));
  }
  for (const chipButton of document.querySelectorAll("button.chip")) {
    const value = chipButton.dataset.value;
    // only labels that flagged something get a chip
    chipButton.hidden = Boolean(value) && !cards.some(c => c._flags.includes(value));
    chipButton.addEventListener("click", () => {
      state.label = value;
      for (const other of document.querySelectorAll("button.chip")) {
        other.setAttribute("aria-pressed", String(other === chipButton));
      }
      layout();
    });
  }
  document.getElementById("sort").addEventListener("change", event => {
    state.sort = event.target.value;
    layout();
  });
  for (const section of document.querySelectorAll("section.thread")) {
    const n = section.querySelectorAll("article.card").length;
    section.querySelector(".count").textContent = `${n} comment${n === 1 ? "" : "s"}`;
  }
  for (const goto of document.querySelectorAll("button.goto")) {
    goto.addEventListener("click", () => {
      show("threads");
      const section = document.querySelector(`section.thread[data-thread="${goto.dataset.thread}"]`);
      if (section) section.scrollIntoView({block: "start"});
    });
  }
  // Keep a text selection when a button is pressed: "mark as evidence" needs it.
  document.addEventListener("mousedown", event => {
    if (event.target.closest && event.target.closest("button.act, #picker button")) event.preventDefault();
  });
  document.querySelector("main").addEventListener("click", event => {
    const card = event.target.closest("article.card");
    if (!card) return;
    if (state.current !== card) setCurrent(card, false);
    const button = event.target.closest("button[data-act]");
    if (!button) return;
    const act = button.dataset.act;
    if (act === "confirm") toggleVerdict(card, button.parentElement.dataset.label, 1);
    else if (act === "overturn") toggleVerdict(card, button.parentElement.dataset.label, 0);
    else if (act === "add") addLabel(card);
    else if (act === "evidence") markEvidence(card);
    else if (act === "clear") clearCard(card);
  });
  document.getElementById("export").addEventListener("click", exportDecisions);
  const help = document.getElementById("help");
  document.getElementById("help-open").addEventListener("click", () => { help.hidden = !help.hidden; });
  document.addEventListener("keydown", event => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (pick) {
      if (event.key === "Escape") closePicker();
      else if (/^[1-9]$/.test(event.key) && Number(event.key) <= pick.choices.length) {
        const {choices, onChoose} = pick;
        closePicker();
        onChoose(choices[Number(event.key) - 1]);
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        const buttons = Array.from(picker.querySelectorAll("button"));
        const at = buttons.indexOf(document.activeElement);
        const next = buttons[(at + (event.key === "ArrowDown" ? 1 : buttons.length - 1)) % buttons.length];
        if (next) next.focus();
      } else return;
      event.preventDefault();
      return;
    }
    if (event.target.closest && event.target.closest("input, select, textarea")) return;
    const key = event.key;
    if (key === "?") help.hidden = !help.hidden;
    else if (key === "Escape") help.hidden = true;
    else if (!help.hidden) return;
    else if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (key === "c") { const card = current(); if (card) verdictAll(card, 1); }
    else if (key === "x") { const card = current(); if (card) verdictAll(card, 0); }
    else if (key === "a") { const card = current(); if (card) addLabel(card); }
    else if (key === "e") markEvidence(null);
    else if (key === "u") { const card = current(); if (card) clearCard(card); }
    else if (key === "d") exportDecisions();
    else if (key >= "1" && key <= "4") show(["queue", "allowed", "threads", "summary"][Number(key) - 1]);
    else return;
    event.preventDefault();
  });
  document.addEventListener("toggle", event => {
    const box = event.target;
    if (!box.matches || !box.matches("details.all") || box.querySelector("table")) return;
    const table = document.createElement("table");
    for (const [label, score] of Object.entries(box.closest("article")._info.scores)) {
      const row = table.insertRow();
      row.insertCell().textContent = label;
      row.insertCell().textContent = score.toFixed(3);
    }
    box.append(table);
  }, true);

  for (const key of Object.keys(decisions)) {
    if (byKey.has(key)) paint(byKey.get(key));
  }
  counts();
  show("queue");
  window.moderationReport = {exportLines, identity: data.identity};  // for tests and the console
})();
