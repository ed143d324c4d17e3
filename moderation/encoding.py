"""Bytes to text by one set of rules, for every input the package reads.

The encoding of an input is, in this order:

1. the one its byte-order mark names (UTF-8, UTF-16 or UTF-32); the mark is not text;
2. UTF-16 or UTF-32 told by the NUL bytes that ASCII characters leave in the same place of
   every code unit (:func:`wide_encoding`), for exports written without a mark;
3. the charset the document declares, where its format has a place for one: the XML
   declaration (``<?xml ... encoding="..."?>``) or an HTML ``<meta charset>`` (also inside
   ``http-equiv`` content). HTML labels are read as browsers read them (WHATWG Encoding):
   latin-1 and ASCII mean windows-1252, whose 0x93/0x94 are curly quotes. A declaration of
   UTF-16 or UTF-32 that is readable as ASCII bytes is wrong about itself and means UTF-8.
   An unknown name, or one that is not a plain character set (``zlib``, ``unicode_escape``,
   ``utf-7``: Python can "decode" with those too), is reported and the input read as UTF-8;
4. UTF-8.

Bytes the encoding cannot decode become U+FFFD, one per invalid sequence (Python's
``"replace"``, the Unicode Standard's "maximal subpart" practice), and are counted: one warning
names the encoding, the offset of the first bad byte and how many bytes were replaced. No
input is refused for its bytes alone.

:func:`decode` reads bytes held whole; :class:`StreamDecoder` reads an input chunk by chunk by
the same rules (XML exports and comment tables can be hundreds of megabytes).
"""

from __future__ import annotations

import codecs
import re
import threading
from dataclasses import dataclass
from typing import Literal

Markup = Literal["xml", "html"]

SNIFF_BYTES = 4096  # where a byte-order mark, NUL pattern or declaration is looked for
UTF8_BOM = b"\xef\xbb\xbf"
_BOMS = ((UTF8_BOM, "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_DECLARED = {
    "xml": re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']"""),
    "html": re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.IGNORECASE),
}
# Browsers read these HTML labels as windows-1252 (WHATWG Encoding); so must we, for curly quotes.
_AS_CP1252 = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii"})
# Codecs that are not a character set: they unescape or transform the bytes (and some make lone
# surrogates, which cannot be written back out as UTF-8).
_NOT_CHARSETS = frozenset({"utf-7", "unicode-escape", "raw-unicode-escape", "punycode", "idna",
                           "undefined", "unicode-internal", "mbcs", "oem"})


@dataclass(frozen=True)
class Encoding:
    """How an input is decoded: a Python codec, the length of the byte-order mark to skip, and
    a warning when a declared charset could not be used."""

    codec: str
    bom: int = 0
    warning: str | None = None


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    replaced: int  # input bytes replaced with U+FFFD
    warnings: tuple[str, ...]


UTF8 = Encoding("utf-8")


def wide_encoding(head: bytes) -> tuple[str, int] | None:
    """``(codec, BOM length)`` when the bytes are UTF-16 or UTF-32, else None.

    A byte-order mark says so; without one, the NUL bytes that ASCII characters (markup, JSON
    punctuation, English text) leave in the same place of every code unit do. Text that is
    mostly outside ASCII without a BOM is not recognised (it is read as UTF-8, with warnings).
    """
    for bom, codec in _BOMS[1:]:
        if head.startswith(bom):
            return codec, len(bom)
    sample = head[:SNIFF_BYTES]
    for width, zeros, codec in ((4, (1, 2, 3), "utf-32-le"), (4, (0, 1, 2), "utf-32-be"),
                                (2, (1,), "utf-16-le"), (2, (0,), "utf-16-be")):
        units = len(sample) // width
        if units < 4:
            continue
        column = [sample[k:units * width:width].count(0) for k in range(width)]
        if all(column[k] >= 0.7 * units for k in zeros) and \
                sum(column[k] for k in range(width) if k not in zeros) <= 0.05 * units:
            return codec, 0
    return None


