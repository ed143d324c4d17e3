"""The one decoder: byte-order marks, UTF-16/32, declared charsets, counted replacements."""

from __future__ import annotations

import io

import pytest

from moderation.encoding import StreamDecoder, decode, detect
from moderation.parsers.xmlsafe import iter_elements

TEXT = "Harbour caf\u00e9 \u201cquiet\u201d \u017c\u00f3\u0142w"


@pytest.mark.parametrize(("codec", "bom"), [
    ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
    ("utf-32-le", b"\xff\xfe\x00\x00"), ("utf-32-be", b"\x00\x00\xfe\xff"),
])
def test_a_byte_order_mark_names_the_encoding_and_is_not_text(codec: str, bom: bytes) -> None:
    decoded = decode(bom + TEXT.encode(codec))
    assert (decoded.text, decoded.encoding, decoded.warnings) == (TEXT, codec, ())


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_wide_text_without_a_mark_is_told_by_its_nul_bytes(codec: str) -> None:
    assert decode(TEXT.encode(codec)).text == TEXT


def test_declared_charsets_by_format() -> None:
    xml = '<?xml version="1.0" encoding="windows-1252"?><a>\u201cq\u201d</a>'
    assert decode(xml.encode("cp1252"), "xml").text == xml
    # HTML labels as browsers read them: latin-1 means windows-1252 (0x93 is a curly quote)
    page = b"<meta charset='iso-8859-1'><p>\x93hot\x94 caf\xe9</p>"
    assert decode(page, "html").text == "<meta charset='iso-8859-1'><p>\u201chot\u201d caf\u00e9</p>"
    # XML takes the label as it is: ISO-8859-1 is latin-1 there
    assert decode(b'<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>', "xml").encoding == "iso8859-1"
    # a charset declared without a format to look for it in is not looked for
    assert decode(page).encoding == "utf-8"
    # a byte-order mark outranks a declaration
    assert decode(b"\xef\xbb\xbf<meta charset=latin1>\xc3\xa9", "html").text.endswith("\u00e9")


@pytest.mark.parametrize("label", ["UTF-16", "utf-32", "utf-8-sig"])
def test_a_wide_charset_declared_in_ascii_bytes_means_utf8(label: str) -> None:
    data = f'<?xml version="1.0" encoding="{label}"?><a>\u00e9</a>'.encode()
    decoded = decode(data, "xml")
    assert decoded.encoding == "utf-8" and decoded.text.endswith("<a>\u00e9</a>")


@pytest.mark.parametrize("label", ["klingon-8", "zlib", "base64", "unicode_escape", "utf-7", "rot13"])
def test_unknown_and_non_charset_labels_are_read_as_utf8_with_a_warning(label: str) -> None:
    data = f'<?xml version="1.0" encoding="{label}"?><a>x\\u0041+AGEA-</a>'.encode()
    decoded = decode(data, "xml")
    assert decoded.text == data.decode("utf-8")  # nothing unescaped, decompressed or shifted
    assert decoded.warnings == (f"unknown charset {label.lower()!r} declared; read as UTF-8",)


def test_undecodable_bytes_are_replaced_counted_and_located() -> None:
    data = b"ok \xff\xfe then \xe2\x82 and a real \xef\xbf\xbd"
    decoded = decode(data)
    # one U+FFFD per invalid sequence; the U+FFFD the input really holds is not counted
    assert decoded.text == "ok \ufffd\ufffd then \ufffd and a real \ufffd"
    assert decoded.replaced == 4
    assert decoded.warnings == ("invalid UTF-8 at byte 3: 4 byte(s) replaced with U+FFFD",)


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbfab\xe2\x82\xac\xffcd\xf0\x9f\x98\x80ef\xe2",
    b"\xff\xfe" + "a\u20acb".encode("utf-16-le") + b"\x00\xd8c\x00d",
    "<?xml encoding='cp1252'?>\u201c".encode("cp1252") + b"\x81z",
])
def test_chunk_by_chunk_is_the_same_as_whole(data: bytes) -> None:
    whole = decode(data, "xml")
    for size in (1, 2, 3, 5):
        decoder = StreamDecoder(detect(data, "xml"))
        text = "".join(decoder.decode(data[i:i + size]) for i in range(0, len(data), size))
        text += decoder.decode(b"", final=True)
        assert (text, decoder.replaced, tuple(decoder.warnings())) == \
            (whole.text, whole.replaced, whole.warnings)


def test_an_export_declaring_a_transforming_codec_is_read_not_decompressed() -> None:
    data = b'<?xml version="1.0" encoding="zlib"?><rss><item>plain</item></rss>'
    warnings: list[str] = []
    found = [el.text for el in iter_elements(io.BytesIO(data), "x.xml", ("item",), warnings,
                                             root="rss")]
    assert found == ["plain"]
    assert warnings == ["unknown charset 'zlib' declared; read as UTF-8"]
