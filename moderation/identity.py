"""Identity subgroups named in comments, for measuring unintended bias.

A model that scores a text as more hostile because it names a group (rather than because it
attacks one) silences the people moderation should protect. ``moderation.evaluate.identity_bias``
measures that per subgroup with the metrics of Borkan et al. (2019).
"""

from __future__ import annotations

import re

SUBGROUPS: dict[str, tuple[str, ...]] = {
    "muslim": ("muslim", "muslims", "islam", "islamic"),
    "jewish": ("jew", "jews", "jewish", "judaism"),
    "christian": ("christian", "christians", "christianity", "catholic", "catholics"),
    "black": ("black", "blacks"),
    "white": ("white", "whites"),
    "asian": ("asian", "asians", "chinese"),
    "latino": ("latino", "latinos", "latina", "hispanic", "hispanics", "mexican", "mexicans"),
    "arab": ("arab", "arabs", "arabic"),
    "immigrant": ("immigrant", "immigrants", "migrant", "migrants", "refugee", "refugees"),
    "gay or lesbian": ("gay", "gays", "lesbian", "lesbians", "homosexual", "homosexuals",
                       "bisexual", "queer", "lgbt", "lgbtq"),
    "transgender": ("transgender", "trans", "transgenders"),
    "women": ("woman", "women", "female", "females", "girl", "girls"),
    "disabled": ("disabled", "disability", "disabilities", "autistic", "deaf", "blind",
                 "wheelchair"),
}
_PATTERNS = {name: re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE)
             for name, words in SUBGROUPS.items()}


def mentions(text: str) -> set[str]:
    """The subgroups ``text`` names."""
    return {name for name, pattern in _PATTERNS.items() if pattern.search(text)}
