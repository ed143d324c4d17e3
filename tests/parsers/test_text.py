"""The plain-text parser: pages copied from a browser, with article, bio, comments, pingbacks."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from moderation.errors import ParseError
from moderation.parsers import parse_bytes
from moderation.parsers.text import FORMAT, parse_comment_date
from moderation.thread import Thread

FIXTURES = ("page-copy.txt", "wordpress-says.txt", "three-pages.txt")


def _parse(data: bytes, source: str = "copied.txt") -> list[Thread]:
    return list(FORMAT.parse(io.BytesIO(data), source))


def _parse_file(path: Path) -> list[Thread]:
    with open(path, "rb") as stream:
        return list(FORMAT.parse(stream, str(path)))


def _one(path: Path) -> Thread:
    threads = _parse_file(path)
    assert len(threads) == 1
    return threads[0]


# --- The real seed pages: figures from ../shared/seeds/README.md -----------------------------

SEED_TABLE = [
    pytest.param(
        "000_e6528b1a8d4791a1.txt", None, 8, 13, None,
        ("404NotFound", datetime(2024, 10, 31, 18, 33), 7),
        ["Thedoghousespa", "Chaudronnerie-cmm", "NationalSecurityJournal"],
        id="000",
    ),
    pytest.param(
        "003_40144daacaf0199b.txt",
        "Could North Korea Beef Up Russia with Another 100,000 Troops?", 5, 15,
        "You may have seen photos",
        ("Commentar", datetime(2024, 11, 18, 15, 50), 6),
        ["NationalSecurityJournal"],
        id="003",
    ),
]


@pytest.mark.parametrize(
    "name, title, headings, paragraphs, first_paragraph, comment, sites", SEED_TABLE
)
def test_real_seed_structure(
    shared_dir: Path,
    name: str,
    title: str | None,
    headings: int,
    paragraphs: int,
    first_paragraph: str | None,
    comment: tuple[str, datetime, int],
    sites: list[str],
) -> None:
    path = shared_dir / "seeds" / name
    assert FORMAT.sniff(path.read_bytes()[: 64 * 1024])
    thread = _one(path)
    article = thread.article
    assert article is not None
    assert article.title == title
    assert len(article.headings) == headings
    assert len(article.paragraphs) == paragraphs
    if first_paragraph is not None:
        assert article.paragraphs[0].startswith(first_paragraph)
    assert article.author == "Dr. Brent M. Eastwood"
    assert article.author_bio and "\n" not in article.author_bio
    assert len(thread.comments) == 1
    only = thread.comments[0]
    assert (only.id, only.author, only.posted_at, len(only.paragraphs)) == ("c1", *comment)
    assert only.parent_id is None
    assert [p.site for p in thread.pingbacks] == sites
    assert all(p.title for p in thread.pingbacks)
    assert thread.format == "text" and thread.source == str(path)
    assert thread.warnings == (
        "1 time(s) have no time zone in the source; kept as naive local times",)


# --- Our own fixtures -------------------------------------------------------------------------


def test_fused_title_headings_bio_comments_and_every_pingback_separator(seeds_dir: Path) -> None:
    thread = _one(seeds_dir / "page-copy.txt")
    article = thread.article
    assert article is not None
    assert article.title == "Can a Small Town Keep Its Last Ferry Running?"
    assert article.paragraphs[0].startswith("The council of Harlow Bend voted on Tuesday")
    assert article.headings == ["Where the Money Comes From", "What Riders Told the Council",
                                "Next steps"]
    assert [b.kind for b in article.blocks[:4]] == ["paragraph", "paragraph", "heading",
                                                    "paragraph"]
    assert len(article.paragraphs) == 7
    assert article.author == "Marta Quill"
    assert article.author_bio is not None
    assert article.author_bio.startswith("Marta Quill covers local government")

    first, second = thread.comments
    assert (first.id, first.author, first.posted_at) == (
        "c1", "Pell Ostrander", datetime(2025, 3, 4, 9, 15))
    assert first.paragraphs == [
        "Good news for the east bank.",
        "My mother relies on that ferry every week, and the bridge detour is hard on her.",
        "I hope the grant comes through.",
    ]
    assert (second.id, second.author, second.posted_at) == (
        "c2", "riverwatcher_77", datetime(2025, 3, 5, 21, 40))
    assert second.text == "Forty thousand is a lot for a town this size."

    # –, |, », - : each splits at the last spaced separator, so a hyphen inside a title stays.
    assert [(p.title, p.site) for p in thread.pingbacks] == [
        ("Ferry Funding - What Harlow Bend Decided", "Valley Notes"),
        ("River Crossings in the Region", "The Commuter Blog"),
        ("Small Towns and Their Boats", "Ferry Fan Weekly"),
        ("Council Roundup for March", "Bend Daily"),
    ]
    assert "2 time(s) have no time zone in the source; kept as naive local times" in thread.warnings


def test_wordpress_says_variant_with_markers_and_form_boilerplate(seeds_dir: Path) -> None:
    thread = _one(seeds_dir / "wordpress-says.txt")
    article = thread.article
    assert article is not None
    # No title line: the "N thoughts on “Title”" marker names it.
    assert article.title == "Why the Orchard Festival Moved to October"
    assert article.headings == ["A Workshop Returns"]
    assert len(article.paragraphs) == 3
    assert [(c.id, c.author, c.posted_at) for c in thread.comments] == [
        ("c1", "Hedda Lindqvist", datetime(2025, 9, 12, 20, 5)),
        ("c2", "Tomas Brenner", datetime(2025, 9, 13, 7, 30)),
        ("c3", "Anonymous Grower", datetime(2025, 9, 14, 0, 2)),
    ]
    assert [len(c.paragraphs) for c in thread.comments] == [1, 2, 1]
    assert [c.status for c in thread.comments] == ["approved", "approved", "pending"]
    assert all(c.parent_id is None for c in thread.comments)
    assert [(p.title, p.site) for p in thread.pingbacks] == [
        ("Autumn Events Around the Valley", "Valley Notes")]
    # Markers, "Reply" and the comment form are not content anywhere.
    everything = json.dumps(thread.to_dict(), ensure_ascii=False)
    for boilerplate in ("thoughts on", "Reply", "Post Comment", "Required fields", "Website",
                        "awaiting moderation", "Δ"):
        assert boilerplate not in everything
    assert any("3 comments kept flat" in w for w in thread.warnings)
    # 3 comments + 1 pingback = the 4 the marker announces: nothing missing.
    assert not any("the page says" in w for w in thread.warnings)


def test_several_pages_in_one_file(seeds_dir: Path) -> None:
    path = seeds_dir / "three-pages.txt"
    first, second, third = _parse_file(path)
    assert [t.source for t in (first, second, third)] == [str(path), f"{path}#2", f"{path}#3"]

    # Page 1: its own title line; ends in a plain comment, closed by page 2's fused title line.
    assert first.article is not None
    assert first.article.title == "Storm Closes the Coastal Path for a Week"
    assert first.article.headings == ["How to Get Around"]
    assert len(first.article.paragraphs) == 3
    assert [(c.author, len(c.paragraphs)) for c in first.comments] == [("Oskar Feld", 1)]
    assert first.pingbacks == ()

    # Page 2: fused title; ends at its author bio, with no comments.
    assert second.article is not None
    assert second.article.title == "Will the Lighthouse Museum Reopen by Summer?"
    assert second.article.paragraphs[0].startswith("The trust that runs")
    assert second.article.headings == ["A Long Restoration"]
    assert second.article.author == "Lena Brackwater"
    assert second.comments == () and second.warnings == ()

    # Page 3: plain article text after the bio starts it; no title anywhere.
    assert third.article is not None
    assert third.article.title is None
    assert len(third.article.paragraphs) == 2 and third.article.headings == []
    assert [c.author for c in third.comments] == ["Ruth Amberley"]
    assert [p.site for p in third.pingbacks] == ["Coastal Reader"]


@pytest.mark.parametrize("name", FIXTURES)
def test_round_trip_through_json(seeds_dir: Path, name: str) -> None:
    for thread in _parse_file(seeds_dir / name):
        again = Thread.from_dict(json.loads(json.dumps(thread.to_dict())))
        assert again == thread


@pytest.mark.parametrize("name", FIXTURES)
def test_fixtures_are_sniffed_as_text(seeds_dir: Path, name: str) -> None:
    assert FORMAT.sniff((seeds_dir / name).read_bytes())


# --- Inline cases ------------------------------------------------------------------------------


def test_bom_and_invalid_utf8_are_decoded_with_a_warning() -> None:
    data = (
        b"\xef\xbb\xbfA Quiet Week at the Harbour\n"
        b"Only two boats left the harbour this week because of the fog, the harbour master\xff "
        b"said on Sunday.\n"
        b"Fishing crews expect better weather by Thursday.\n"
    )
    (thread,) = _parse(data)
    assert thread.article is not None
    assert thread.article.title == "A Quiet Week at the Harbour"  # no BOM left in front
    assert "\ufffd" in thread.article.paragraphs[0]
    at = data.index(b"\xff")
    assert f"invalid UTF-8 at byte {at}: 1 byte(s) replaced with U+FFFD" in thread.warnings


def test_whitespace_is_normalised_per_line() -> None:
    data = (
        "Tide\u00a0Tables   for the Spring\r\n"
        "\tThe new tide tables are\u00a0out, and the  spring tides come early this year.\r\n"
        "\r\n"
        "Ada  Ferris\r\n"
        "Apr 2, 2025 at 7:05 AM\r\n"
        "  Thanks for   posting these.  \r\n"
    ).encode()
    (thread,) = _parse(data)
    assert thread.article is not None
    assert thread.article.title == "Tide Tables for the Spring"
    assert thread.article.paragraphs == [
        "The new tide tables are out, and the spring tides come early this year."]
    assert thread.comments[0].author == "Ada Ferris"
    assert thread.comments[0].text == "Thanks for posting these."


def test_marker_count_above_what_was_copied_is_a_warning() -> None:
    data = (
        b"The bakery on Mill Street closes for renovation on Monday and reopens in May.\n"
        b"5 Responses to \"Mill Street Bakery Closes for Spring\"\n"
        b"Jo Pardoe says:\n"
        b"2025-04-01 09:00\n"
        b"We will miss the rye bread.\n"
        b"Pingback: Spring Closures - Town Pages\n"
        b"April 2, 2025 at 3:30 pm\n"
    )
    (thread,) = _parse(data)
    assert thread.article is not None
    assert thread.article.title == "Mill Street Bakery Closes for Spring"
    assert [p.posted_at for p in thread.pingbacks] == [datetime(2025, 4, 2, 15, 30)]
    assert "2 time(s) have no time zone in the source; kept as naive local times" in thread.warnings
    assert any(w.startswith("the page says 5 comment(s) but the text holds 2") and "3 not in" in w
               for w in thread.warnings)


def test_count_links_and_reply_toggles_do_not_split_the_page() -> None:
    data = (
        b"Harbour Lights Festival Returns\n"
        b"4 Comments\n"  # a link beside the byline
        b"The harbour lights festival returns on Saturday with lanterns on every boat.\n"
        b"Organisers expect more visitors than last year, when rain kept many people home.\n"
        b"Mira Holt\n"
        b"June 1, 2025 at 8:00 pm\n"
        b"Cannot wait to see the lanterns again.\n"
        b"2 Replies\n"  # a toggle under the comment: its replies are not in the copy
        b"We are bringing the whole family this year.\n"
        b"Ben Okafor\n"
        b"June 2, 2025 at 9:10 am\n"
        b"Is parking free?\n"
    )
    (thread,) = _parse(data)
    assert thread.article is not None
    assert thread.article.title == "Harbour Lights Festival Returns"
    assert len(thread.article.paragraphs) == 2
    assert [c.paragraphs for c in thread.comments] == [
        ["Cannot wait to see the lanterns again.",
         "We are bringing the whole family this year."],
        ["Is parking free?"],
    ]
    assert any(w.startswith("the page says 4 comment(s) but the text holds 2")
               for w in thread.warnings)


def test_author_line_without_bio_is_a_warning() -> None:
    data = (
        b"The school choir won the regional contest on Saturday with a programme of folk songs.\n"
        b"About the Author: Noor Halvorsen\n"
        b"Pim Daalder\n"
        b"May 3, 2025 at 11:45 am\n"
        b"Well deserved.\n"
    )
    (thread,) = _parse(data)
    assert thread.article is not None
    assert thread.article.author == "Noor Halvorsen" and thread.article.author_bio is None
    assert [c.author for c in thread.comments] == ["Pim Daalder"]
    assert "an 'About the Author' line has no bio paragraph after it" in thread.warnings


def test_a_colon_heading_is_not_a_fused_title() -> None:
    # Title case on both sides of the colon: a heading, not "Title: first sentence".
    data = (
        b"Rivers and Roads: A Guide for Visitors\n"
        b"Visitors arriving by train can walk to the old town in about fifteen minutes.\n"
        b"Buses leave every half hour from the square in front of the station.\n"
    )
    (thread,) = _parse(data)
    assert thread.article is not None
    assert thread.article.title == "Rivers and Roads: A Guide for Visitors"
    assert len(thread.article.paragraphs) == 2


def test_empty_input_is_a_clear_error() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_bytes(b"")
    with pytest.raises(ParseError, match=r"^copied\.txt: the input is empty"):
        _parse(b" \r\n\xef\xbb\xbf\n")


def test_binary_input_forced_as_text_is_a_clear_error() -> None:
    with pytest.raises(ParseError, match="NUL bytes"):
        _parse(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)


# --- Dates and sniffing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, expected",
    [
        ("October 31, 2024 at 6:33 pm", datetime(2024, 10, 31, 18, 33)),
        ("Oct 31, 2024 at 6:33 PM", datetime(2024, 10, 31, 18, 33)),
        ("31 October 2024 at 18:33", datetime(2024, 10, 31, 18, 33)),
        ("2024-10-31 18:33", datetime(2024, 10, 31, 18, 33)),
        ("2024-10-31T18:33:05", datetime(2024, 10, 31, 18, 33, 5)),
        ("Sept. 3, 2024 at 12:15 a.m.", datetime(2024, 9, 3, 0, 15)),
        ("December 1, 2024 at 12:00 pm", datetime(2024, 12, 1, 12, 0)),
    ],
)
def test_comment_date_forms(line: str, expected: datetime) -> None:
    assert parse_comment_date(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "On October 31, 2024 at 6:33 pm the polls closed.",  # a paragraph mentioning a date
        "October 31, 2024",  # a byline date: no time, so no comment header
        "February 30, 2025 at 1:00 pm",
        "October 31, 2024 at 13:00 pm",
        "Smarch 3, 2024 at 1:00 pm",
    ],
)
def test_lines_that_are_not_comment_dates(line: str) -> None:
    assert parse_comment_date(line) is None


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(bytes(range(256)) * 20, id="binary-junk"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40, id="png"),
        pytest.param("\n".join(b"\xc3\x28\xa0\xa1".decode("latin-1") * 30
                               for _ in range(5)).encode("latin-1"), id="invalid-utf8"),
        pytest.param(b"id,author,text\n1,ann,hello\n2,bob,\"hi, there\"\n3,cy,ok\n4,di,yes\n",
                     id="csv"),
        pytest.param(b'note,text\n1,"first line\nsecond, line"\n2,"x"\n3,"a\nb\nc"\n4,y\n',
                     id="csv-multiline-fields"),
        pytest.param(b"id\tauthor\ttext\n1\tann\thello there\n2\tbob\thi\n3\tcy\tok\n", id="tsv"),
        pytest.param(b'{"source": "x", "comments": []}\n{"source": "y"}\n{}\n', id="json"),
        pytest.param(b"\xef\xbb\xbf<?xml version='1.0'?>\n<rss>\n</rss>\n", id="xml"),
        pytest.param(b"just one line of text\n", id="too-short"),
    ],
)
def test_sniff_refuses_what_is_not_copied_page_text(head: bytes) -> None:
    assert not FORMAT.sniff(head)


def test_utf16_text_with_a_bom_is_sniffed_and_parsed() -> None:
    data = ("Notes From the Allotment\n"
            "The bean rows came up well this year, after a slow and cold start in April.\n"
            "Next year the plot will try a second row of leeks along the fence.\n").encode("utf-16")
    assert FORMAT.sniff(data)
    (thread,) = _parse(data)
    assert thread.article is not None
    assert thread.article.title == "Notes From the Allotment"
    assert len(thread.article.paragraphs) == 2
