"""WordPress eXtended RSS (WXR) exports, versions 1.0 to 1.2: one thread per post or page.

A WXR file is RSS with a ``wp`` namespace (``http://wordpress.org/export/1.2/``, or
``https://`` in WordPress.com exports). Each ``<item>`` is a post, page, attachment, menu item
and so on; posts and pages become threads (the article from ``<title>``, ``<link>``,
``<dc:creator>``, ``<wp:post_date_gmt>`` and ``<content:encoded>``), and their ``<wp:comment>``
elements become comments or, for ``comment_type`` pingback/trackback, pingbacks.

The file is read as a stream (see :mod:`moderation.parsers.xmlsafe`), one item at a time.
Problems that belong to the whole file (junk before the XML, a cut-off end) are reported on the
thread being read when they were found: the first for junk, the last for a cut-off end.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from lxml import etree

from moderation.errors import ParseError
from moderation.parsers import Format
from moderation.parsers.clean import html_to_text, looks_like_html, split_site, url_host
from moderation.parsers.xmlsafe import (
    element_text,
    head_text,
    iter_elements,
    local_name,
    namespace,
    root_name,
    tag_name,
)
from moderation.thread import (
    Article,
    Block,
    Comment,
    Pingback,
    Status,
    Thread,
    naive_time_warning,
)

_WP_NAMESPACE = re.compile(r"^https?://wordpress\.org/export/1\.\d+/$")
_EXCERPT_NAMESPACE = re.compile(r"^https?://wordpress\.org/export/1\.\d+/excerpt/$")
_WP_IN_HEAD = re.compile(r"""xmlns:\w+\s*=\s*["']https?://wordpress\.org/export/1\.\d+/["']""")
_PREFIXES = {
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
}
_THREAD_TYPES = frozenset({"post", "page"})
_PING_TYPES = frozenset({"pingback", "trackback"})
_COMMENT_TYPES = frozenset({"", "comment"})
_STATUSES: dict[str, Status] = {
    "1": "approved",
    "0": "pending",
    "spam": "spam",
    "trash": "trash",
    "post-trashed": "trash",  # the comment went to the trash with its post
}
_NO_DATE = "0000-00-00 00:00:00"  # what WordPress writes for "never" (drafts' GMT date)

# WordPress stores post and comment bodies as HTML whose paragraphs are blank lines and whose
# line breaks are newlines; wpautop() adds the <p> and <br> only when it displays them.
_TAG_OR_TEXT = re.compile(r"(<[^<>]*>)")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)  # Gutenberg block delimiters live here
_SHORTCODE = re.compile(
    r"\[/?(?:caption|wp_caption|gallery|embed|video|audio|playlist)\b[^\]]*\]", re.IGNORECASE
)
_HEADING = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1\s*>", re.IGNORECASE | re.DOTALL)


def sniff(head: bytes) -> bool:
    return root_name(head) == "rss" and bool(_WP_IN_HEAD.search(head_text(head)))


def parse(stream: BinaryIO, source: str) -> Iterator[Thread]:
    file_warnings: list[str] = []  # filled by the reader as it finds problems
    authors: dict[str, str] = {}
    skipped: Counter[str] = Counter()  # comments on items that are not posts or pages
    last: Thread | None = None
    for el in iter_elements(
        stream, source, ("item", "author"), file_warnings, root="rss", keep_partial=True
    ):
        fields = _fields(el)
        if local_name(tag_name(el)) == "author":
            _add_author(el, fields, authors)
            continue
        post_type = _text(fields, "wp:post_type") or "post"  # WXR 1.0 items may lack it
        if post_type not in _THREAD_TYPES:
            count = sum(1 for child in el if _key(child) == "wp:comment")
            if count:
                skipped[post_type] += count
            continue
        thread = _thread(el, fields, source, authors)
        thread = _with_warnings(thread, file_warnings, before=True)
        file_warnings.clear()
        if last is not None:
            yield last
        last = thread
    file_warnings.extend(_skipped_warning(skipped))
    if last is None:
        if file_warnings:
            raise ParseError(source, "no post or page could be read: " + "; ".join(file_warnings))
        return
    yield _with_warnings(last, file_warnings, before=False)


FORMAT = Format(
    name="wxr",
    description="a WordPress export (WXR 1.0-1.2): posts and pages with their comments",
    sniff=sniff,
    parse=parse,
)


