"""WordPress WXR exports: the real samples beside the repository and our invented seed."""

from __future__ import annotations

import html
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from moderation.errors import ParseError
from moderation.parsers import detect_format, wxr
from moderation.parsers.wxr import wordpress_blocks, wordpress_text
from moderation.thread import Block, Thread

_MARKUP = re.compile(r"</?(?:p|h[1-6]|strong|em|a|li|ul|ol|div|span|img|figure)\b[^>]*>")


def parse(data: bytes, source: str = "export.xml") -> list[Thread]:
    return list(wxr.parse(io.BytesIO(data), source))


def parse_file(path: Path) -> list[Thread]:
    with path.open("rb") as stream:
        return list(wxr.parse(stream, str(path)))


def depth(comment_id: str, parents: dict[str, str | None]) -> int:
    """How many parent links lead from a comment to a top-level one."""
    steps = 0
    while parents[comment_id] is not None:
        comment_id = parents[comment_id]  # type: ignore[assignment]
        steps += 1
    return steps


# --- independent reading of a WXR file with plain lxml, to check counts against ------------


def raw_items(path: Path) -> list[etree._Element]:
    return list(etree.parse(str(path)).getroot().iter("item"))


def children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name]


def raw(el: etree._Element, name: str) -> str:
    found = children(el, name)
    return "".join(found[0].itertext()).strip() if found else ""


def raw_comments(item: etree._Element) -> list[etree._Element]:
    return children(item, "comment")


# --- the real samples ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def theme_unit_test(shared_dir: Path) -> Path:
    return shared_dir / "samples" / "wxr" / "wordpress-importer__theme-unit-test-data.xml"


@pytest.fixture(scope="module")
def isso_wxr(shared_dir: Path) -> Path:
    return shared_dir / "samples" / "wxr" / "isso__wordpress.xml"


def test_theme_unit_test_counts_match_the_readme_and_the_file(theme_unit_test: Path) -> None:
    threads = parse_file(theme_unit_test)
    comments = [c for t in threads for c in t.comments]
    pingbacks = [p for t in threads for p in t.pingbacks]
    # The README: 33 wp:comment entries on 7 posts, 29 comments, 2 pingbacks and 2 trackbacks.
    assert len(comments) == 29
    assert len(pingbacks) == 4
    assert sum(1 for t in threads if t.comments or t.pingbacks) == 7
    # The file itself: every post and page is a thread, and every wp:comment is read.
    items = raw_items(theme_unit_test)
    posts = [i for i in items if raw(i, "post_type") in ("post", "page")]
    assert len(threads) == len(posts)
    assert len(comments) + len(pingbacks) == sum(len(raw_comments(i)) for i in posts) == 33
    kinds = Counter(raw(c, "comment_type") for i in posts for c in raw_comments(i))
    assert kinds["pingback"] + kinds["trackback"] == len(pingbacks)
    assert [t.article and t.article.url for t in threads] == [raw(i, "link") for i in posts]
    approved = Counter(raw(c, "comment_approved") for i in posts for c in raw_comments(i)
                       if raw(c, "comment_type") not in ("pingback", "trackback"))
    assert Counter(c.status for c in comments) == {
        "approved": approved["1"], "pending": approved["0"]
    }
    assert all(not t.warnings for t in threads)


def test_theme_unit_test_parents_form_a_nine_level_reply_chain(theme_unit_test: Path) -> None:
    threads = parse_file(theme_unit_test)
    deepest = 0
    for thread in threads:
        parents = {c.id: c.parent_id for c in thread.comments}
        assert all(p is None or p in parents for p in parents.values())
        deepest = max([deepest, *(depth(cid, parents) for cid in parents)])
    assert deepest == 9  # ten comments: a top-level one and nine replies, each to the last
    # And the parents are the file's own comment_parent values.
    for item in raw_items(theme_unit_test):
        owner = next((t for t in threads if t.article and t.article.url == raw(item, "link")),
                     None)
        for c in raw_comments(item):
            if owner is None or raw(c, "comment_type") in ("pingback", "trackback"):
                continue
            mine = next(m for m in owner.comments if m.id == raw(c, "comment_id"))
            assert mine.parent_id == (None if raw(c, "comment_parent") == "0"
                                      else raw(c, "comment_parent"))


