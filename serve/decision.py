"""What the service suggests doing with a comment, from its scores and the model's thresholds.

- ``allow``: no label reaches its threshold;
- ``review``: some label does (those labels are the comment's ``flags``);
- ``reject``: a group's headline label (the one named like its group, e.g. ``hostility``)
  reaches ``reject_at``, a calibrated probability well above the review thresholds.

There is one community, ``default``; asking for another is an error rather than a silent
fallback.
"""

from __future__ import annotations

from typing import Literal

from moderation.modeldir import ModelInfo
from moderation.scorer import Scores

Decision = Literal["allow", "review", "reject"]
DEFAULT_COMMUNITY = "default"


class Decider:
    def __init__(self, info: ModelInfo, reject_at: float) -> None:
        self.thresholds = info.thresholds
        self.headlines = [label.name for label in info.labels if label.name == label.group]
        self.reject_at = reject_at
        self.communities = (DEFAULT_COMMUNITY,)

    def decide(self, scores: Scores, community: str = DEFAULT_COMMUNITY) -> Decision:
        if community not in self.communities:
            raise KeyError(community)
        p = scores.scores
        if any(p.get(name, 0.0) >= max(self.reject_at, self.thresholds[name]) for name in self.headlines):
            return "reject"
        return "review" if scores.flags(self.thresholds) else "allow"