# --- WordPress text -----------------------------------------------------------------------


def wordpress_text(raw: str) -> str:
    """Clean text of a WordPress post or comment body (blank lines are paragraph breaks)."""
    raw = _SHORTCODE.sub("", _HTML_COMMENT.sub("", raw))
    return html_to_text(_autop(raw) if looks_like_html(raw) else raw)


def wordpress_blocks(raw: str) -> tuple[Block, ...]:
    """Headings and paragraphs of a WordPress post body, in reading order."""
    raw = _SHORTCODE.sub("", _HTML_COMMENT.sub("", raw))
    blocks: list[Block] = []
    at = 0
    for heading in _HEADING.finditer(raw):
        blocks += _paragraphs(raw[at : heading.start()])
        text = html_to_text(heading.group(2)).replace("\n", " ")
        if text:
            blocks.append(Block(kind="heading", text=text))
        at = heading.end()
    blocks += _paragraphs(raw[at:])
    return tuple(blocks)


def _paragraphs(raw: str) -> list[Block]:
    text = wordpress_text(raw)
    return [Block(kind="paragraph", text=p) for p in text.split("\n\n") if p]


def _autop(fragment: str) -> str:
    """Mark WordPress's implicit paragraphs and line breaks in HTML (outside tags only)."""
    parts = _TAG_OR_TEXT.split(fragment.replace("\r\n", "\n"))
    for i in range(0, len(parts), 2):  # even indexes are text, odd ones tags
        parts[i] = _BLANK_LINE.sub("<p>", parts[i]).replace("\n", "<br>")
    return "".join(parts)


# --- items --------------------------------------------------------------------------------


def _key(el: etree._Element) -> str:
    """``wp:comment_id``-style name of a child, whatever WXR version's namespace it uses."""
    return _tag_key(el.tag) if isinstance(el.tag, str) else ""


@functools.lru_cache(maxsize=4096)
def _tag_key(tag: str) -> str:
    uri = namespace(tag)
    if not uri:
        return tag
    if _WP_NAMESPACE.match(uri):
        prefix = "wp"
    elif _EXCERPT_NAMESPACE.match(uri):
        prefix = "excerpt"
    else:
        prefix = _PREFIXES.get(uri, uri)
    return f"{prefix}:{local_name(tag)}"


def _fields(el: etree._Element) -> dict[str, etree._Element]:
    """An element's children by name (the first of each)."""
    fields: dict[str, etree._Element] = {}
    for child in el:
        fields.setdefault(_key(child), child)
    return fields


def _text(fields: dict[str, etree._Element], key: str) -> str:
    el = fields.get(key)
    return "" if el is None else element_text(el).strip()


def _line(raw: str) -> str | None:
    """One line of clean text (a title, a name), or None when empty."""
    return html_to_text(raw).replace("\n", " ") or None


def _add_author(el: etree._Element, fields: dict[str, etree._Element],
                authors: dict[str, str]) -> None:
    if not _WP_NAMESPACE.match(namespace(tag_name(el))):
        return
    login, name = _text(fields, "wp:author_login"), _line(_text(fields, "wp:author_display_name"))
    if login and name:
        authors[login] = name


def _thread(el: etree._Element, fields: dict[str, etree._Element], source: str,
            authors: dict[str, str]) -> Thread:
    notes: Counter[str] = Counter()
    creator = _line(_text(fields, "dc:creator"))
    article = Article(
        title=_line(_text(fields, "title")),
        url=_text(fields, "link") or None,
        author=authors.get(creator, creator) if creator else None,
        published_at=_time(_text(fields, "wp:post_date_gmt"), _text(fields, "wp:post_date"),
                           notes),
        blocks=wordpress_blocks(_text(fields, "content:encoded")),
    )
    comments: list[Comment] = []
    pingbacks: list[Pingback] = []
    examples: dict[str, str] = {}
    for child in el:
        if _key(child) == "wp:comment":
            _read_comment(_fields(child), len(comments) + 1, comments, pingbacks, notes, examples)
    ids = {c.id for c in comments}
    notes["missing parent"] = sum(1 for c in comments if c.parent_id and c.parent_id not in ids)
    warnings = _notes_text(notes, examples)
    naive = naive_time_warning(
        article.published_at, *(c.posted_at for c in comments), *(p.posted_at for p in pingbacks)
    )
    if naive:
        warnings.append(naive)
    return Thread(source=source, format="wxr", article=article, comments=tuple(comments),
                  pingbacks=tuple(pingbacks), warnings=tuple(warnings))