def test_theme_unit_test_pingbacks_have_entities_decoded(theme_unit_test: Path) -> None:
    pingbacks = [p for t in parse_file(theme_unit_test) for p in t.pingbacks]
    raw_pings = [c for i in raw_items(theme_unit_test) for c in raw_comments(i)
                 if raw(c, "comment_type") in ("pingback", "trackback")]
    for ping, source in zip(pingbacks, raw_pings, strict=True):
        label = " ".join(html.unescape(raw(source, "comment_author")).split())
        assert "&" in raw(source, "comment_author")  # the file keeps entities in the author
        assert ping.title and "&" not in ping.title and "&" not in (ping.site or "")
        assert f"{ping.title} \u00ab {ping.site}" == label
        assert ping.url == raw(source, "comment_author_url")
        assert ping.posted_at == datetime.fromisoformat(
            raw(source, "comment_date_gmt")).replace(tzinfo=UTC)
        assert ping.excerpt


def test_theme_unit_test_times_are_gmt_and_zone_aware(theme_unit_test: Path) -> None:
    threads = parse_file(theme_unit_test)
    times = [t.article.published_at for t in threads if t.article] + [
        c.posted_at for t in threads for c in t.comments
    ]
    assert times and all(t is not None and t.tzinfo == UTC for t in times)


def test_theme_unit_test_articles_have_headings_and_paragraphs(theme_unit_test: Path) -> None:
    threads = parse_file(theme_unit_test)
    blocks = [b for t in threads if t.article for b in t.article.blocks]
    assert Counter(b.kind for b in blocks)["heading"] > 10
    # No markup left (the samples also hold escaped tags as visible text, like "<code>").
    assert all(b.text and not _MARKUP.search(b.text) for b in blocks)
    assert not any("wp:paragraph" in b.text for b in blocks)  # Gutenberg delimiters dropped


def test_isso_wxr_three_items_eight_threaded_comments(isso_wxr: Path) -> None:
    threads = parse_file(isso_wxr)
    assert len(threads) == len(raw_items(isso_wxr)) == 3
    comments = [c for t in threads for c in t.comments]
    assert len(comments) == 8
    first = threads[0]
    parents = {c.id: c.parent_id for c in first.comments}
    assert max(depth(cid, parents) for cid in parents) == 2
    # One wp:comment in the file has no comment_type element at all; it is still a comment.
    untyped = [raw(c, "comment_id") for i in raw_items(isso_wxr) for c in raw_comments(i)
               if not children(c, "comment_type")]
    assert len(untyped) == 1
    assert untyped[0] in {c.id for c in first.comments}
    # The last item has no comments and is still a thread; items 2 and 3 have no post_type.
    assert threads[2].comments == () and threads[2].article and threads[2].article.title


def test_isso_wxr_comment_without_local_date_uses_gmt(isso_wxr: Path) -> None:
    threads = parse_file(isso_wxr)
    for item, thread in zip(raw_items(isso_wxr), threads, strict=True):
        for c in raw_comments(item):
            mine = next(m for m in thread.comments if m.id == raw(c, "comment_id"))
            expected = datetime.fromisoformat(raw(c, "comment_date_gmt")).replace(tzinfo=UTC)
            assert mine.posted_at == expected


@pytest.mark.parametrize("name", ["theme_unit_test", "isso_wxr"])
def test_samples_round_trip_through_json(name: str, request: pytest.FixtureRequest) -> None:
    for thread in parse_file(request.getfixturevalue(name)):
        assert Thread.from_dict(json.loads(json.dumps(thread.to_dict()))) == thread


# --- our seed --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed(seeds_dir: Path) -> bytes:
    return (seeds_dir / "wordpress-export.xml").read_bytes()


@pytest.fixture(scope="module")
def seed_threads(seed: bytes) -> list[Thread]:
    return parse(seed)