def declared_charset(head: bytes, markup: Markup) -> str | None:
    """The charset label an XML declaration or HTML meta tag in ``head`` names, lower case."""
    match = _DECLARED[markup].search(head[:SNIFF_BYTES])
    return match.group(1).decode("ascii").lower() if match else None


def detect(head: bytes, markup: Markup | None = None) -> Encoding:
    """The encoding of an input from its first bytes (see the module docstring for the rules)."""
    if head.startswith(UTF8_BOM):
        return Encoding("utf-8", len(UTF8_BOM))
    wide = wide_encoding(head)
    if wide is not None:
        return Encoding(*wide)
    label = declared_charset(head, markup) if markup else None
    if label is None:
        return UTF8
    if markup == "html" and label in _AS_CP1252:
        label = "cp1252"
    try:
        info = codecs.lookup(label)
    except LookupError:
        info = None
    if info is None or info.name in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        return Encoding("utf-8", 0, f"unknown charset {label!r} declared; read as UTF-8")
    # A declaration readable as ASCII bytes is not in UTF-16 or UTF-32 (those put NUL bytes
    # between its letters): the file says so wrongly, and is read as UTF-8.
    if info.name.startswith(("utf-16", "utf-32")) or info.name == "utf-8-sig":
        return UTF8
    return Encoding(info.name)


def decode(data: bytes, markup: Markup | None = None, *, encoding: Encoding | None = None) -> Decoded:
    """Text of a whole input: encoding detected by the rules above (or as given), byte-order
    mark removed, undecodable bytes replaced with U+FFFD and counted in a warning."""
    decoder = StreamDecoder(encoding or detect(data[:SNIFF_BYTES], markup))
    text = decoder.decode(data, final=True)
    return Decoded(text, decoder.encoding.codec, decoder.replaced, tuple(decoder.warnings()))


class _Tally(threading.local):
    """The decoder whose bad bytes the error handler is counting, per thread."""

    current: StreamDecoder | None = None


_TALLY = _Tally()


def _replace_and_count(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError) or _TALLY.current is None:
        raise exc
    _TALLY.current._bad(exc.start, exc.end)  # noqa: SLF001 - the decoder's own codec callback
    return "\ufffd", exc.end


_ERRORS = "moderation.replace-and-count"
codecs.register_error(_ERRORS, _replace_and_count)


class StreamDecoder:
    """Decodes an input chunk by chunk by the rules of :func:`decode`: feed it the raw bytes
    from the start (byte-order mark included); the text, counts and offsets are those of
    decoding the whole input at once."""

    def __init__(self, encoding: Encoding) -> None:
        self.encoding = encoding
        self._decoder = codecs.getincrementaldecoder(encoding.codec)(errors=_ERRORS)
        self._to_skip = encoding.bom
        self._consumed = 0  # input bytes handed to the codec so far (after the mark)
        self._call_base = 0
        self.replaced = 0
        self.first_bad: int | None = None  # offset of the first bad byte in the input

    def decode(self, data: bytes, final: bool = False) -> str:
        if self._to_skip:
            skipped = data[: self._to_skip]
            self._to_skip -= len(skipped)
            data = data[len(skipped):]
        # The codec reports errors at offsets into what it still buffered plus ``data``.
        buffered = self._decoder.getstate()[0]
        self._call_base = self.encoding.bom + self._consumed - len(buffered)
        _TALLY.current = self
        try:
            text = self._decoder.decode(data, final)
        finally:
            _TALLY.current = None
        self._consumed += len(data)
        return text

    def _bad(self, start: int, end: int) -> None:
        if self.first_bad is None:
            self.first_bad = self._call_base + start
        self.replaced += end - start

    def warnings(self) -> list[str]:
        """The declared-charset warning and one counted warning for replaced bytes."""
        found = [self.encoding.warning] if self.encoding.warning else []
        if self.replaced:
            found.append(f"invalid {self.encoding.codec.upper()} at byte {self.first_bad}: "
                         f"{self.replaced} byte(s) replaced with U+FFFD")
        return found
