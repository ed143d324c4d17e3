"""Inputs that used to crash a reader with an exception of the standard library: each is now
read (with a warning where something was repaired) or refused with a named ParseError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moderation.encoding import decode, wide_encoding
from moderation.errors import ParseError
from moderation.parsers import parse_bytes
from moderation.parsers.clean import html_to_text, unescape
from moderation.thread import Thread
from tests.parsers.hostile import (
    CASES,
    ENCODINGS,
    SECRET,
    Case,
    html_reply_chain,
    reddit,
    reddit_reply_chain,
    reddit_time,
    wxr,
)

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def writable(threads: list[Thread]) -> list[dict]:
    """The threads as `moderation parse` writes them (fails on a lone surrogate)."""
    lines = [json.dumps(t.to_dict(), ensure_ascii=False) for t in threads]
    return [json.loads(line.encode("utf-8")) for line in lines]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_input_is_read_or_refused_by_name(case: Case) -> None:
    if case.error:
        with pytest.raises(ParseError) as caught:
            parse_bytes(case.data(), "bad" + case.suffix)
        assert case.error in str(caught.value)
        assert SECRET not in str(caught.value)
        return
    threads = writable(parse_bytes(case.data(), "bad" + case.suffix))
    assert threads and any(t["comments"] for t in threads)
    warnings = [w for t in threads for w in t["warnings"]]
    if case.warning:
        assert any(case.warning in w for w in warnings), warnings


@pytest.mark.parametrize("value", ["1e300", "-1e20", "NaN", "Infinity", "-Infinity", "9" * 400])
def test_reddit_time_out_of_range_is_left_empty_with_a_warning(value: str) -> None:
    [thread] = parse_bytes(reddit_time(value))
    [comment] = thread.comments
    assert comment.posted_at is None and comment.text == SECRET
    assert "1 created_utc time(s) out of range (not a number, or not in the years 1 to 9999) " \
           "left empty" in thread.warnings
    assert thread.article is not None and thread.article.published_at is not None


def test_reddit_fields_of_the_wrong_kind_are_ignored() -> None:
    [thread] = parse_bytes(reddit(post='"selftext": ["a"], ', body='{"a": 1}'))
    assert thread.article is not None and thread.article.blocks == ()
    assert thread.comments[0].text == "" and thread.comments[0].status == "approved"


def test_a_reply_chain_5000_deep_is_read_whole() -> None:
    [thread] = parse_bytes(reddit_reply_chain(5000))
    assert len(thread.comments) == 5001
    assert [c.id for c in thread.comments[:3]] == ["t1_a", "t1_r0", "t1_r1"]
    assert thread.comments[-1].id == "t1_r4999" and thread.comments[-1].parent_id == "t1_r4998"
    assert thread.comments[1].parent_id == "t1_a"


def test_a_bad_item_deep_in_a_chain_names_a_short_path() -> None:
    data = reddit_reply_chain(3000).replace(b'"name": "t1_r2999", ', b"")
    with pytest.raises(ParseError) as caught:
        parse_bytes(data)
    message = str(caught.value)
    replies = ".data.replies.data.children[0]"
    assert f"[1].data.children[0]{replies}{replies}[...2995 levels...]{replies}{replies}" \
           f"{replies}.data.name: the comment has no name or id" in message
    assert len(message) < 400


def test_lone_surrogates_become_replacement_characters() -> None:
    [thread] = parse_bytes(reddit(body='"\\ud800 and \\udfff, \\ud83d\\ude00 is a pair"'))
    assert thread.comments[0].text == "\ufffd and \ufffd, \U0001F600 is a pair"
    assert "2 lone surrogate escape(s) (\\ud800-\\udfff with no pair) replaced with U+FFFD" \
        in thread.warnings


def test_utf16_with_a_lone_surrogate_decodes_with_a_warning() -> None:
    decoded = decode(b"\xff\xfe" + "ab".encode("utf-16-le") + b"\x00\xd8c\x00")
    assert decoded.text == "ab\ufffdc"
    assert decoded.warnings == ("invalid UTF-16-LE at byte 6: 2 byte(s) replaced with U+FFFD",)


def test_marked_sections_in_comment_html_are_bogus_comments() -> None:
    assert html_to_text("<p>one</p><![foo bar>two <![CDATA[x]]> three <![") == \
        "one\n\ntwo three <!["
    [thread] = parse_bytes(wxr(comment_html="<p>Kept</p><![if !supportLists]>also kept"))
    assert thread.comments[0].text == "Kept\n\nalso kept"


def test_character_references_past_the_int_limit() -> None:
    huge = "&#" + "9" * 5000 + ";"
    assert unescape(f"a{huge}b &#00000065;") == "a\ufffdb A"
    assert html_to_text(f"<p>a{huge}b</p>") == "a\ufffdb"


def test_broken_urls_are_left_out() -> None:
    [thread] = parse_bytes(wxr(pingback_url="http://[bad"))
    [pingback] = thread.pingbacks
    assert pingback.url == "http://[bad" and pingback.site is None


def test_html_replies_nested_past_the_old_limit_are_read() -> None:
    [thread] = parse_bytes(html_reply_chain(300))
    assert len(thread.comments) == 301
    assert thread.comments[299].parent_id == "298" and thread.comments[300].parent_id is None
    assert all(SECRET in c.text and "\n" not in c.text for c in thread.comments)
    assert not thread.warnings


def test_html_replies_past_the_parsers_limit_are_counted() -> None:
    [thread] = parse_bytes(html_reply_chain(1100))
    read = len(thread.comments)
    assert 1000 < read < 1100  # 2048 levels of elements, two or three a reply
    assert thread.warnings == ("the page nests elements more than 2048 levels deep, where the "
                               f"HTML parser stops reading: {1101 - read} comment(s) and "
                               "pingback(s) there or after it left out",)


@pytest.mark.parametrize("codec", ENCODINGS)
@pytest.mark.parametrize("seed", ["reddit-thread.json", "threads.jsonl", "wordpress-page.html",
                                  "wordpress-export.xml", "disqus-export.xml", "page-copy.txt"])
def test_utf16_and_utf32_are_read_like_utf8(seed: str, codec: str) -> None:
    text = (SEEDS / seed).read_text(encoding="utf-8")
    if seed.endswith(".xml"):  # as a UTF-16 export declares itself
        text = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').replace(
            'encoding="utf-8"', 'encoding="UTF-16"')
    expected = writable(parse_bytes(text.encode("utf-8"), seed))
    assert writable(parse_bytes(text.encode(codec), seed)) == expected


def test_wide_encodings_are_told_by_bom_or_nul_bytes() -> None:
    assert wide_encoding("[{}]".encode("utf-16-le")) == ("utf-16-le", 0)
    assert wide_encoding("<html>".encode("utf-16-be")) == ("utf-16-be", 0)
    assert wide_encoding("<html>".encode("utf-32")) == ("utf-32-le", 4)
    assert wide_encoding("<html>".encode("utf-16")) == ("utf-16-le", 2)
    assert wide_encoding(b"<html>plain</html>") is None
    assert wide_encoding(b"\x00\x01\x02\x03" * 8) is None  # binary, not text