def test_seed_posts_and_pages_are_threads_other_items_are_not(seed_threads) -> None:
    titles = [t.article.title for t in seed_threads]
    assert titles == ["Why the ferry timetable changed", "About this site",
                      "Notes for the lifeboat open day", "Car park closed for resurfacing"]
    assert all(t.format == "wxr" and t.source == "export.xml" for t in seed_threads)


def test_seed_article(seed_threads) -> None:
    article = seed_threads[0].article
    assert article.url == "https://harbourlane.example/2024/03/ferry-timetable/"
    assert article.author == "Marisol Reyes"  # the display name, not the login
    assert article.published_at == datetime(2024, 3, 11, 8, 30, tzinfo=UTC)
    assert article.blocks == (
        Block("paragraph", "From Monday the first crossing leaves at 06:40 instead of 06:10. "
                           "The operator says the early boat ran half empty all winter."),
        Block("heading", "What changes on Monday"),
        Block("paragraph", "The last boat back now leaves the island at 21:15, and the Sunday "
                           "service keeps its old times.\nSeason tickets bought before March "
                           "stay valid."),
        Block("paragraph", "The north pier at low tide."),
        Block("heading", "What the council said"),
        Block("paragraph", "The change is a trial for six months."),
        Block("paragraph", "Comments go to the transport office until April."),
        Block("paragraph", "Nobody at the harbour office knew about it until last week \u2013 "
                           "that\u2019s the part people are cross about."),
    )


def test_seed_comments_statuses_and_threading(seed_threads) -> None:
    by_id = {c.id: c for c in seed_threads[0].comments}
    assert list(by_id) == ["101", "102", "103", "104", "105", "106", "108"]
    assert {cid: c.status for cid, c in by_id.items()} == {
        "101": "approved", "102": "approved", "103": "approved", "104": "pending",
        "105": "spam", "106": "trash", "108": "approved",
    }
    assert [by_id[c].parent_id for c in ("101", "102", "103")] == [None, "101", "102"]
    assert by_id["101"].text == ("Thirty minutes later means I miss the 8:05 train on the "
                                 "mainland.\n\nDid anyone ask the people who actually use the "
                                 "early boat?")
    assert by_id["101"].posted_at == datetime(2024, 3, 11, 9, 2, 17, tzinfo=UTC)
    # Entities encoded twice in the export are decoded in names and text.
    assert by_id["104"].author == "Aoife O\u2019Dwyer"
    assert by_id["104"].text.endswith("I\u2019m \"for\" it.")
    # A trashed post's comments are "post-trashed": kept, as trash.
    assert seed_threads[3].comments[0].status == "trash"
    # The website a commenter gave is the author's url; WXR has no link to a comment itself.
    assert by_id["102"].author_url == "https://harbourlane.example"
    assert by_id["101"].author_url is None
    assert all(c.url is None for c in by_id.values())


def test_seed_missing_parent_is_kept_with_a_warning(seed_threads) -> None:
    orphan = next(c for c in seed_threads[0].comments if c.id == "108")
    assert orphan.parent_id == "107"
    assert ("1 comment(s) reply to a comment that is not in this post; kept, with their "
            "parent ids") in seed_threads[0].warnings


def test_seed_pingbacks_and_trackbacks(seed_threads) -> None:
    pings = seed_threads[0].pingbacks
    assert [(p.title, p.site) for p in pings] == [
        ("Ferry schedules explained", "Coastline Commuter"),  # " – " (an &#8211; entity)
        ("Weekend roundup", "The Island Ledger"),  # " | "
        ("A reply from across the bay", "www.bayside.example"),  # no separator: the URL's host
    ]
    assert pings[0].url == "https://coastline-commuter.example/2024/03/ferry-schedules/"
    assert pings[0].excerpt == ("[\u2026] the harbour blog has the full list of new crossing "
                                "times [\u2026]")
    assert pings[1].posted_at == datetime(2024, 3, 13, 18, 0, tzinfo=UTC)
    assert ("1 pingback(s)/trackback(s) marked spam, trash or unapproved left out (pingbacks "
            "carry no status)") in seed_threads[0].warnings


def test_seed_draft_time_is_naive_with_a_warning(seed_threads) -> None:
    draft = seed_threads[2]
    assert draft.article.published_at == datetime(2024, 3, 15, 17, 48, 2)  # no GMT: naive
    assert draft.warnings == ("1 time(s) have no time zone in the source; kept as naive "
                              "local times",)


