"""The WordPress HTML parser: current and legacy comment markup, pingbacks, the article."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from moderation.parsers.clean import parse_date, split_site
from moderation.parsers.html import FORMAT, blocks_from_html
from moderation.thread import Thread

SAMPLE = "samples/html/trafilatura-tests__californiaglobe.com.amazon.html"
SEPARATORS = (" \u2013 ", " - ", " | ", " \u00bb ", " > ")


def parse(data: bytes, source: str = "page.html") -> Thread:
    [thread] = FORMAT.parse(io.BytesIO(data), source)
    return thread


def parse_path(path: Path) -> Thread:
    return parse(path.read_bytes(), str(path))


def page(comments: str, head: str = "") -> bytes:
    return (f"<!DOCTYPE html><html><head>{head}</head><body><h1 class='entry-title'>T</h1>"
            f"<ol class='comment-list'>{comments}</ol></body></html>").encode()


# --- the real page in ../shared --------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(shared_dir: Path) -> Thread:
    return parse_path(shared_dir / SAMPLE)


def test_sample_has_every_comment_with_reply_parents_from_nesting(sample: Thread) -> None:
    assert len(sample.comments) == 12
    ids = [c.id for c in sample.comments]
    assert len(set(ids)) == 12 and all(i.isdigit() for i in ids)
    replies = [c for c in sample.comments if c.parent_id is not None]
    assert len(replies) == 2
    for reply in replies:
        # A reply is printed inside its parent's li, right after the parent's own body.
        assert reply.parent_id is not None
        assert ids.index(reply.parent_id) == ids.index(reply.id) - 1
    assert all(c.author and c.text and c.status == "approved" for c in sample.comments)
    assert all(c.posted_at is not None and c.posted_at.utcoffset() == timedelta(hours=-7)
               for c in sample.comments)


def test_sample_comment_text_is_clean(sample: Thread) -> None:
    for comment in sample.comments:
        assert not re.search(r"&#?\w+;|<[a-z/]", comment.text)
        assert "Reply" not in comment.text.split()  # the reply link is not comment text
    # The reply in the second thread has two paragraphs in the page.
    assert any(len(c.paragraphs) == 2 for c in sample.comments if c.parent_id)
    # The only comment with an author link keeps it as its author's url.
    assert sum(1 for c in sample.comments if c.author_url) == 1
    # Every comment's date links to it: its permalink, on the page's address.
    assert all(c.url and c.url.startswith("https://californiaglobe.com/") and
               c.url.endswith(f"#comment-{c.id}") for c in sample.comments)


def test_sample_pingbacks_split_title_and_site(sample: Thread) -> None:
    assert len(sample.pingbacks) == 8
    sites = [p.site for p in sample.pingbacks]
    assert all(sites) and len(set(sites)) == 8
    for ping in sample.pingbacks:
        assert ping.title and ping.url and ping.url.startswith("http") and ping.site
        assert not any(sep.strip() in ping.site for sep in SEPARATORS)
        assert not ping.title.endswith(tuple(s.rstrip() for s in SEPARATORS))
        assert "&#" not in ping.title and "&raquo;" not in ping.title


def test_sample_pingback_separators_seen(shared_dir: Path, sample: Thread) -> None:
    raw = (shared_dir / SAMPLE).read_text(encoding="utf-8")
    labels = re.findall(r"Pingback: <a [^>]*>([^<]*)</a>", raw)
    assert len(labels) == 8
    # Each separator the page uses is one our split removed from between title and site.
    for label, ping in zip(labels, sample.pingbacks, strict=True):
        assert ping.site in label and ping.title in label
        assert ping.site != label and ping.title != label
    used = {sep for sep in ("&#8211;", " - ", " | ", "&raquo;") if any(sep in lb for lb in labels)}
    assert used == {"&#8211;", " - ", " | ", "&raquo;"}


def test_sample_article(shared_dir: Path, sample: Thread) -> None:
    article = sample.article
    assert article is not None
    raw = (shared_dir / SAMPLE).read_text(encoding="utf-8")
    og = re.search(r'property="og:title" content="([^"]+)"', raw)
    assert og is not None
    og_title = og.group(1)
    # The h1 is used, not og:title, which carries the site name after a separator.
    assert article.title and article.title != og_title and og_title.startswith(article.title)
    assert article.url and article.url.startswith("https://") and "?" not in article.url
    assert article.published_at is not None and article.published_at.tzinfo is not None
    assert article.author and article.author_bio
    assert len(article.paragraphs) == 14 and len(article.headings) == 1
    # Share buttons, related posts and the author box are not body text.
    assert article.author_bio not in article.text
    assert not any(p.isupper() for p in article.paragraphs)
    assert sample.warnings == ()


# --- our own fixtures: current markup ---------------------------------------------------------


@pytest.fixture(scope="module")
def current(seeds_dir: Path) -> Thread:
    return parse_path(seeds_dir / "wordpress-page.html")


def test_current_markup_comments(current: Thread) -> None:
    by_id = {c.id: c for c in current.comments}
    assert list(by_id) == ["101", "102", "103", "104", "105"]
    assert [by_id[i].parent_id for i in by_id] == [None, "101", "102", None, None]
    first = by_id["101"]
    assert first.author == "Bram Oakhurst"
    assert first.author_url == "https://tidewatch.example/"
    # Absolute in the page for the first comment, relative for the others: all absolute here.
    page = "https://harbour-ledger.example/2023/05/lighthouse-keepers-vote/"
    assert [c.url for c in current.comments] == [f"{page}#comment-{i}" for i in by_id]
    assert by_id["102"].author_url is None
    assert first.posted_at == datetime(2023, 5, 4, 10, 2, 11, tzinfo=timezone(timedelta(hours=1)))
    # "&amp;#8217;" in the page is an apostrophe encoded twice.
    assert first.paragraphs == [
        "Good for them. The keepers\u2019 logbooks are the only record of the 1987 storm.",
        "Second paragraph with a line\nbreak inside it.",
    ]
    assert by_id["103"].posted_at == datetime(2023, 5, 4, 12, 45, 30, tzinfo=UTC)
    assert by_id["103"].text == "In the parish archive, boxed & labelled by year."


def test_current_markup_pending_comment(current: Thread) -> None:
    statuses = {c.id: c.status for c in current.comments}
    assert statuses == {"101": "approved", "102": "approved", "103": "approved",
                        "104": "pending", "105": "approved"}
    pending = next(c for c in current.comments if c.id == "104")
    assert "awaiting" not in pending.text


def test_current_markup_pingbacks_each_separator(current: Thread) -> None:
    got = [(p.title, p.site, p.url) for p in current.pingbacks]
    assert got == [
        ("Keepers Stay Another Winter", "Saltmarsh Notes",
         "https://saltmarsh-notes.example/keepers/"),
        ("Tide Tables - Lamps", "Coastwise Daily", "https://coastwise.example/p/77"),
        ("Week 19 Round-up", "Shorelines", "https://shorelines.example/week-19/"),
        ("Hand-tended Lights", "Keel and Cable", "https://keel-and-cable.example/?p=31"),
        ("Lights Kept Burning", "Foghorn Weekly", "https://foghorn.example/lights/"),
        ("Quayside Gazette", None, "https://quayside.example/t/9"),
        ("Lamps and Ledgers", "Breakwater Blog", "https://breakwater.example/2023/05/06/lamps/"),
    ]
    full = current.pingbacks[-1]
    assert full.excerpt == "[\u2026] the Gannet Point keepers chose the harder winter [\u2026]"
    assert full.posted_at == datetime(2023, 5, 6, 14, 0, tzinfo=timezone(timedelta(hours=1)))


def test_current_markup_article(current: Thread) -> None:
    article = current.article
    assert article is not None
    assert article.title == "Lighthouse Keepers Vote to Stay On"
    assert article.url == "https://harbour-ledger.example/2023/05/lighthouse-keepers-vote/"
    assert article.author == "Odile Fenwick"  # the byline, not the meta tag
    assert article.published_at == datetime(2023, 5, 4, 8, 15, tzinfo=UTC)
    assert [(b.kind, b.text) for b in article.blocks] == [
        ("paragraph", "The three keepers of the Gannet Point light voted on Tuesday to keep the "
                      "lamp tended by hand for another winter."),
        ("paragraph", "Their decision follows a season of storms in which the automatic beacon "
                      "failed twice & the relief boat could not land."),
        ("heading", "What the Harbour Board Said"),
        ("paragraph", "The board\u2019s chair called the vote \u201ca sensible stopgap\u201d and "
                      "promised a review\nbefore the autumn tides."),
        ("heading", "Costs"),
        ("paragraph", "Lamp oil for the season"),
        ("paragraph", "A new set of storm shutters"),
        ("paragraph", "We would rather row out than leave the headland dark."),
    ]
    assert article.author_bio == (
        "Odile Fenwick writes about the coast and the people who work on it.")
    assert current.warnings == ()


# --- our own fixtures: legacy markup ----------------------------------------------------------


@pytest.fixture(scope="module")
def legacy(seeds_dir: Path) -> Thread:
    return parse_path(seeds_dir / "wordpress-legacy.html")


def test_legacy_markup_comments(legacy: Thread) -> None:
    got = [(c.id, c.author, c.posted_at, c.parent_id, c.status) for c in legacy.comments]
    assert got == [
        ("201", "Hester Quill", datetime(2009, 8, 30, 19, 5), None, "approved"),
        ("202", "Ambrose Teller", datetime(2009, 8, 31, 8, 12), None, "approved"),
        ("203", "Hester Quill", datetime(2009, 8, 31, 9, 47), "202", "approved"),
        ("204", "Tobiah Marsh", datetime(2009, 9, 1, 10, 12), None, "pending"),
        ("205", "Ilse Brandt", None, None, "approved"),
    ]
    texts = {c.id: c.text for c in legacy.comments}
    assert texts["201"] == ("Ours did the same to the cold frame in 2007. Cut it back before the "
                            "\u201cfirst frost\u201d, not after.\n\nAlso: save the seeds.")
    assert texts["202"] == "Is it edible at that size, or only good for the show bench?"
    assert texts["204"] == "First post here \u2013 hello from plot fourteen."
    assert legacy.comments[0].author_url == "http://runnerbeans.example"
    # Its links to "#comment-N" are relative and the page gives no address of its own.
    assert [c.url for c in legacy.comments] == [None] * 5


def test_legacy_markup_warnings_count_what_was_not_read(legacy: Thread) -> None:
    assert legacy.warnings == (
        "1 comment date(s) not understood (not English or ISO); left empty",
        "4 time(s) have no time zone in the source; kept as naive local times",
    )


def test_legacy_markup_article_and_pingback(legacy: Thread) -> None:
    assert legacy.article is not None
    assert legacy.article.title == "The Marrow That Ate the Shed"
    assert len(legacy.article.paragraphs) == 2
    [ping] = legacy.pingbacks
    assert (ping.title, ping.site, ping.url) == (
        "Giant veg season", "Veg Patch Gossip", "http://vegpatch.example/?p=12")


# --- edge cases ---------------------------------------------------------------------------


def test_title_falls_back_to_page_title_without_site_name() -> None:
    thread = parse(b"<html><head><title>Kite Festival Postponed &#8211; Dune Courier</title>"
                   b"</head><body><p>x</p></body></html>")
    assert thread.article is not None and thread.article.title == "Kite Festival Postponed"


def test_page_without_comments_says_why() -> None:
    thread = parse(b"<html><body><div class='entry-content'><p>Only prose.</p></div></body></html>")
    assert thread.comments == () and thread.article is not None
    assert thread.article.paragraphs == ["Only prose."]
    assert any("JavaScript" in w for w in thread.warnings)


def test_paged_comments_warned() -> None:
    data = page("<li id='comment-1' class='comment'><div class='comment-content'><p>hi</p></div>"
                "</li>").replace(b"</ol>", b"</ol><nav class='comment-navigation'>"
                                           b"<a href='?cpage=2'>Older comments</a></nav>")
    assert any("several pages" in w for w in parse(data).warnings)


def test_comment_without_id_is_numbered_and_warned() -> None:
    thread = parse(page("<li class='comment'><div class='comment-content'><p>a</p></div></li>"
                        "<li class='comment'><div class='comment-content'><p>b</p></div></li>"))
    assert [c.id for c in thread.comments] == ["position-1", "position-2"]
    assert "2 comment(s) have no id in the page" in thread.warnings[0]


def test_names_and_titles_are_read_by_the_same_html_to_text_as_comments() -> None:
    # A line break between words is a space, script text is no text, and a doubly encoded
    # apostrophe is decoded: as in comment bodies (lxml's text_content ran words together).
    data = page("<li id='comment-3' class='comment'><cite class='fn'>Ansel<br>Brook"
                "<script>track()</script></cite><div class='comment-content'><p>Fine.</p></div>"
                "</li>").replace(b">T</h1>", b">Harbour<br>News &amp;#8217; week</h1>")
    thread = parse(data)
    [comment] = thread.comments
    assert comment.author == "Ansel Brook"
    assert thread.article is not None and thread.article.title == "Harbour News \u2019 week"


def test_declared_charset_is_honoured() -> None:
    # Declared latin-1 is read as windows-1252, as browsers do: 0x93/0x94 are curly quotes.
    data = ("<html><head><meta charset='iso-8859-1'></head><body><ol class='commentlist'>"
            "<li id='comment-7'><cite>Zo\u00eb</cite><p>Caf\u00e9 au lait, QUOTE.</p></li>"
            "</ol></body></html>").encode("iso-8859-1").replace(b"QUOTE", b"\x93hot\x94")
    [comment] = parse(data).comments
    assert (comment.author, comment.text) == ("Zo\u00eb", "Caf\u00e9 au lait, \u201chot\u201d.")


def test_a_comment_that_mentions_moderation_is_not_pending() -> None:
    thread = parse(page("<li id='comment-9' class='comment'><div class='comment-content'>"
                        "<p>Your comment is awaiting moderation, they told me, for a week.</p>"
                        "</div></li>"
                        "<li id='comment-10'><cite>Nell</cite><em>Your comment is awaiting "
                        "moderation. This is a preview; your comment will be visible after it "
                        "has been approved.</em><p>Held back.</p></li>"))
    mentions, held = thread.comments
    assert mentions.status == "approved"
    assert mentions.text.startswith("Your comment is awaiting moderation, they told me")
    assert (held.status, held.text) == ("pending", "Held back.")


def test_invalid_utf8_is_replaced_and_warned() -> None:
    data = page("<li id='comment-7' class='comment'><div class='comment-content'><p>ok X</p>"
                "</div></li>").replace(b"ok X", b"ok \xff")
    thread = parse(data)
    assert thread.comments[0].text == "ok \ufffd"
    assert any("invalid UTF-8" in w for w in thread.warnings)


def test_nothing_is_fetched_or_read_from_disk(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the parser")
    data = (f'<!DOCTYPE html [<!ENTITY x SYSTEM "file://{secret}">]><html><body>'
            "<ol class='comment-list'><li id='comment-1' class='comment'>"
            "<div class='comment-content'><p>a &x; b</p></div></li></ol></body></html>").encode()
    thread = parse(data)
    assert "not for the parser" not in thread.comments[0].text


def test_sniff() -> None:
    assert FORMAT.sniff(b"<!DOCTYPE html><html>")
    assert FORMAT.sniff(b"\xef\xbb\xbf\n<!doctype HTML>")
    assert FORMAT.sniff(b"<HTML><HEAD>")
    assert not FORMAT.sniff(b'{"source": "x", "comments": []}')
    assert not FORMAT.sniff(b"Jane says:\nMarch 3, 2009 at 10:12 am\nHello")


def test_blocks_from_fragment() -> None:
    blocks = blocks_from_html("<div class='md'><h2>A</h2><p>b &amp; c</p><ul><li>d</li></ul></div>")
    assert [(b.kind, b.text) for b in blocks] == [
        ("heading", "A"), ("paragraph", "b & c"), ("paragraph", "d")]
    assert blocks_from_html("  ") == ()


# --- the shared helpers this parser added to clean.py -------------------------------------------


@pytest.mark.parametrize(("label", "expected"), [
    ("Post Title \u2013 Site", ("Post Title", "Site")),
    ("Post - With - Dashes - Site", ("Post - With - Dashes", "Site")),
    ("Post | Site", ("Post", "Site")),
    ("Post \u00bb Site", ("Post", "Site")),
    ("Site \u00bb Blog Archive \u00bb Post", ("Post", "Site")),
    ("Post > Site", ("Post", "Site")),
    ("Post\u00a0|\u00a0Site", ("Post", "Site")),
    ("Well-Known Hyphenated-Title", ("Well-Known Hyphenated-Title", None)),
    ("- leading dash", ("- leading dash", None)),
])
def test_split_site(label: str, expected: tuple[str | None, str | None]) -> None:
    assert split_site(label) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("March 3, 2009 at 10:12 am", datetime(2009, 3, 3, 10, 12)),
    ("March 3rd, 2009 at 10:12 pm", datetime(2009, 3, 3, 22, 12)),
    ("12 March 2009 at 00:05", datetime(2009, 3, 12, 0, 5)),
    ("Sept. 3, 2009 @ 12:05 AM", datetime(2009, 9, 3, 0, 5)),
    ("Tuesday, March 3, 2009", datetime(2009, 3, 3)),
    ("2020-08-15T09:35:53-07:00",
     datetime(2020, 8, 15, 9, 35, 53, tzinfo=timezone(timedelta(hours=-7)))),
    ("2024-10-31T18:33:00Z", datetime(2024, 10, 31, 18, 33, tzinfo=UTC)),
    ("February 30, 2009", None),
    ("March 3, 2009 at 13:12 pm", None),
    ("21. Juni 2018 um 10:40 Uhr", None),
    ("Reply", None),
])
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


def test_parse_date_require_time() -> None:
    assert parse_date("March 3, 2009", require_time=True) is None
    assert parse_date("2009-03-03", require_time=True) is None
    assert parse_date("March 3, 2009 at 9:00", require_time=True) == datetime(2009, 3, 3, 9, 0)