def _time(gmt: str, local: str, notes: Counter[str]) -> datetime | None:
    """The GMT time as UTC when WordPress recorded one, else the site's local time (naive)."""
    for value, zone in ((gmt, UTC), (local, None)):
        if not value or value == _NO_DATE:
            continue
        try:
            # WordPress writes "YYYY-MM-DD HH:MM:SS", which fromisoformat reads (fast).
            parsed = datetime.fromisoformat(value)
        except ValueError:
            notes["bad date"] += 1
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    return None


# --- comments -----------------------------------------------------------------------------


def _read_comment(fields: dict[str, etree._Element], position: int, comments: list[Comment],
                  pingbacks: list[Pingback], notes: Counter[str],
                  examples: dict[str, str]) -> None:
    kind = _text(fields, "wp:comment_type").lower()
    approved = _text(fields, "wp:comment_approved")
    status = _STATUSES.get(approved.lower())
    posted_at = _time(_text(fields, "wp:comment_date_gmt"), _text(fields, "wp:comment_date"),
                      notes)
    author = _line(_text(fields, "wp:comment_author"))
    content = _text(fields, "wp:comment_content")
    if kind in _PING_TYPES:
        if status == "approved":
            pingbacks.append(_pingback(author, _text(fields, "wp:comment_author_url"),
                                       posted_at, content))
        else:  # spam and trashed pings are most of WordPress's spam; a Pingback has no status
            notes["hidden ping"] += 1
        return
    if kind not in _COMMENT_TYPES:
        notes["other type"] += 1
        examples.setdefault("other type", kind)
    if status is None:
        notes["unknown status"] += 1
        examples.setdefault("unknown status", approved)
        status = "pending"
    comment_id = _text(fields, "wp:comment_id")
    if not comment_id:
        notes["no id"] += 1
        comment_id = f"#{position}"
    parent = _text(fields, "wp:comment_parent")
    comments.append(Comment(
        id=comment_id,
        text=wordpress_text(content),
        author=author,
        posted_at=posted_at,
        parent_id=None if parent in ("", "0") else parent,
        status=status,
        author_url=_text(fields, "wp:comment_author_url") or None,
    ))


def _pingback(author: str | None, url: str, posted_at: datetime | None,
              content: str) -> Pingback:
    # A ping's "author" is the linking page's title, usually "Post title « Site".
    title, site = split_site(author) if author else (None, None)
    return Pingback(
        title=title,
        site=site or url_host(url) or None,
        url=url or None,
        posted_at=posted_at,
        excerpt=wordpress_text(content) or None,
    )


def _notes_text(notes: Counter[str], examples: dict[str, str]) -> list[str]:
    messages = {
        "missing parent": "{} comment(s) reply to a comment that is not in this post; "
                          "kept, with their parent ids",
        "hidden ping": "{} pingback(s)/trackback(s) marked spam, trash or unapproved left out "
                       "(pingbacks carry no status)",
        "other type": "{} comment(s) of another type (such as {!r}) read as comments",
        "unknown status": "{} comment(s) with an unknown approval status (such as {!r}) "
                          "kept as pending",
        "no id": "{} comment(s) without a wp:comment_id numbered by position ('#N')",
        "bad date": "{} unreadable date(s) left out",
    }
    return [
        template.format(notes[key], examples.get(key))
        for key, template in messages.items()
        if notes[key]
    ]


def _skipped_warning(skipped: Counter[str]) -> list[str]:
    if not skipped:
        return []
    kinds = ", ".join(f"{kind} ({count})" for kind, count in sorted(skipped.items()))
    return [f"{sum(skipped.values())} comment(s) on items that are not posts or pages "
            f"left out: {kinds}"]


def _with_warnings(thread: Thread, extra: list[str], *, before: bool) -> Thread:
    if not extra:
        return thread
    warnings = (*extra, *thread.warnings) if before else (*thread.warnings, *extra)
    return dataclasses.replace(thread, warnings=tuple(warnings))
