"""Undo the common ways of writing a word past a filter, before a text is tokenised.

People write "i d i o t" or "1d10t" so that a word list misses it; a WordPiece tokenizer then
sees single letters or digits and the model sees no insult. Two rewrites, both conservative:

- **spaced letters**: three or more single letters joined by one repeated separator (space,
  dot, hyphen, underscore) become one word ("i d i o t", "s-t-u-p-i-d", "U.S.A" -> "USA");
- **digits and symbols for letters** inside a word that also has letters ("1d10t", "m0r0n",
  "$hit", "b!tch"): 0 1 3 4 5 7 @ $ ! read as o i e a s t a s i. Words with other digits
  ("covid19", "A380"), a number after a name ("mp3"), numbers with a unit, ordinal or currency
  ("10am", "2nd", "33ft", "$7K") and links are left alone.

Given the tokenizer's count of word pieces (``pieces``), two ambiguities are settled by which
reading the vocabulary knows better: a spaced run that starts with "a" or "I" ("What a m o r o
n") keeps that letter as a word of its own when the rest is no worse a word ("a moron", but
"idiot" stays whole), and a word starting with "@" is read as letters only when that gives one
known word ("@sshole"), so a mention ("@sam") stays a mention.

Every character of the result keeps the index of the character it came from, so evidence found
in the rewritten text maps back to offsets in the original.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

Pieces = Callable[[str], int]

_SPACED = re.compile(r"(?<![^\W\d_])([^\W\d_])(?:([ ._-])[^\W\d_])(?:\2[^\W\d_])+(?![^\W\d_])")
_WORD = re.compile(r"[\w@$!]+")
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
# A number with a short unit, ordinal or currency ("33ft", "10am", "2nd", "$7K"), never a word
_NUMBER = re.compile(r"\$?\d+[a-z]{0,3}", re.IGNORECASE)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def normalise(text: str, pieces: Pieces | None = None) -> tuple[str, np.ndarray | None]:
    """The rewritten text and, per character of it, the index of its source character in
    ``text``; ``None`` when nothing was rewritten (the common case, at the cost of two scans)."""
    if not _SPACED.search(text) and not any(_leet(m.group(0), pieces) for m in _words(text)):
        return text, None
    keep: list[tuple[str, int]] = []
    position = 0
    for match in _SPACED.finditer(text):
        keep.extend((c, i) for i, c in enumerate(text[position:match.start()], position))
        separator = match.group(2)
        letters = [(c, i) for i, c in enumerate(match.group(0), match.start()) if c != separator]
        if pieces is not None and _article_first(letters, separator, pieces):
            keep.extend([letters[0], (" ", letters[0][1] + 1)])
            letters = letters[1:]
        keep.extend(letters)
        position = match.end()
    keep.extend((c, i) for i, c in enumerate(text[position:], position))
    joined = "".join(c for c, _ in keep)
    chars = list(joined)
    for match in _words(joined):
        rewritten = _leet(match.group(0), pieces)
        if rewritten:
            chars[match.start():match.end()] = rewritten
    return "".join(chars), np.fromiter((i for _, i in keep), dtype=np.int64, count=len(keep))


def _words(text: str) -> list[re.Match[str]]:
    """Candidate words outside links (a link's letters and digits are an address, not words)."""
    links = [m.span() for m in _URL.finditer(text)]
    return [m for m in _WORD.finditer(text)
            if not any(start <= m.start() < end for start, end in links)]


def _article_first(letters: list[tuple[str, int]], separator: str, pieces: Pieces) -> bool:
    """Whether a spaced run reads better as "a"/"I" followed by a word ("a m o r o n")."""
    word = "".join(c for c, _ in letters)
    if separator != " " or word[0] not in "aAI" or len(word) < 4:
        return False
    whole, rest = pieces(word), pieces(word[1:])
    # "a" before a word is common; "I" (capital: the pronoun) rarer than a word starting with it
    return whole > 1 and (rest <= whole if word[0] in "aA" else rest < whole)


def _leet(word: str, pieces: Pieces | None = None) -> str | None:
    """``word`` with digits and symbols read as letters, or None when it is not such a word."""
    stripped = word.rstrip("!")  # "!" ends sentences; it stands for "i" only inside a word
    if len(stripped) < 3 or _NUMBER.fullmatch(stripped):
        return None
    if "!" in stripped and not re.fullmatch(r"(?:[^!]|(?<=[^\W\d_])!(?=[^\W\d_A-Z]))+", stripped):
        return None  # "!" reads as "i" only alone between letters ("b!tch"), not "kids!!lets", "White!At"
    letters = sum(c.isalpha() for c in stripped)
    if letters < 1 or letters == len(stripped) or "_" in stripped:
        return None
    if not all(c.isalpha() or c in LEET for c in stripped):
        return None
    if stripped[-1].isdigit() and stripped.rstrip("0123456789").isalpha():
        return None  # a name with a number after it: "mp3", "web3", "b12"
    rewritten = "".join(LEET.get(c, c) for c in stripped)
    if stripped.startswith("@") and (pieces is None or pieces(rewritten.lower()) != 1):
        return None  # a mention, unless it spells one known word
    return rewritten + word[len(stripped):]


def original_offsets(offsets: np.ndarray, origin: np.ndarray | None) -> np.ndarray:
    """Token ``(start, end)`` offsets in a normalised text mapped back to the original text
    (special tokens, ``(0, 0)``, stay so)."""
    if origin is None or not len(offsets):
        return offsets
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = ends > starts
    mapped = np.zeros_like(offsets)
    mapped[real, 0] = origin[starts[real]]
    mapped[real, 1] = origin[ends[real] - 1] + 1
    return mapped
