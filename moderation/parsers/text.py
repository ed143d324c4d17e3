"""Plain text copied from a news page in a browser (select all, copy, paste into a file).

The copy keeps one line per block and nothing else of the markup, so structure is recovered
from the shape of the lines (blank lines carry no meaning and are ignored):

* Article: paragraphs and section headings, one per line. A heading is a short line with no
  closing sentence punctuation (a ``?`` is allowed when the line is title case), no sentence
  break inside, that is followed by a paragraph: up to 15 words when title case, up to 8 words
  in sentence case. The title is either fused with the first paragraph as ``Title?: First
  sentence...`` / ``Title: First sentence...`` (a title-case title of 3-20 words, then prose
  of at least 8 words that ends a sentence), or the page's first line when that line is a
  heading, or the title named by a ``N thoughts on “Title”`` marker; otherwise None.
* ``About the Author: NAME`` then one bio paragraph: ``Article.author`` and ``author_bio``.
* Comments: an author line (``Name`` or ``Name says:``) followed by a date line with a clock
  time (``October 31, 2024 at 6:33 pm``, ``Oct 31, 2024 at 6:33 PM``, ``31 October 2024 at
  18:33``, ``2024-10-31 18:33``: whatever ``clean.parse_date`` reads), then the comment's
  paragraphs. A comment ends at the next author+date pair, a ``Reply`` line, a pingback, an
  article-ending marker (below), or the end of the page. Copied text does not show which comment
  replies to which, so ``parent_id`` is always None; ids are ``c1``, ``c2``... in page order.
  Printed times have no zone; the thread says how many in a warning.
* ``Pingback: <post title> <sep> <site>`` (also ``Trackback:``), split at the last of
  ``–``, ``-``, ``|``, ``»``, ``—`` that has spaces around it; a date line right after it is
  the pingback's time.
* Markers, which are not content: ``N thoughts on “Title”`` (``One thought on``, ``3
  Responses to "Title"``, straight or curly quotes), ``Leave a Reply`` (``... Cancel reply``),
  ``Leave a Comment``, ``Comments are closed.`` end the article (or the open comment), unless
  no article text came yet: then they are page furniture above it. A bare count (``3
  Comments``, ``2 Replies``) is skipped wherever it is, since it is as often a link beside the
  byline or a toggle under a comment. After the article has ended, the comment form's fixed
  lines (``Name *``, ``Post Comment``...) and stray ``Reply`` lines are skipped as well. When
  the first marker's count is more than the comments and pingbacks found, a warning says how
  many are missing.

Several pages in one file: a page's article ends at its author bio or at the first comment,
pingback or article-ending marker. After that, a line that is none of those (and not
comment-form boilerplate) is article text again and starts a new page, except inside a
comment opened by an author+date pair and not yet closed by ``Reply``, a pingback or a
marker: there, comment paragraphs and article paragraphs look alike, so only a fused
``Title?: ...`` line starts a new page. Each page becomes one Thread; later pages are named
``SOURCE#2``, ``SOURCE#3``... A page that ends in a plain comment and is followed by a page
with no fused title line cannot be split; its text stays in that comment.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import BinaryIO

from moderation.encoding import decode
from moderation.errors import ParseError
from moderation.parsers import Format
from moderation.parsers.clean import normalise, parse_date
from moderation.thread import Article, Block, Comment, Pingback, Thread, naive_time_warning

# ---------------------------------------------------------------------------------------------
# Dates.

_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")


def parse_comment_date(line: str) -> datetime | None:
    """The time a comment's date line states (``October 31, 2024 at 6:33 pm``), else None.

    Only a line that is nothing but a date with a clock time counts, so a paragraph that
    mentions a date, or an article byline date without a time, is never a comment header.
    """
    return parse_date(line) if _CLOCK.search(line) else None


# ---------------------------------------------------------------------------------------------
# The shape of a line.

_SMALL_WORDS = frozenset(
    "a an and as at but by for from in into nor of off on onto or out over per so than the to "
    "up via vs with yet".split()
)
_WORD = re.compile(r"[^\W\d_][\w'’.\-]*")
# A sentence ends inside the line: "pass? How", "war.” He". An upper-case letter before the
# stop ("U.S. Even") is an abbreviation, not a sentence end.
_SENTENCE_BREAK = re.compile(r"(?<=[a-z0-9%][.!?])[\"”’)\]]*\s+[\"“‘(\[]*[A-Z0-9]")
_SENTENCE_END = re.compile(r"[.!?…][\"”’)\]]*(?:\s|$)")
_CLOSERS = "\"”’)] "


def _final_char(line: str) -> str:
    stripped = line.rstrip(_CLOSERS)
    return stripped[-1:] if stripped else ""


def _is_title_case(text: str) -> bool:
    """Whether most words that title case capitalises are capitalised, the first one included."""
    words: list[str] = _WORD.findall(text)
    significant = [w for w in words if w.lower() not in _SMALL_WORDS]
    if not words or not significant or not words[0][0].isupper():
        return False
    return sum(w[0].isupper() for w in significant) >= 0.75 * len(significant)


def _heading_shaped(line: str) -> bool:
    """Short, no sentence inside, no closing sentence punctuation (see the module docstring)."""
    words = line.split()
    final = _final_char(line)
    if not words or final in ".,;:!…" or _SENTENCE_BREAK.search(line):
        return False
    if _is_title_case(line):
        return len(words) <= 15 and len(line) <= 120
    return len(words) <= 8 and line[0].isupper() and final != "?"


def _fused_title(line: str) -> tuple[str, str] | None:
    """``(title, first paragraph)`` from ``Title?: First sentence...``, else None."""
    question = line.find("?: ")
    if question >= 0:
        title, rest = line[: question + 1], line[question + 3 :]
    else:
        colon = line.find(": ")
        if colon < 0:
            return None
        title, rest = line[:colon], line[colon + 2 :]
    title, rest = title.strip(), rest.strip()
    if not 3 <= len(title.split()) <= 20 or not _is_title_case(title):
        return None
    if _SENTENCE_BREAK.search(title) or _final_char(title) in ".,;:!":
        return None
    # The rest must read as prose, so "Name: Subtitle In Title Case" stays one heading.
    if not rest or not (rest[0].isupper() or rest[0].isdigit() or rest[0] in "\"“‘'"):
        return None
    if len(rest.split()) < 8 or not _SENTENCE_END.search(rest):
        return None
    return title, rest


_ABOUT_AUTHOR = re.compile(r"about the author\s*:\s*(?P<name>.+)", re.IGNORECASE)
_PINGBACK = re.compile(r"(?:pingback|trackback)\s*:\s*(?P<rest>.+)", re.IGNORECASE)
_PINGBACK_SEPARATOR = re.compile(r"\s[–\-|»—]\s")
_SAYS = re.compile(r"\s+says:?$", re.IGNORECASE)
_MAX_AUTHOR_CHARS = 80


def _pingback(line: str) -> Pingback | None:
    match = _PINGBACK.fullmatch(line)
    if not match:
        return None
    rest = match["rest"].strip()
    # The last separator: the post title may contain " - " itself, the site name rarely does.
    separators = list(_PINGBACK_SEPARATOR.finditer(rest))
    if separators:
        title, site = rest[: separators[-1].start()].strip(), rest[separators[-1].end() :].strip()
        if title and site:
            return Pingback(title=title, site=site)
    return Pingback(title=rest)


@dataclass(frozen=True)
class _Marker:
    """A comment-section marker; ``count`` and ``title`` when it states them."""

    ends_article: bool
    count: int | None = None
    title: str | None = None


_COUNT_MARKER = re.compile(
    r"(?P<count>\d+|one|no)\s+(?:thoughts?|comments?|responses?|replies|reply)"
    r"(?:\s+(?:on|to)\s+[\"“‘'](?P<title>.+)[\"”’'])?",
    re.IGNORECASE,
)
_PLAIN_MARKERS = frozenset(
    {
        "leave a reply",
        "leave a reply cancel reply",
        "leave a comment",
        "leave a comment cancel reply",
        "comments are closed.",
        "comments are closed",
    }
)
# Fixed lines of the WordPress comment form and list: skipped once the article has ended.
_BOILERPLATE = frozenset(
    {
        "cancel reply",
        "reply",
        "reply ↓",
        "log in to reply",
        "comment",
        "comment *",
        "comments",
        "name",
        "name *",
        "email",
        "email *",
        "website",
        "post comment",
        "δ",
        "your email address will not be published.",
        "required fields are marked *",
        "your email address will not be published. required fields are marked *",
        "save my name, email, and website in this browser for the next time i comment.",
        "notify me of follow-up comments by email.",
        "notify me of new posts by email.",
        "you must be logged in to post a comment.",
        "older comments",
        "newer comments",
        "« older comments",
        "newer comments »",
    }
)
_REPLY_LINES = frozenset({"reply", "reply ↓", "log in to reply"})
_AWAITING_MODERATION = "your comment is awaiting moderation."


def _marker(line: str) -> _Marker | None:
    if line.lower() in _PLAIN_MARKERS:
        return _Marker(ends_article=True)
    match = _COUNT_MARKER.fullmatch(line)
    if not match:
        return None
    word = match["count"].lower()
    count = 1 if word == "one" else 0 if word == "no" else int(word)
    title = match["title"]
    return _Marker(ends_article=title is not None, count=count, title=title)


def _comment_author(lines: list[str], i: int) -> tuple[str, datetime] | None:
    """``(author, time)`` when ``lines[i]`` is an author line and ``lines[i + 1]`` a date line."""
    if i + 1 >= len(lines):
        return None
    when = parse_comment_date(lines[i + 1])
    if when is None:
        return None
    author = _SAYS.sub("", lines[i]).strip()
    if not author or len(author) > _MAX_AUTHOR_CHARS or parse_comment_date(author):
        return None
    return author, when


# ---------------------------------------------------------------------------------------------
# Pages.


class _State(Enum):
    ARTICLE = "article"  # collecting article lines
    COMMENT = "comment"  # inside a comment opened by an author+date pair
    ENDED = "ended"  # the article has ended and no comment is open


@dataclass
class _DraftComment:
    author: str
    posted_at: datetime
    paragraphs: list[str] = field(default_factory=list)
    pending: bool = False


@dataclass
class _Page:
    lines: list[str] = field(default_factory=list)
    title: str | None = None
    fused_title: bool = False
    marker_title: str | None = None
    marker_count: int | None = None
    author: str | None = None
    author_bio: str | None = None
    bio_missing: bool = False
    comments: list[_DraftComment] = field(default_factory=list)
    pingbacks: list[Pingback] = field(default_factory=list)


def _split_pages(lines: list[str]) -> list[_Page]:
    pages = [_Page()]
    state = _State.ARTICLE
    i = 0
    while i < len(lines):
        line, page = lines[i], pages[-1]
        taken = _discussion_line(lines, i, page, state)
        if taken:
            i, state = taken
            continue
        if state is _State.COMMENT:
            if line.lower() in _REPLY_LINES:
                state = _State.ENDED
            elif line.lower() == _AWAITING_MODERATION:
                page.comments[-1].pending = True
            elif _fused_title(line):
                pages.append(_Page())
                state = _State.ARTICLE
                continue
            else:
                page.comments[-1].paragraphs.append(line)
            i += 1
            continue
        if state is _State.ENDED:
            if line.lower() in _BOILERPLATE:
                i += 1
                continue
            pages.append(_Page())
            page, state = pages[-1], _State.ARTICLE
        i, ended = _article_line(lines, i, page)
        if ended:
            state = _State.ENDED
    return pages


def _discussion_line(
    lines: list[str], i: int, page: _Page, state: _State
) -> tuple[int, _State] | None:
    """Take a comment header, pingback or marker at ``lines[i]`` into the page.

    Returns the index of the next line to read and the new state; None for any other line.
    """
    line = lines[i]
    marker = _marker(line)
    if marker:
        if page.marker_count is None:
            page.marker_count = marker.count
        page.marker_title = page.marker_title or marker.title
        # A bare "3 Comments" is often a link beside the byline or a "2 Replies" toggle under
        # a comment, and a marker before any article text is page furniture: neither ends
        # the article or the comment.
        if marker.ends_article and (state is not _State.ARTICLE or page.lines):
            state = _State.ENDED
        return i + 1, state
    pingback = _pingback(line)
    if pingback:
        when = parse_comment_date(lines[i + 1]) if i + 1 < len(lines) else None
        if when is None:
            page.pingbacks.append(pingback)
            return i + 1, _State.ENDED
        page.pingbacks.append(Pingback(title=pingback.title, site=pingback.site, posted_at=when))
        return i + 2, _State.ENDED
    header = _comment_author(lines, i)
    if header:
        page.comments.append(_DraftComment(*header))
        return i + 2, _State.COMMENT
    return None


def _article_line(lines: list[str], i: int, page: _Page) -> tuple[int, bool]:
    """Take ``lines[i]`` into the page's article.

    Returns the index of the next line to read and whether the article has ended (at the
    author bio, the last part of a page's article).
    """
    line = lines[i]
    about = _ABOUT_AUTHOR.fullmatch(line)
    if about:
        page.author = about["name"].strip()
        following = lines[i + 1] if i + 1 < len(lines) else None
        if following is None or _pingback(following) or _marker(following) or _comment_author(
            lines, i + 1
        ):
            page.bio_missing = True
            return i + 1, True
        page.author_bio = following
        return i + 2, True
    fused = _fused_title(line) if not page.lines and page.title is None else None
    if fused:
        page.title, page.fused_title = fused[0], True
        page.lines.append(fused[1])
    else:
        page.lines.append(line)
    return i + 1, False


def _blocks(lines: list[str]) -> list[Block]:
    """Headings are heading-shaped lines followed by a line that is not (a paragraph)."""
    shaped = [_heading_shaped(line) for line in lines]
    return [
        Block("heading" if shaped[k] and k + 1 < len(lines) and not shaped[k + 1] else "paragraph",
              line)
        for k, line in enumerate(lines)
    ]


def _thread(page: _Page, source: str, warnings: list[str]) -> Thread:
    blocks = _blocks(page.lines)
    title = page.title
    if title is None and not page.fused_title and blocks and blocks[0].kind == "heading":
        title, blocks = blocks[0].text, blocks[1:]
    if title is None:
        title = page.marker_title
    article = None
    if title or blocks or page.author or page.author_bio:
        article = Article(
            title=title, author=page.author, blocks=tuple(blocks), author_bio=page.author_bio
        )
    comments = tuple(
        Comment(
            id=f"c{n}",
            text="\n\n".join(draft.paragraphs),
            author=draft.author,
            posted_at=draft.posted_at,
            status="pending" if draft.pending else "approved",
        )
        for n, draft in enumerate(page.comments, start=1)
    )
    return Thread(
        source=source,
        format="text",
        article=article,
        comments=comments,
        pingbacks=tuple(page.pingbacks),
        warnings=tuple(warnings + _page_warnings(page, comments)),
    )


def _page_warnings(page: _Page, comments: tuple[Comment, ...]) -> list[str]:
    warnings: list[str] = []
    naive = naive_time_warning(
        *(c.posted_at for c in comments), *(p.posted_at for p in page.pingbacks)
    )
    if naive:
        warnings.append(naive)
    if page.bio_missing:
        warnings.append("an 'About the Author' line has no bio paragraph after it")
    empty = sum(1 for c in comments if not c.text)
    if empty:
        warnings.append(f"{empty} comment(s) have no text")
    if len(comments) > 1:
        warnings.append(
            f"copied text does not show which comment replies to which: {len(comments)} "
            "comments kept flat (parent_id unset)"
        )
    found = len(comments) + len(page.pingbacks)
    if page.marker_count is not None and found < page.marker_count:
        warnings.append(
            f"the page says {page.marker_count} comment(s) but the text holds {found} "
            f"comment(s) and pingback(s): {page.marker_count - found} not in the copy "
            "(collapsed, paged or not copied)"
        )
    return warnings


# ---------------------------------------------------------------------------------------------
# The format.

_MIN_LINES = 3
_MAX_BAD_SHARE = 0.01  # replacement or control characters tolerated in "text"
_TABULAR_SHARE = 0.8
_SNIFF_RECORDS = 50


def sniff(head: bytes) -> bool:
    """Readable text of a few lines that is not markup, JSON or a delimited table."""
    text = _sniff_decode(head)
    if text is None:
        return False
    stripped = text.lstrip()
    if not stripped or stripped[0] in "<{[":
        return False
    lines = sum(1 for line in text.splitlines() if line.strip())
    return lines >= _MIN_LINES and not _looks_tabular(text)


def _sniff_decode(head: bytes) -> str | None:
    text = decode(head).text
    if "\x00" in text:  # NUL is no character of copied text: a binary file
        return None
    bad = sum(1 for ch in text if ch == "\ufffd" or (ch < " " and ch not in "\t\n\r\f\v"))
    # The head may be cut inside a multi-byte character: a few bad characters are allowed.
    return text if bad <= max(2, _MAX_BAD_SHARE * len(text)) else None


def _looks_tabular(text: str) -> bool:
    """Whether most records split into the same number (>1) of fields on one delimiter.

    Records, not lines: quoted CSV fields often hold line breaks. A last record with no line
    break after it is left out: the sniffed head may end inside it.
    """
    for delimiter in ",;\t|":
        try:
            records = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not text.endswith(("\n", "\r")):
            records = records[:-1]
        if len(records) < _MIN_LINES:
            continue
        fields, count = Counter(map(len, records[:_SNIFF_RECORDS])).most_common(1)[0]
        if fields > 1 and count >= _TABULAR_SHARE * min(len(records), _SNIFF_RECORDS):
            return True
    return False


def parse(stream: BinaryIO, source: str) -> Iterator[Thread]:
    """One thread per page copied into the file (see the module docstring for the rules)."""
    data = stream.read()
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise ParseError(source, "the input is empty: nothing to parse")
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParseError(
            source,
            "contains NUL bytes, so it is a binary file, not text copied from a page; "
            "pass --input-format with the file's real format",
        )
    decoded = decode(data)
    text, decode_warnings = decoded.text, list(decoded.warnings)
    lines = [line for line in normalise(text).split("\n") if line]
    if not lines:
        raise ParseError(source, "the input holds only whitespace: nothing to parse")
    for number, page in enumerate(_split_pages(lines), start=1):
        # Decoding problems belong to the file: reported once, with its first page.
        warnings = decode_warnings if number == 1 else []
        yield _thread(page, source if number == 1 else f"{source}#{number}", list(warnings))


FORMAT = Format(
    name="text",
    description="plain text copied from a news page: article, author bio, comments, pingbacks",
    sniff=sniff,
    parse=parse,
)
