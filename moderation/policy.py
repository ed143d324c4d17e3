"""What a score means for a comment: allow, review or reject.

A policy gives each label a *review* threshold and, optionally, a *reject* threshold (calibrated
probabilities in [0, 1]). A comment's **flags** are the labels whose score reaches their review
threshold; its **decision** is ``reject`` when any label reaches its reject threshold,
``review`` when any label is flagged, and ``allow`` otherwise.

Without a policy file every label's review threshold is the model's own threshold (the one that
maximises F1 on a comment stream with the label's stated share, see ``moderation.labels``) and
nothing is rejected automatically: a machine flags, a person decides.

A policy file is TOML. Top-level ``[labels]`` apply to everyone; ``[communities.NAME.labels]``
override them, label by label and key by key, for one community (``--community NAME``)::

    [labels]
    hostility = { review = 0.6, reject = 0.95 }
    threat = { reject = 0.8 }            # review stays at the model's threshold

    [communities.kids.labels]
    hostility = { review = 0.3, reject = 0.7 }
    profanity = { review = 0.2 }

A review threshold given without one is the model's threshold, lowered to the reject threshold
when that is lower (a rejected comment is always flagged). Labels the model does not have are an
error, so a typo never silently switches a rule off.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from moderation.errors import ConfigError
from moderation.labels import did_you_mean
from moderation.modeldir import ModelInfo

Decision = Literal["allow", "review", "reject"]
DECISIONS: tuple[Decision, ...] = ("allow", "review", "reject")
_RULE_KEYS = frozenset({"review", "reject"})


@dataclass(frozen=True)
class Rule:
    review: float
    reject: float | None = None


@dataclass(frozen=True)
class Policy:
    """Per-label rules for every label of one model, in the model's label order."""

    name: str
    rules: dict[str, Rule]

    def flags(self, scores: Mapping[str, float]) -> list[str]:
        return [label for label, rule in self.rules.items() if scores[label] >= rule.review]

    def decide(self, scores: Mapping[str, float]) -> tuple[list[str], Decision]:
        """The flagged labels and the decision for one comment's calibrated scores."""
        flags = self.flags(scores)
        if any(rule.reject is not None and scores[label] >= rule.reject
               for label, rule in self.rules.items()):
            return flags, "reject"
        return flags, "review" if flags else "allow"

    def level(self, label: str, score: float) -> Decision:
        """What one label's score alone decides (used to colour a score bar)."""
        rule = self.rules[label]
        if rule.reject is not None and score >= rule.reject:
            return "reject"
        return "review" if score >= rule.review else "allow"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name,
                "labels": {k: {"review": r.review, "reject": r.reject} for k, r in self.rules.items()}}


def model_policy(info: ModelInfo, reject_headlines_at: float | None = None) -> Policy:
    """The default: review at each label's model threshold, never reject automatically; or,
    with ``reject_headlines_at``, reject when a group's headline label (the one named like its
    group, e.g. ``hostility``) reaches that probability (or its threshold, if higher)."""
    rules = {}
    for label in info.labels:
        reject = None
        if reject_headlines_at is not None and label.name == label.group:
            reject = max(reject_headlines_at, label.threshold)
        rules[label.name] = Rule(label.threshold, reject)
    return Policy("model thresholds", rules)


def load_policy(path: str | os.PathLike[str], info: ModelInfo,
                community: str | None = None) -> Policy:
    """The policy in a TOML file for ``info``'s labels, for one community or the file's defaults."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the policy file: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return policy_from_dict(data, info, community, where=str(path), name=Path(path).stem)


def policy_from_dict(
    data: Mapping[str, Any], info: ModelInfo, community: str | None = None, *,
    where: str = "policy", name: str = "policy",
) -> Policy:
    _check_keys(data, {"labels", "communities"}, where)
    communities = _table(data.get("communities", {}), f"{where}: communities")
    rules = _overrides(data.get("labels", {}), info, f"{where}: labels")
    if community is not None:
        if community not in communities:
            known = ", ".join(sorted(communities)) or "none"
            raise ConfigError(f"{where}: no community {community!r} (communities: {known})")
        table = _table(communities[community], f"{where}: communities.{community}")
        _check_keys(table, {"labels"}, f"{where}: communities.{community}")
        own = _overrides(table.get("labels", {}), info, f"{where}: communities.{community}.labels")
        for name_, values in own.items():
            rules[name_] = {**rules.get(name_, {}), **values}
        name = f"{name}:{community}"
    else:
        # Check every community now, so a broken one is found before a long run uses it.
        for key, other in communities.items():
            _check_keys(_table(other, f"{where}: communities.{key}"), {"labels"}, f"{where}: communities.{key}")
            _overrides(other.get("labels", {}), info, f"{where}: communities.{key}.labels")
    resolved: dict[str, Rule] = {}
    for label in info.labels:
        given = rules.get(label.name, {})
        reject = given.get("reject")
        review = given.get("review", label.threshold if reject is None else min(label.threshold, reject))
        if reject is not None and reject < review:
            raise ConfigError(f"{where}: {label.name}: reject ({reject}) is below review ({review}); "
                              "a comment that is rejected must also be flagged")
        resolved[label.name] = Rule(review, reject)
    return Policy(name, resolved)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table")
    return value


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                          f"(allowed: {', '.join(sorted(allowed))})")


def _overrides(value: Any, info: ModelInfo, where: str) -> dict[str, dict[str, float]]:
    """Validated ``{label: {review?, reject?}}`` from one ``labels`` table."""
    out: dict[str, dict[str, float]] = {}
    for label, rule in _table(value, where).items():
        if label not in info.label_names:
            raise ConfigError(f"{where}.{label}: not a label of model {info.name!r}"
                              f"{did_you_mean(label, info.label_names)} "
                              f"(labels: {', '.join(info.label_names)})")
        rule = _table(rule, f"{where}.{label}")
        _check_keys(rule, set(_RULE_KEYS), f"{where}.{label}")
        values: dict[str, float] = {}
        for key, number in rule.items():
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number <= 1:
                raise ConfigError(f"{where}.{label}.{key}: must be a probability between 0 and 1, "
                                  f"got {number!r}")
            values[key] = float(number)
        out[label] = values
    return out


def policy_toml(data: Mapping[str, Any]) -> str:
    """A policy file's text for ``data`` (``{"labels": {...}, "communities": {NAME: {"labels":
    {...}}}}``, as ``tomllib`` reads one): what ``load_policy`` reads back as the same dict."""
    lines: list[str] = []

    def table(header: str, rules: Mapping[str, Mapping[str, float]]) -> None:
        lines.append(f"[{header}]")
        for label, rule in rules.items():
            values = ", ".join(f"{key} = {float(rule[key])!r}" for key in ("review", "reject") if key in rule)
            lines.append(f"{_toml_key(label)} = {{ {values} }}")
        lines.append("")

    if data.get("labels"):
        table("labels", data["labels"])
    for community, section in (data.get("communities") or {}).items():
        table(f"communities.{_toml_key(community)}.labels", section.get("labels") or {})
    return "\n".join(lines)


def _toml_key(key: str) -> str:
    if key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key):
        return key
    # A basic string: TOML allows no raw control character in one, and no surrogate escape.
    escaped = "".join(
        "\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c
        for c in key)
    return f'"{escaped}"'
