"""Training examples derived from others, for robustness the public sets do not teach.

- **Identity swaps** (counterfactuals): a text naming a group, with the group replaced by
  another of the same kind (a religion by a religion, ...), keeps its labels. The model then
  cannot learn that "Muslim" or "gay" is itself a sign of hostility: what makes a text hostile
  is the same whichever group it names.
- **Obfuscated positives**: a hostile text with its offending word written the ways people dodge
  filters (spaced letters, digits for letters, a dropped, doubled or swapped letter, a masked
  letter) keeps its labels.

Both apply to training examples only (validation stays as the annotators wrote it) and both
drop the copies' evidence spans, whose offsets no longer hold.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from moderation.labelled import Example
from moderation.labels import HOSTILITY

# Words of one kind replace each other. Colour words count only before a word for people.
SWAP_KINDS: tuple[tuple[str, ...], ...] = (
    ("muslim", "christian", "jewish", "hindu", "sikh", "buddhist", "catholic", "atheist", "mormon"),
    ("muslims", "christians", "jews", "hindus", "sikhs", "buddhists", "catholics", "atheists", "mormons"),
    ("asian", "latino", "hispanic", "arab", "mexican", "chinese", "indian", "african", "somali",
     "nigerian", "pakistani", "polish", "irish", "korean", "haitian", "filipino", "syrian"),
    ("asians", "latinos", "hispanics", "arabs", "mexicans", "africans", "somalis", "nigerians",
     "pakistanis", "koreans", "haitians", "filipinos", "syrians", "immigrants", "refugees"),
    ("gay", "lesbian", "bisexual", "transgender", "trans", "queer"),
    ("gays", "lesbians", "bisexuals", "queers"),
    ("women", "men"),
    ("girls", "boys"),
)
PEOPLE = r"(?:people|man|men|woman|women|folks?|famil(?:y|ies)|guys?|persons?|community|kids|children|neighbou?rs?)"
_KIND_OF = {word: kind for kind in SWAP_KINDS for word in kind}
_IDENTITY = re.compile(
    r"\b(" + "|".join(sorted(_KIND_OF, key=len, reverse=True)) + r")\b"
    r"|\b(black|white)(?=\s+" + PEOPLE + r"\b)",
    re.IGNORECASE,
)
_COLOURS = ("black", "white", "brown")

# Words whose obfuscated forms matter most, besides those the annotators marked as evidence.
OFFENSIVE_WORDS = frozenset("""idiot idiots moron morons stupid dumb retard retarded loser losers
clown clowns fool fools imbecile cretin pathetic worthless scum trash garbage jerk twit dunce
halfwit dimwit fuck fucking fucked shit bullshit bitch bitches bastard asshole arsehole crap damn
dick piss pissed slut whore cunt hate vermin parasites animals savages rats pig pigs ugly
disgusting kill die""".split())
T = TypeVar("T")
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def _spaced(word: str, rng: random.Random) -> str:
    return _pick(rng, (" ", ".", "-")).join(word)


def _digits(word: str, rng: random.Random) -> str:
    swapped = "".join(LEET.get(c.lower(), c) if rng.random() < 0.7 else c for c in word)
    return swapped if swapped != word else _masked(word, rng)


def _dropped(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word))
    return word[:i] + word[i + 1:]


def _doubled(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    return word[:i] + word[i] * rng.randrange(2, 4) + word[i + 1:]


def _swapped(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def _masked(word: str, rng: random.Random) -> str:
    vowels = [i for i, c in enumerate(word) if c.lower() in "aeiou" and i > 0]
    i = _pick(rng, vowels) if vowels else rng.randrange(1, len(word))
    return word[:i] + _pick(rng, ("*", "@", "#")) + word[i + 1:]


OBFUSCATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "spaced letters": _spaced,
    "digits for letters": _digits,
    "dropped letter": _dropped,
    "doubled letter": _doubled,
    "swapped letters": _swapped,
    "masked letter": _masked,
}


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    return options[rng.randrange(len(options))]


def _copy(example: Example, text: str, how: str) -> Example:
    return Example(text, dict(example.labels), source=f"{example.source} ({how})")


def swap_identity(example: Example, rng: random.Random) -> Example | None:
    """``example`` with every group it names replaced by another of the same kind (the same
    replacement for each repeat of a word), or None when it names none."""
    chosen: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        key = word.lower()
        if key not in chosen:
            kind = _KIND_OF.get(key, _COLOURS)
            chosen[key] = _pick(rng, [w for w in kind if w != key])
        new = chosen[key]
        return new.capitalize() if word[0].isupper() else new

    text = _IDENTITY.sub(replace, example.text)
    return None if text == example.text else _copy(example, text, "identity swap")


def obfuscate(example: Example, rng: random.Random) -> Example | None:
    """``example`` with one offending word obfuscated, or None when it has none: a word inside
    an annotated evidence span, else one from ``OFFENSIVE_WORDS``."""
    words = [m for m in re.finditer(r"[A-Za-z]{4,}", example.text)
             if m.group(0).lower() in OFFENSIVE_WORDS
             or any(s.start <= m.start() and m.end() <= s.end for s in example.spans)]
    if not words:
        return None
    word = _pick(rng, words)
    how = _pick(rng, list(OBFUSCATIONS))
    new = OBFUSCATIONS[how](word.group(0), rng)
    text = example.text[: word.start()] + new + example.text[word.end():]
    return _copy(example, text, how)


def _hostile(example: Example) -> bool:
    return example.labels.get(HOSTILITY, 0.0) >= 0.5


def augment(examples: Sequence[Example], swaps: int, obfuscated: int, seed: int
            ) -> tuple[list[Example], dict[str, int]]:
    """Up to ``swaps`` identity-swapped and ``obfuscated`` obfuscated copies of ``examples``
    (at least half of the swaps from calm texts, where the spurious lesson is learnt), and their counts."""
    rng = random.Random(f"{seed}/augment")
    made: list[Example] = []
    calm = [ex for ex in examples if ex.labels.get(HOSTILITY, 1.0) < 0.5 and _IDENTITY.search(ex.text)]
    other = [ex for ex in examples if ex.labels.get(HOSTILITY, 0.0) >= 0.5 and _IDENTITY.search(ex.text)]
    from_other = min(swaps // 2, len(other))
    for pool, share in ((calm, swaps - from_other), (other, from_other)):
        for ex in rng.sample(pool, min(share, len(pool))):
            copy = swap_identity(ex, rng)
            if copy is not None:
                made.append(copy)
    n_swapped = len(made)
    hostile = [ex for ex in examples if _hostile(ex)]
    for ex in rng.sample(hostile, len(hostile)):
        if len(made) - n_swapped >= obfuscated:
            break
        copy = obfuscate(ex, rng)
        if copy is not None:
            made.append(copy)
    return made, {"identity swaps": n_swapped, "obfuscated positives": len(made) - n_swapped}