def test_seed_comments_on_an_attachment_are_counted_not_silently_dropped(seed_threads) -> None:
    assert seed_threads[-1].warnings == (
        "1 comment(s) on items that are not posts or pages left out: attachment (1)",
    )
    assert sum(len(t.warnings) for t in seed_threads) == 4  # and nothing else to report


def test_seed_round_trips_through_json(seed_threads) -> None:
    for thread in seed_threads:
        assert Thread.from_dict(json.loads(json.dumps(thread.to_dict()))) == thread


@pytest.mark.parametrize(
    "namespace",
    ["https://wordpress.org/export/1.2/", "http://wordpress.org/export/1.1/",
     "http://wordpress.org/export/1.0/"],
)
def test_every_wxr_version_and_scheme_reads_the_same(seed: bytes, seed_threads,
                                                     namespace: str) -> None:
    variant = seed.replace(b"http://wordpress.org/export/1.2/", namespace.encode())
    assert wxr.sniff(variant[:65536])
    assert parse(variant) == seed_threads


def test_wxr_1_0_items_without_post_type_or_gmt_dates() -> None:
    data = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.0/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<item><title>Old post</title><link>http://old.example/?p=3</link>
<wp:post_date>2008-05-01 12:00:00</wp:post_date>
<content:encoded><![CDATA[One.

Two.]]></content:encoded>
<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_author>Ola</wp:comment_author>
<wp:comment_date>2008-05-01 13:00:00</wp:comment_date>
<wp:comment_content>First!</wp:comment_content><wp:comment_approved>1</wp:comment_approved>
<wp:comment_parent>0</wp:comment_parent></wp:comment>
</item></channel></rss>"""
    [thread] = parse(data)
    assert thread.article is not None
    assert thread.article.published_at == datetime(2008, 5, 1, 12, 0)
    assert [b.text for b in thread.article.blocks] == ["One.", "Two."]
    assert thread.comments[0].posted_at == datetime(2008, 5, 1, 13, 0)
    assert thread.warnings == ("2 time(s) have no time zone in the source; kept as naive "
                               "local times",)


def test_unusual_statuses_types_and_dates_are_kept_and_reported() -> None:
    def comment(cid: str, approved: str, kind: str = "", date: str = "2024-01-01 10:00:00") -> str:
        return (f"<wp:comment><wp:comment_id>{cid}</wp:comment_id>"
                f"<wp:comment_date_gmt>{date}</wp:comment_date_gmt>"
                f"<wp:comment_content>Text {cid}</wp:comment_content>"
                f"<wp:comment_approved>{approved}</wp:comment_approved>"
                f"<wp:comment_type>{kind}</wp:comment_type></wp:comment>")
    data = ('<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>T</title>'
            + comment("1", "hold") + comment("2", "1", "note") + comment("3", "1", date="soon")
            + comment("", "1") + comment("5", "1", "trackback") + comment("6", "0", "pingback")
            + "</item></channel></rss>").encode()
    [thread] = parse(data)
    assert [(c.id, c.status) for c in thread.comments] == [
        ("1", "pending"), ("2", "approved"), ("3", "approved"), ("#4", "approved")
    ]
    assert thread.comments[2].posted_at is None
    assert len(thread.pingbacks) == 1 and thread.pingbacks[0].title is None
    assert thread.warnings == (
        "1 pingback(s)/trackback(s) marked spam, trash or unapproved left out (pingbacks "
        "carry no status)",
        "1 comment(s) of another type (such as 'note') read as comments",
        "1 comment(s) with an unknown approval status (such as 'hold') kept as pending",
        "1 comment(s) without a wp:comment_id numbered by position ('#N')",
        "1 unreadable date(s) left out",
    )


# --- damaged exports -----------------------------------------------------------------------


def test_seed_with_bom_reads_the_same_silently(seed: bytes, seed_threads) -> None:
    assert parse(b"\xef\xbb\xbf" + seed) == seed_threads


def test_seed_with_junk_before_the_xml(seed: bytes, seed_threads) -> None:
    junk = b"\n<b>Warning</b>: headers already sent\n"
    threads = parse(junk + seed)
    assert threads[0].warnings[0] == f"{len(junk)} byte(s) of junk before the XML skipped"
    assert [t.comments for t in threads] == [t.comments for t in seed_threads]


def test_seed_with_invalid_utf8_in_a_comment(seed: bytes) -> None:
    damaged = seed.replace(b"Thank you.", b"Thank you\xe9.")
    threads = parse(damaged)
    assert threads[0].comments[2].text.startswith("Thank you\ufffd.")
    at = damaged.index(b"\xe9.")
    assert f"invalid UTF-8 at byte {at}: 1 byte(s) replaced with U+FFFD" in threads[-1].warnings


def test_seed_cut_off_inside_a_comment_keeps_the_complete_comments(seed: bytes,
                                                                   seed_threads) -> None:
    cut = seed[: seed.index(b"Same here, the bus")]  # inside comment 108 of the first post
    [thread] = parse(cut)
    assert [c.id for c in thread.comments] == ["101", "102", "103", "104", "105", "106"]
    assert thread.article == seed_threads[0].article
    assert any("cut off or broken" in w and "only its complete parts were kept" in w
               for w in thread.warnings)


def test_seed_cut_off_in_the_last_item(seed: bytes, seed_threads) -> None:
    cut = seed[: seed.rindex(b"<wp:comment_approved>")]
    threads = parse(cut)
    assert threads[:3] == seed_threads[:3]
    assert threads[3].comments == ()  # its only comment was the one cut
    assert threads[3].article == seed_threads[3].article
    assert threads[3].warnings[0].startswith("the XML is cut off or broken at line ")
    assert threads[3].warnings[0].endswith("only its complete parts were kept")


def test_cut_off_before_any_post_is_an_error(seed: bytes) -> None:
    with pytest.raises(ParseError, match="no post or page could be read: the XML is cut off"):
        parse(seed[: seed.index(b"<item>") + 3])


def test_a_valid_export_without_posts_has_no_threads() -> None:
    assert parse(b'<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel/></rss>') == []


# --- sniffing --------------------------------------------------------------------------------


def test_sniff(seed: bytes, seeds_dir: Path) -> None:
    assert wxr.sniff(seed[:65536])
    assert wxr.sniff(b"\xef\xbb\xbf" + seed[:65536])
    assert wxr.sniff(b"<br />\nNotice: junk\n" + seed[:65536])
    assert not wxr.sniff((seeds_dir / "disqus-export.xml").read_bytes())
    page = (b"<!DOCTYPE html><html><body><p>Export your site: the file uses "
            b"http://wordpress.org/export/1.2/ as its namespace.</p></body></html>")
    assert not wxr.sniff(page)
    assert detect_format(seed[:65536], "x").name == "wxr"


# --- WordPress text --------------------------------------------------------------------------


def test_wordpress_text_reads_implicit_paragraphs_in_html() -> None:
    raw = 'One <em>line</em>\nand its break.\n\nSecond <a href="/x">para</a>.'
    assert wordpress_text(raw) == "One line\nand its break.\n\nSecond para."
    assert wordpress_text("Plain\n\ntext &amp;amp; more") == "Plain\n\ntext & more"
    assert wordpress_text("&lt;p&gt;escaped&lt;/p&gt;") == "escaped"


def test_wordpress_blocks_headings_lists_and_shortcodes() -> None:
    raw = ("<!-- wp:heading --><h2>Title <em>here</em></h2><!-- /wp:heading -->\n"
           "Intro line.\n\n[gallery ids=\"1,2\"]\n<ul>\n<li>One</li>\n<li>Two</li>\n</ul>"
           "<h3\nclass=\"x\">Next</h3>Tail [citation needed].")
    assert wordpress_blocks(raw) == (
        Block("heading", "Title here"),
        Block("paragraph", "Intro line."),
        Block("paragraph", "One"),
        Block("paragraph", "Two"),
        Block("heading", "Next"),
        Block("paragraph", "Tail [citation needed]."),
    )
    assert wordpress_blocks("") == ()
