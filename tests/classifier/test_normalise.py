"""The normaliser that reads obfuscated words as the words they spell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moderation.normalise import normalise, original_offsets


@pytest.mark.parametrize(("text", "expected"), [
    ("You are an i d i o t.", "You are an idiot."),
    ("s-t-u-p-i-d idea", "stupid idea"),
    ("f u c k you", "fuck you"),
    ("You are a 1d10t!", "You are a idiot!"),
    ("What a m0r0n", "What a moron"),
    ("this is $hit, b!tch!", "this is shit, bitch!"),
])
def test_obfuscated_words_are_read_as_words(text: str, expected: str) -> None:
    assert normalise(text)[0] == expected


@pytest.mark.parametrize("text", [
    "Meet at 10am on the 2nd; the A380 and covid19 and mp3 stay as they are.",
    "Thanks @sam4 for the photos!",
    "Plan B is a good plan, I think.",
    "Vitamins D, E and K.",
    "I have 2 kids and 3 dogs.",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert normalise(text) == (text, None)


def test_offsets_map_back_to_the_original_characters() -> None:
    text = "Hi, you are an i d i o t and a m0r0n."
    rewritten, origin = normalise(text)
    assert origin is not None and len(origin) == len(rewritten)
    start = rewritten.index("idiot")
    mapped = original_offsets(np.array([[0, 0], [start, start + 5]]), origin)
    assert mapped[0].tolist() == [0, 0]  # a special token stays special
    assert text[mapped[1, 0]:mapped[1, 1]] == "i d i o t"
    start = rewritten.index("moron")
    mapped = original_offsets(np.array([[start, start + 5]]), origin)
    assert text[mapped[0, 0]:mapped[0, 1]] == "m0r0n"


def test_windows_read_the_normalised_text_with_original_offsets(tiny_base: Path) -> None:
    from moderation.windows import WindowTokenizer

    tokenizer = WindowTokenizer(tiny_base, 32, 8)
    plain, spaced = tokenizer.windows(["you idiot", "you i d i o t"])
    assert plain.ids.tolist() == spaced.ids.tolist()
    text = "you i d i o t"
    pieces = {text[s:e] for s, e in spaced.offsets.tolist() if e > s}
    assert "you" in pieces and "".join(sorted(pieces - {"you"})).replace(" ", "") != ""
    assert max(e for _, e in spaced.offsets.tolist()) == len(text)


def test_the_vocabulary_settles_an_article_before_spaced_letters_and_a_leading_at(tiny_base: Path) -> None:
    from moderation.windows import WindowTokenizer

    # Word pieces as a vocabulary that knows "moron", "idiot" and "asshole" would count them.
    known = {"moron", "idiot", "asshole"}

    def pieces(word: str) -> int:
        return 1 if word.lower() in known else len(word)

    assert normalise("What a m o r o n this is.", pieces)[0] == "What a moron this is."
    assert normalise("You are an i d i o t.", pieces)[0] == "You are an idiot."
    assert normalise("You absolute @sshole.", pieces)[0] == "You absolute asshole."
    assert normalise("Thanks @sam4 and @anna!", pieces)[0] == "Thanks @sam4 and @anna!"
    _, origin = normalise("What a m o r o n", pieces)
    assert origin is not None and "What a m o r o n"[origin[7]] == "m"
    # The real tokenizer's vocabulary is what the scorer uses.
    assert WindowTokenizer(tiny_base, 32, 8)._pieces("idiot") >= 1


@pytest.mark.parametrize("text", [
    "See https://youtu.be/7qQMzoKXv5Q and www.example.com/a1b3 for the video.",
    "The mast is 33ft tall and cost $7K, or $1m with the road.",
    "Great game for the kids!!!!lets go again. White!At last.",
])
def test_links_numbers_and_exclamations_are_not_read_as_letters(text: str) -> None:
    assert normalise(text) == (text, None)
