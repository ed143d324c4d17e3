"""Turning the messy text of real exports into clean text: shared by every parser.

Comment bodies arrive as HTML fragments (WordPress, Disqus, Reddit), sometimes entity-encoded
twice (``&amp;#8217;``), with hard line wraps and non-breaking spaces. Clean text keeps
paragraph breaks as blank lines and nothing else of the markup.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

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


def unescape(text: str) -> str:
    """Decode HTML entities, including doubly encoded ones such as ``&amp;#8217;``."""
    for _ in range(3):  # real exports encode at most twice; a third pass is a safety margin
        if not _ENTITY.search(text):
            break
        text = html.unescape(text)
    return text


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


def looks_like_html(text: str) -> bool:
    return bool(_TAG.search(text))


def html_to_text(fragment: str) -> str:
    """Clean text from an HTML fragment (or from plain text, which passes through normalised).

    Entity-escaped markup (``&lt;p&gt;Hi&lt;/p&gt;``, as in some Disqus exports) is unescaped
    first, so it is stripped like real markup.
    """
    if not fragment:
        return ""
    if not looks_like_html(fragment) and looks_like_html(html.unescape(fragment)):
        fragment = html.unescape(fragment)
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


def decode_bytes(data: bytes) -> tuple[str, list[str]]:
    """Decode input bytes as UTF-8 (BOM removed). Invalid bytes become U+FFFD with a warning."""
    warnings: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), warnings
    try:
        return data.decode("utf-8"), warnings
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        warnings.append(
            f"invalid UTF-8 at byte {exc.start}: {bad} character(s) replaced with U+FFFD"
        )
        return text, warnings
