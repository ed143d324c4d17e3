"""The default label set, defined once.

A trained model carries its own label list (``config.json``); scoring, the service and reports
read labels from the model, never from here. This module is what ``moderation train`` uses
when no ``--labels`` are given, and where each default label's meaning is written down.

Each group has a headline label named like the group: it is positive when the comment shows
anything of the group (a comment with any technique carries ``propaganda``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    """``negative_with_headline``: a text known not to show the group (headline negative) is
    known not to show this label either. Set where every source's "calm" class means that.
    ``judged_with_headline`` says where that holds when a model is judged (see there).

    ``stream_prevalence``: the share of comments in a news site's or forum's stream that show
    the label, as a deployment assumption. A model's review threshold is the one that would
    maximise F1 on such a stream (validation re-weighted to this share), not on the pooled
    validation sets, most of which were collected to be rich in hostility.
    """

    name: str
    group: str
    description: str
    negative_with_headline: bool = False
    stream_prevalence: float = 0.005

    @property
    def is_headline(self) -> bool:
        return self.name == self.group

    @property
    def judged_with_headline(self) -> bool:
        """Whether a text known not to show the group counts as a negative of this label when
        thresholds are chosen and a model is evaluated: where ``negative_with_headline`` holds,
        and for every technique, the propaganda headline meaning "uses at least one". Training
        teaches that of the common techniques only (``training/recipes/base.py``: an everyday
        flood of negatives would swamp the rare ones' few positives); a threshold judged
        without calm reader comments among a technique's negatives sits where they are
        flagged."""
        return self.negative_with_headline or (self.group == PROPAGANDA and not self.is_headline)


HOSTILITY = "hostility"
PROPAGANDA = "propaganda"

# Stream shares (``stream_prevalence``; 0.005 where not given). From the news-comment sets:
# about 8% of Civil Comments are rated toxic, most of them insults, 0.3% threats and under 1%
# identity attacks; Unhealthy Conversations marks 2.5% of Globe and Mail comments hostile and
# 12% uncivil in some way. Persuasion techniques are taken to be rare in reader comments.
LABELS: tuple[Label, ...] = (
    Label(HOSTILITY, HOSTILITY,
          "Would a reasonable reader find this comment hostile or toxic (headline score).",
          stream_prevalence=0.10),
    Label("insult", HOSTILITY, "Insulting, inflammatory or negative words aimed at a person or group.",
          negative_with_headline=True, stream_prevalence=0.05),
    Label("threat", HOSTILITY, "Wishes or threatens harm or violence against a person or group.",
          negative_with_headline=True, stream_prevalence=0.005),
    Label("identity_attack", HOSTILITY,
          "Attacks or demeans people for an identity: ethnicity, religion, gender, orientation, "
          "disability, nationality.", negative_with_headline=True, stream_prevalence=0.01),
    Label("profanity", HOSTILITY, "Swear words, obscenity or vulgarity.",
          negative_with_headline=True, stream_prevalence=0.03),
    # Not implied by a calm headline: the sources' "not offensive" classes do not judge
    # civility, and Unhealthy Conversations marks many non-hostile comments condescending.
    Label("incivility", HOSTILITY,
          "Condescending, dismissive, antagonising or sarcastic without outright insult.",
          stream_prevalence=0.08),
    Label(PROPAGANDA, PROPAGANDA,
          "Uses at least one persuasion technique (headline score).", stream_prevalence=0.05),
    Label("loaded_language", PROPAGANDA,
          "Words or phrases with strong emotional connotations to sway the reader.",
          stream_prevalence=0.02),
    Label("name_calling", PROPAGANDA,
          "Labels the target with a word the audience fears, hates or finds undesirable.",
          stream_prevalence=0.02),
    Label("repetition", PROPAGANDA, "Repeats the same message over and over to make it stick."),
    Label("exaggeration", PROPAGANDA, "Represents something as much better, worse or bigger than it is, or "
          "minimises it."),
    Label("doubt", PROPAGANDA, "Questions the credibility of someone or something without grounds."),
    Label("appeal_to_fear", PROPAGANDA,
          "Builds support by instilling anxiety or panic, or by appealing to prejudice."),
    Label("flag_waving", PROPAGANDA,
          "Plays on strong national or group feeling to justify or promote an idea."),
    Label("causal_oversimplification", PROPAGANDA,
          "Assumes a single cause for an issue with many causes."),
    Label("slogans", PROPAGANDA, "A brief, striking phrase standing in for an argument."),
    Label("appeal_to_authority", PROPAGANDA,
          "Claims something is true because an authority or expert says so."),
    Label("black_and_white", PROPAGANDA,
          "Presents two options as the only possibilities when more exist (false dilemma)."),
    Label("thought_terminating_cliche", PROPAGANDA,
          "A phrase that discourages critical thought and ends the discussion."),
    Label("whataboutism", PROPAGANDA,
          "Deflects criticism by pointing at the opponent's or another party's wrongdoing."),
    Label("straw_man", PROPAGANDA,
          "Refutes a distorted version of the opponent's position instead of the real one."),
    Label("red_herring", PROPAGANDA,
          "Introduces an irrelevant topic to divert attention from the issue."),
    Label("bandwagon", PROPAGANDA,
          "Urges joining an action or belief because everyone else supposedly does."),
    Label("reductio_ad_hitlerum", PROPAGANDA,
          "Discredits an idea or person by likening them to Nazis, Hitler or a hated group."),
)

BY_NAME: dict[str, Label] = {label.name: label for label in LABELS}
DEFAULT_LABELS: tuple[str, ...] = tuple(label.name for label in LABELS)


def default_groups(labels: Iterable[str]) -> dict[str, list[str]]:
    """Group membership for ``labels``: known labels by their group, others in a group of their own."""
    groups: dict[str, list[str]] = {}
    for name in labels:
        label = BY_NAME.get(name)
        groups.setdefault(label.group if label else name, []).append(name)
    return groups


def likely_meant(name: str, among: Sequence[str] = DEFAULT_LABELS) -> str | None:
    """The label of ``among`` (default: the built-in ones) that a name not among them is most
    likely a typo of (``hostilty``, ``threats``), or None."""
    if name in among:
        return None
    close = difflib.get_close_matches(name.lower(), list(among), n=1, cutoff=0.8)
    return close[0] if close else None


def did_you_mean(name: str, among: Sequence[str]) -> str:
    """`` (did you mean X?)`` for a likely typo of a label of ``among``, else nothing."""
    meant = likely_meant(name, among)
    return f" (did you mean {meant}?)" if meant else ""


def describe(name: str) -> str:
    label = BY_NAME.get(name)
    return "" if label is None else label.description
