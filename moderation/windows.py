"""Texts to token windows, with the Rust tokenizer of the base model and no torch or
transformers import (the ONNX backend scores without either).

A text longer than ``max_length`` tokens becomes several windows overlapping by ``stride``
tokens; each window keeps the index of its text and the character offsets of its tokens.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moderation.errors import ModelLoadError
from moderation.normalise import normalise, original_offsets


@dataclass(frozen=True)
class Window:
    owner: int  # index of the text it came from
    ids: np.ndarray  # (tokens,) int64
    offsets: np.ndarray  # (tokens, 2) character offsets; (0, 0) for special tokens


class WindowTokenizer:
    def __init__(self, base_dir: Path, max_length: int, stride: int) -> None:
        from tokenizers import Tokenizer

        path = base_dir / "tokenizer.json"
        if not path.is_file():
            raise ModelLoadError(
                f"{base_dir}: tokenizer.json is missing (a fast tokenizer is needed for character "
                "offsets)"
            )
        try:
            self._tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # noqa: BLE001 - the Rust side raises its own exception type
            raise ModelLoadError(f"{path}: cannot load the tokenizer ({exc})") from None
        # Special tokens take room in every window, as the model saw them in training.
        room = max_length - self._tokenizer.num_special_tokens_to_add(False)
        if stride >= room:
            raise ModelLoadError(f"{base_dir}: stride {stride} must be below {room} tokens")
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length, stride=stride)
        # The pad token's value never matters (padded positions are masked), only its range.
        pads = (self._tokenizer.token_to_id(t) for t in ("[PAD]", "<pad>"))
        self.pad_id = next((i for i in pads if i is not None), 0)
        # Word pieces of one word, for the normaliser's choices between two readings
        self._pieces = functools.lru_cache(maxsize=4096)(
            lambda word: len(self._tokenizer.encode(word, add_special_tokens=False).ids))

    def windows(self, texts: Sequence[str]) -> list[Window]:
        """Windows of each text after ``moderation.normalise`` (so "i d i o t" is read as the
        word it spells), with offsets into the text as given."""
        normalised = [normalise(text, self._pieces) for text in texts]
        encodings = self._tokenizer.encode_batch([text for text, _ in normalised])
        out: list[Window] = []
        for owner, (encoding, (_, origin)) in enumerate(zip(encodings, normalised, strict=True)):
            for part in (encoding, *encoding.overflowing):
                offsets = np.asarray(part.offsets, dtype=np.int64).reshape(-1, 2)
                out.append(Window(owner, np.asarray(part.ids, dtype=np.int64),
                                  original_offsets(offsets, origin)))
        return out
