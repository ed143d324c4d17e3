"""Turning the messy text of real exports into clean text: shared by every parser.

Comment bodies arrive as HTML fragments (WordPress, Disqus, Reddit), sometimes entity-encoded
twice (``&amp;#8217;``), with hard line wraps and non-breaking spaces. Clean text keeps
paragraph breaks as blank lines and nothing else of the markup.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

# Tags that end a paragraph: their text is separated from what follows by a blank line.
_BLOCK_TAGS = frozenset(
    "p div blockquote li ol ul h1 h2 h3 h4 h5 h6 pre table tr section article header footer "
    "figure figcaption dl dt dd hr".split()
)
# Tags whose content is never text a reader sees.
_SKIP_TAGS = frozenset("script style template noscript head".split())

_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_ENTITY = re.compile(r"&(#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>")
_HUGE_REF = re.compile(r"&#0*[1-9][0-9]{7,};?")


def unescape(text: str) -> str:
    """Decode HTML entities, including doubly encoded ones such as ``&amp;#8217;``."""
    for _ in range(3):  # real exports encode at most twice; a third pass is a safety margin
        if not _ENTITY.search(text):
            break
        text = unescape_once(text)
    return text


def unescape_once(text: str) -> str:
    """``html.unescape``, safe for decimal references of more than 4,300 digits (``int()``
    refuses them with ValueError). Any reference past U+10FFFF is U+FFFD, as it is there."""
    return html.unescape(out_of_range_refs(text))


def out_of_range_refs(text: str) -> str:
    """Decimal character references of eight digits or more (all past U+10FFFF) as U+FFFD."""
    return _HUGE_REF.sub("\ufffd", text) if "&#" in text else text


def normalise(text: str) -> str:
    """Normalise whitespace: single spaces inside lines, paragraphs separated by one blank line."""
    text = _ZERO_WIDTH.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [_SPACES.sub(" ", line).strip() for line in block.split("\n")]
        joined = "\n".join(line for line in lines if line)
        if joined:
            paragraphs.append(joined)
    return "\n\n".join(paragraphs)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    def parse_html_declaration(self, i: int) -> int:
        # The standard library reads "<![" as an SGML marked section and raises AssertionError
        # on any keyword it does not know ("<![foo"). Browsers read "<![...>" outside SVG and
        # MathML as a bogus comment, and so does this.
        if self.rawdata.startswith("<![", i):
            return self.parse_bogus_comment(i)
        return super().parse_html_declaration(i)


def looks_like_html(text: str) -> bool:
    return bool(_TAG.search(text))


def html_to_text(fragment: str) -> str:
    """Clean text from an HTML fragment (or from plain text, which passes through normalised).

    Entity-escaped markup (``&lt;p&gt;Hi&lt;/p&gt;``, as in some Disqus exports) is unescaped
    first, so it is stripped like real markup.
    """
    if not fragment:
        return ""
    fragment = out_of_range_refs(fragment)  # the parser unescapes with html.unescape too
    if not looks_like_html(fragment) and looks_like_html(unescape_once(fragment)):
        fragment = unescape_once(fragment)
    if looks_like_html(fragment):
        parser = _TextExtractor()
        parser.feed(fragment)
        parser.close()
        # Source line breaks inside HTML are layout, not text: a paragraph is one line.
        text = "".join(
            part if part.startswith("\n") and not part.strip() else re.sub(r"\s*\n\s*", " ", part)
            for part in parser.parts
        )
    else:
        text = fragment
    return normalise(unescape(text))


def url_host(url: str) -> str | None:
    """The host of a URL; None when there is none or the URL is broken (``http://[bad``,
    which urllib refuses with ValueError)."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_TIME = (r"(?:\s*(?:at|@|,|-|\u2013)?\s*(?P<hour>\d{1,2})[:.](?P<minute>\d{2})"
         r"(?::(?P<second>\d{2}))?\s*(?P<ampm>[ap])?\.?(?:m\.?)?)?")
_DATE_PATTERNS = tuple(
    re.compile(_WEEKDAY + date + _TIME, re.IGNORECASE)
    for date in (
        rf"(?P<month>[a-z]{{3,9}})\.?\s+{_DAY},?\s+(?P<year>\d{{4}})",  # March 3rd, 2009
        rf"{_DAY}\.?\s+(?:of\s+)?(?P<month>[a-z]{{3,9}})\.?,?\s+(?P<year>\d{{4}})",  # 3 March 2009
        r"(?P<year>\d{4})[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})",  # 2009/03/03
    )
)


def parse_date(text: str, *, require_time: bool = False) -> datetime | None:
    """A time from ISO 8601 or an English date as themes print it ("March 3rd, 2009 at 10:12 am").

    The whole text must be the date. ISO times with an offset are zone-aware; printed dates
    carry no zone, so they are naive. None when the text is not a date this understands (other
    languages, relative dates), or has no time of day and ``require_time`` is set.
    """
    text = normalise(text).replace("\n", " ")
    try:
        # Python 3.10's fromisoformat does not read the "Z" suffix for UTC.
        parsed = datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", text))
        return None if require_time and len(text) <= 10 else parsed
    except ValueError:
        pass
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match and not (require_time and match["hour"] is None):
            return _date_from_match(match)
    return None


def _date_from_match(match: re.Match[str]) -> datetime | None:
    month_text = match["month"].lower()
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text)
    hour = int(match["hour"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"].lower() == "p" else 0)
    if month is None:
        return None
    try:
        return datetime(
            int(match["year"]), month, int(match["day"]), hour,
            int(match["minute"] or 0), int(match["second"] or 0),
        )
    except ValueError:  # a day or hour out of range: not a real date
        return None


# Separators themes and SEO plugins put between a post title and the site name ("Post – Site").
_SITE_SEPARATORS = tuple(f" {sep} " for sep in "\u2013 \u2014 - | \u00bb \u00ab > \u00b7 \u2022 ~".split())


def split_site(label: str) -> tuple[str | None, str | None]:
    """``(post title, site name)`` from a linking page's title such as "Post title – Site".

    The site follows the last separator (a post title may contain " - " itself, a site name
    rarely does), except in "Site » Blog Archive » Post", the title of WordPress's old default
    theme, where it comes first. ``(label, None)`` when there is no separator.
    """
    label = normalise(label).replace("\n", " ")
    parts = label.split(" \u00bb ")
    if len(parts) >= 3 and any(p.lower() == "blog archive" for p in parts[1:-1]):
        return parts[-1] or None, parts[0] or None
    at, separator = max((label.rfind(sep), sep) for sep in _SITE_SEPARATORS)
    if at <= 0:
        return label or None, None
    title, site = label[:at].strip(), label[at + len(separator):].strip()
    return (title, site) if title and site else (label, None)
