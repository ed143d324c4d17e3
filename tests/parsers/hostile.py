"""Small hostile inputs, one per way an input used to crash a reader (not a test module).

Each comment holds ``SECRET``, so a test can check that no message quotes comment text. The
inputs are written here, not taken from real exports.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

SECRET = "Quillon-private-words"


def reddit(comment: str = "", post: str = "", replies: str = '""',
           body: str = f'"{SECRET}"') -> bytes:
    """A Reddit response; ``comment`` and ``post`` are extra JSON members (``"key": value,``;
    the post's replace those of the same name), ``body`` the comment's body as JSON."""
    return (
        '[{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {'
        '"name": "t3_p", "title": "Tide pools", "created_utc": 1690000000, '
        '"selftext": "Body.", ' + post + '"num_comments": 1}}]}}, '
        '{"kind": "Listing", "data": {"children": [{"kind": "t1", "data": {' + comment
        + f'"name": "t1_a", "author": "rowan", "body": {body}, "replies": {replies}'
        + "}}]}}]"
    ).encode()


def reddit_time(value: str) -> bytes:
    return reddit(comment=f'"created_utc": {value}, ')


def reddit_reply_chain(depth: int) -> bytes:
    """A comment with a chain of ``depth`` replies, each inside the one before (built as
    text: json.dumps recurses, and would fail on this itself)."""
    opening = ('{"kind": "Listing", "data": {"children": [{"kind": "t1", "data": '
               '{"name": "t1_r%d", "body": "reply", "replies": ')
    chain = "".join(opening % level for level in range(depth)) + '""' + "}}]}}" * depth
    return reddit(replies=chain)


def thread_jsonl(text: str = SECRET, comment_id: str = '"c1"') -> bytes:
    return ('{"source": "own.xml", "format": "wxr", "comments": [{"id": ' + comment_id
            + ', "text": "' + text + '"}]}\n').encode()


def wxr(comment_html: str = SECRET, pingback_url: str = "https://blog.example/p",
        declaration: bytes = b'<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return declaration + f"""
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><item><title>Hall roof</title><wp:post_type>post</wp:post_type>
<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_author>Di</wp:comment_author>
<wp:comment_content><![CDATA[{comment_html}]]></wp:comment_content>
<wp:comment_approved>1</wp:comment_approved></wp:comment>
<wp:comment><wp:comment_id>2</wp:comment_id><wp:comment_author>Linked</wp:comment_author>
<wp:comment_author_url>{pingback_url}</wp:comment_author_url>
<wp:comment_type>pingback</wp:comment_type><wp:comment_approved>1</wp:comment_approved>
</wp:comment></item></channel></rss>
""".encode()


def html_page(comments: str, canonical: str = "https://example.test/roof") -> bytes:
    return f"""<!DOCTYPE html><html><head><title>Hall Roof</title>
<link rel="canonical" href="{canonical}"></head><body>
<article><h1 class="entry-title">Hall Roof</h1><div class="entry-content"><p>Quotes.</p></div>
</article><ol class="comment-list">{comments}</ol></body></html>""".encode()


def html_comment(number: int, inner: str = "", href: str = "") -> str:
    link = (f'<a href="{href or f"#comment-{number}"}">'
            '<time datetime="2023-05-04T10:02:11+01:00">May 4</time></a>')
    return (f'<li class="comment" id="comment-{number}"><div class="comment-metadata">{link}</div>'
            f'<div class="comment-content"><p>{SECRET} {number}</p></div>{inner}</li>')


def html_reply_chain(depth: int) -> bytes:
    """Comment 0 with a chain of replies ``depth`` deep, then one more top-level comment."""
    nested = ""
    for number in reversed(range(1, depth)):
        nested = f'<ol class="children">{html_comment(number, nested)}</ol>'
    return html_page(html_comment(0, nested) + html_comment(depth))


@dataclass(frozen=True)
class Case:
    """A hostile input, what used to happen, and what happens now."""

    name: str
    data: Callable[[], bytes]
    crash: str  # what it raised before it was handled
    error: str | None = None  # the named error now, or None when it is read
    warning: str | None = None  # a warning the thread now carries
    suffix: str = ".json"


CASES = [
    *[Case(f"reddit created_utc {value[:12]}", functools.partial(reddit_time, value),
           "OverflowError/ValueError", warning="created_utc time(s) out of range")
      for value in ("1e300", "-1e20", "NaN", "Infinity", "9" * 400, '"' + "9" * 400 + '"')],
    Case("reddit selftext a list", lambda: reddit(post='"selftext": ["a"], '), "TypeError"),
    Case("reddit body an object", lambda: reddit(body='{"a": 1}'), "TypeError"),
    Case("reddit replies 5,000 deep", lambda: reddit_reply_chain(5000), "RecursionError"),
    Case("reddit JSON nested 100,000 deep",
         lambda: b'[{"kind": "Listing", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]",
         "RecursionError", error="nested more than 100000 levels deep"),
    Case("thread JSON nested 100,000 deep",
         lambda: b'{"source": "x", "comments": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
         "RecursionError", error="nested more than 512 levels deep", suffix=".jsonl"),
    Case("reddit integer of 4,400 digits", lambda: reddit_time("1" * 4400), "ValueError",
         error="an integer of 4400 digits (more than 4300)"),
    Case("thread integer of 4,400 digits", lambda: thread_jsonl(comment_id="1" * 4400),
         "ValueError", error="an integer of 4400 digits (more than 4300)", suffix=".jsonl"),
    Case("reddit lone surrogate escape", lambda: reddit(body=f'"{SECRET}\\ud800"'),
         "UnicodeEncodeError", warning="1 lone surrogate escape(s)"),
    Case("thread lone surrogate escape", lambda: thread_jsonl(text=SECRET + "\\udc00"),
         "UnicodeEncodeError", warning="1 lone surrogate escape(s)", suffix=".jsonl"),
    Case("UTF-16 text with a lone surrogate",
         lambda: b"\xff\xfe" + f"Hall Roof\nThe roof leaks.\nDi says:\nMay 4, 2023 at 10:02 am\n"
                               f"{SECRET}\n".encode("utf-16-le") + b"\x00\xd8",
         "UnicodeDecodeError", warning="invalid UTF-16-LE", suffix=".txt"),
    Case("invalid byte in the XML declaration",
         lambda: wxr(declaration=b'<?xml version="1.0\xff" encoding="UTF-8"?>'),
         "UnicodeEncodeError", warning="invalid characters in the XML declaration",
         suffix=".xml"),
    Case("<![foo in comment HTML", lambda: wxr(comment_html=f"<p>{SECRET}</p><![foo {SECRET}"),
         "AssertionError", suffix=".xml"),
    Case("pingback URL http://[bad", lambda: wxr(pingback_url="http://[bad"), "ValueError",
         suffix=".xml"),
    Case("permalink URL http://[bad",
         lambda: html_page(html_comment(5, href="http://[bad/#comment-5")), "ValueError",
         suffix=".html"),
    Case("page URL http://[bad", lambda: html_page(html_comment(5), canonical="http://[bad"),
         "ValueError", suffix=".html"),
    Case("doubly encoded character reference of 5,000 digits",
         lambda: html_page(html_comment(5).replace("<p>", "<p>&amp;#" + "9" * 5000 + ";")),
         "ValueError", suffix=".html"),
    Case("HTML replies 1,100 deep", lambda: html_reply_chain(1100), "(comments lost silently)",
         warning="more than 2048 levels deep", suffix=".html"),
]

# The same seed exports re-encoded: these used to be "unknown format".
ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32"]
