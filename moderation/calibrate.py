"""Review thresholds fitted to one site's own labelled sample (``moderation calibrate``).

A model's thresholds are tuned on its validation sets, re-weighted to an assumed comment stream
(``moderation.labels``). A site's comments differ from those, and so does what it calls hostile:
this module picks each label's *review* threshold from a sample of the site's comments that
moderators labelled, for one of two targets.

**Precision** ``P``: the lowest threshold at which at least ``P`` of the sample's comments that
reach it show the label. Precision does not fall steadily as the threshold is lowered (a few
positives just below a cut raise it again), so every cut between two distinct scores is
measured, none assumed from its neighbours, and a cut counts only where precision holds from it
up to the cut that flags half as many comments, and where it flags at least
``MIN_FLAGGED_TO_CHOOSE`` (see ``precision_threshold``). The threshold
sits midway between two neighbouring scores, so that the small differences between backends
(ONNX int8 and torch score within a few hundredths) rarely move a comment across it.

**Review rate** ``R``: the share of the sample's comments sent to review, that is with any label
flagged, is about ``R``, counting the labels that are not calibrated at their current
thresholds too. The calibrated labels each flag the same share of comments, chosen so that the
union comes closest to ``R``. With ``per_label``, each calibrated label on its own flags about
``R`` of the comments instead.

Only labels the sample annotates (some comments with a known value) are calibrated: the others
keep their current review threshold, the model's or the policy file's. Precision and recall are
measured on the comments where the label is known; the review rate on every comment of the
sample, as the share of a stream. Each figure comes with a 95% bootstrap interval (comments
resampled with replacement, ``RESAMPLES`` times, seed ``SEED``) for the chosen threshold; it
does not count the uncertainty of choosing the threshold itself. A label is marked not to be
trusted, with the rule it breaks, when the sample holds fewer than ``MIN_POSITIVES`` of its
positives, when its threshold flags fewer than ``MIN_FLAGGED`` of the comments where it is known
(a bootstrap of a handful of comments that all show the label gives 100% with no spread), or
when its precision or recall interval is wider than ``MAX_CI_WIDTH``.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moderation.errors import ConfigError
from moderation.io import atomic_output
from moderation.labelled import Example
from moderation.modeldir import ModelInfo
from moderation.policy import Policy, model_policy, policy_from_dict, policy_toml

if TYPE_CHECKING:
    from moderation.scorer import Scorer

RESAMPLES = 1000
SEED = 0
MIN_POSITIVES = 20
MIN_FLAGGED = 20
# A precision measured on fewer comments than this is no evidence: a target is never taken as
# reached by a threshold that flags fewer (one flagged comment that shows the label is 100%).
MIN_FLAGGED_TO_CHOOSE = 5
MAX_CI_WIDTH = 0.2
# Thresholds are written with this many decimals; the figures are measured at the written value.
DECIMALS = 6


@dataclass(frozen=True)
class PrecisionTarget:
    precision: float


@dataclass(frozen=True)
class ReviewRateTarget:
    rate: float
    per_label: bool = False


Target = PrecisionTarget | ReviewRateTarget


@dataclass(frozen=True)
class Interval:
    """A 95% bootstrap interval; NaN ends where the figure is undefined (no comment flagged)."""

    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class LabelCalibration:
    """One label's review threshold and what it does on the sample.

    ``calibrated`` is False where the label kept its current threshold (``note`` says why).
    ``known`` and ``positives`` count the sample's comments with the label known, and positive.
    """

    label: str
    threshold: float
    calibrated: bool
    note: str
    known: int
    positives: int
    precision: float
    precision_ci: Interval
    recall: float
    recall_ci: Interval
    review_rate: float
    review_rate_ci: Interval
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Calibration:
    target: Target
    comments: int
    labels: tuple[LabelCalibration, ...]
    review_rate: float  # the share of the sample with any label flagged
    review_rate_ci: Interval
    notes: tuple[str, ...] = ()

    @property
    def thresholds(self) -> dict[str, float]:
        return {c.label: c.threshold for c in self.labels if c.calibrated}


# Thresholds -------------------------------------------------------------------------------------

def _cuts(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores sorted high to low, and for each position whether a cut after it separates two
    distinct scores (the last position always may: below it, every comment is flagged)."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    distinct = np.r_[ordered[1:] != ordered[:-1], True]
    return ordered, distinct


def _cut_threshold(ordered: np.ndarray, k: int) -> float:
    """A threshold that flags the ``k`` highest of ``ordered`` (midway to the next score)."""
    if k <= 0:
        return 1.0
    if k >= len(ordered):
        return float(ordered[-1])
    return float((ordered[k - 1] + ordered[k]) / 2.0)


def precision_threshold(positive: np.ndarray, scores: np.ndarray, precision: float) -> float | None:
    """The lowest threshold at which the precision on ``scores`` is at least ``precision`` and
    stays so up to the threshold that flags half as many comments; None when none does. A
    threshold must flag at least ``MIN_FLAGGED_TO_CHOOSE`` comments.

    Every cut between distinct scores is measured. The band guards against a lone bump: below
    the cut where precision first falls short, a few positives together can lift it back over
    the target for a cut or two, and on a sample of a few hundred comments such a threshold
    fell short on the rest of the data more often (on one site's comments, split 300 / 4,100
    a hundred times, a target of 0.6 for incivility was missed by 0.06 on average with the
    plain rule and by 0.02 with the band). The 5-comment minimum did not fit thresholds better
    there; it makes a target that only a handful of top comments reach unreachable, which is
    the truth of it (0.8 was "reached" in 64 of those splits without it, in 8 with it, and the
    model's top 20 to 50 comments of the whole source are about 60% uncivil).
    """
    positive = np.asarray(positive, dtype=bool)
    if not positive.any():
        return None
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    ordered = np.asarray(scores, dtype=np.float64)[order]
    distinct = np.r_[ordered[1:] != ordered[:-1], True]
    flagged = np.arange(1, len(ordered) + 1)
    meets = np.cumsum(positive[order]) / flagged >= precision
    # For each cut, the last cut at or above it (fewer comments flagged) that falls short.
    short = np.where(distinct & ~meets, np.arange(len(ordered)), -1)
    last_short = np.maximum.accumulate(short)
    half = (flagged + 1) // 2 - 1  # the position of the cut flagging half as many
    reached = distinct & meets & (last_short < half) & (flagged >= MIN_FLAGGED_TO_CHOOSE)
    if not reached.any():
        return None
    k = int(np.flatnonzero(reached)[-1]) + 1  # the most comments flagged: the lowest threshold
    return _cut_threshold(ordered, k)


def best_precision(positive: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The highest precision a threshold flagging at least ``MIN_FLAGGED_TO_CHOOSE`` comments
    (or all, if fewer) reaches on ``scores``, and that threshold."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    ordered = np.asarray(scores, dtype=np.float64)[order]
    distinct = np.r_[ordered[1:] != ordered[:-1], True]
    flagged = np.arange(1, len(ordered) + 1)
    precision = np.cumsum(np.asarray(positive, dtype=bool)[order]) / flagged
    allowed = distinct & (flagged >= min(MIN_FLAGGED_TO_CHOOSE, len(ordered)))
    k = int(np.argmax(np.where(allowed, precision, -1.0))) + 1
    return float(precision[k - 1]), _cut_threshold(ordered, k)


def rate_threshold(scores: np.ndarray, rate: float) -> float:
    """A threshold that flags the share of ``scores`` closest to ``rate`` (ties stay together)."""
    return _count_threshold(scores, rate * len(scores))


def _count_threshold(scores: np.ndarray, wanted: float) -> float:
    ordered, distinct = _cuts(scores)
    counts = np.r_[0, np.flatnonzero(distinct) + 1]  # the counts a threshold can flag
    k = int(counts[np.argmin(np.abs(counts - wanted))])
    return _cut_threshold(ordered, k)


def _union_thresholds(scores: np.ndarray, columns: Sequence[int], fixed: np.ndarray,
                      rate: float) -> dict[int, float]:
    """Per calibrated column a threshold flagging the same count ``k`` of comments, with ``k``
    chosen so that the comments flagged by any of them or by ``fixed`` come closest to ``rate``.
    The union only grows with ``k``, so ``k`` is found by bisection."""
    n = len(scores)
    ordered = {j: _cuts(scores[:, j])[0] for j in columns}

    def thresholds(k: int) -> dict[int, float]:
        return {j: _cut_threshold(ordered[j], k) for j in columns}

    def union(k: int) -> int:
        flagged = fixed.copy()
        for j, t in thresholds(k).items():
            flagged |= scores[:, j] >= t
        return int(flagged.sum())

    goal = rate * n
    low, high = 0, n  # union(low) <= goal is kept, unless even k = 0 passes it
    if union(low) >= goal:
        return thresholds(0)
    while high - low > 1:
        middle = (low + high) // 2
        if union(middle) <= goal:
            low = middle
        else:
            high = middle
    best = low if goal - union(low) <= union(high) - goal else high
    return thresholds(best)


# Bootstrap --------------------------------------------------------------------------------------

def resample_weights(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """How often each of ``n`` comments is drawn in each bootstrap resample (resamples x n)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)


def _interval(values: np.ndarray) -> Interval:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return Interval(math.nan, math.nan)
    low, high = np.percentile(values, [2.5, 97.5])
    return Interval(float(low), float(high))


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)


def _measure(flagged: np.ndarray, known: np.ndarray, positive: np.ndarray,
             weights: np.ndarray) -> tuple[tuple[float, Interval], ...]:
    """Precision, recall and review rate of one label's flags, each with its interval."""
    hit = (flagged & known & positive).astype(np.float64)
    false = (flagged & known & ~positive).astype(np.float64)
    missed = (~flagged & known & positive).astype(np.float64)
    share = flagged.astype(np.float64)
    n = len(flagged)
    point = (_ratio(hit.sum(), hit.sum() + false.sum()), _ratio(hit.sum(), hit.sum() + missed.sum()),
             share.sum() / n if n else math.nan)
    tp, fp, fn, flags = weights @ hit, weights @ false, weights @ missed, weights @ share
    spread = (_ratio(tp, tp + fp), _ratio(tp, tp + fn), flags / n)
    return tuple((float(p), _interval(s)) for p, s in zip(point, spread, strict=True))


# Calibration ------------------------------------------------------------------------------------

def sample_labels(examples: Sequence[Example], labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(known, positive), comments x labels: which labels each comment's labels give, and which
    of those are positive (0.5 or more)."""
    known = np.array([[name in ex.labels for name in labels] for ex in examples], dtype=bool)
    positive = np.array([[ex.labels.get(name, 0.0) >= 0.5 for name in labels] for ex in examples],
                        dtype=bool)
    return known.reshape(len(examples), len(labels)), positive.reshape(len(examples), len(labels))


def score_examples(scorer: Scorer, examples: Sequence[Example]) -> np.ndarray:
    """Calibrated scores of the examples' texts (comments x the model's labels)."""
    results = scorer.score_batch([ex.text for ex in examples])
    names = scorer.info.label_names
    return np.array([[r.scores[name] for name in names] for r in results], dtype=np.float64
                    ).reshape(len(examples), len(names))


def calibrate(scores: np.ndarray, known: np.ndarray, positive: np.ndarray, current: Policy,
              target: Target, *, resamples: int = RESAMPLES, seed: int = SEED) -> Calibration:
    """Review thresholds for ``target`` from the sample's ``scores``, ``known`` and ``positive``
    (comments x labels, in ``current``'s label order). ``current`` holds the thresholds that
    labels without known values keep (and, for a review rate, what they flag)."""
    labels = list(current.rules)
    n = scores.shape[0]
    if n == 0:
        raise ConfigError("the sample holds no comment")
    chosen: dict[int, float] = {}
    notes: dict[int, str] = {}
    overall: list[str] = []
    # A label the sample shows no positive of has nothing to place a threshold by, whatever
    # the target: the site's sample may well say which comments are not threats and hold none.
    annotated = [j for j in range(len(labels)) if (known[:, j] & positive[:, j]).any()]
    for j in range(len(labels)):
        if j not in annotated:
            notes[j] = ("kept: no positive in the sample" if known[:, j].any()
                        else "kept: no known values in the sample")
    if isinstance(target, PrecisionTarget):
        for j in annotated:
            mine = known[:, j]
            found = precision_threshold(positive[mine, j], scores[mine, j], target.precision)
            if found is None:
                best, at = best_precision(positive[mine, j], scores[mine, j])
                if best >= target.precision:
                    notes[j] = (f"kept: precision {target.precision:g} is reached only at {at:.4f} "
                                f"({best:.3f}) and falls below it before half as many comments "
                                "are flagged: too unsteady to use")
                else:
                    notes[j] = (f"kept: no threshold reaches precision {target.precision:g} "
                                f"(the best is {best:.3f}, at {at:.4f})")
                continue
            chosen[j] = found
    elif target.per_label:
        for j in annotated:
            chosen[j] = rate_threshold(scores[:, j], target.rate)
    else:
        fixed = np.zeros(n, dtype=bool)
        for j, label in enumerate(labels):
            if j not in annotated:
                fixed |= scores[:, j] >= current.rules[label].review
        if fixed.mean() > target.rate:
            overall.append(f"the labels not calibrated already send {fixed.mean():.1%} of the sample "
                           f"to review at their thresholds, more than {target.rate:.1%}: the "
                           "calibrated ones flag as little as they can; raise the others' thresholds "
                           "in the policy file, or use --per-label")
        if annotated:
            chosen = _union_thresholds(scores, annotated, fixed, target.rate)
    thresholds = {j: round(chosen[j], DECIMALS) if j in chosen else current.rules[label].review
                  for j, label in enumerate(labels)}
    weights = resample_weights(n, resamples, seed)
    results = []
    for j, label in enumerate(labels):
        flagged = scores[:, j] >= thresholds[j]
        (precision, p_ci), (recall, r_ci), (rate, rate_ci) = _measure(
            flagged, known[:, j], positive[:, j], weights)
        positives = int((known[:, j] & positive[:, j]).sum())
        warnings: list[str] = []
        if j in annotated:
            if positives < MIN_POSITIVES:
                warnings.append(f"only {positives} positive(s), fewer than {MIN_POSITIVES}")
            count = int((flagged & known[:, j]).sum())
            if count < MIN_FLAGGED:
                warnings.append(f"only {count} comment(s) flagged, fewer than {MIN_FLAGGED}")
            for what, ci in (("precision", p_ci), ("recall", r_ci)):
                if ci.width > MAX_CI_WIDTH:
                    warnings.append(f"the {what} interval is {ci.width:.2f} wide, over {MAX_CI_WIDTH}")
        results.append(LabelCalibration(
            label=label, threshold=thresholds[j], calibrated=j in chosen,
            note=notes.get(j, _how(target)), known=int(known[:, j].sum()), positives=positives,
            precision=precision, precision_ci=p_ci, recall=recall, recall_ci=r_ci,
            review_rate=rate, review_rate_ci=rate_ci, warnings=tuple(warnings)))
    flagged_any = np.zeros(n, dtype=bool)
    for j in range(len(labels)):
        flagged_any |= scores[:, j] >= thresholds[j]
    spread = weights @ flagged_any.astype(np.float64) / n
    if not chosen:
        overall.append("no label was calibrated: the policy file keeps its thresholds")
    return Calibration(target, n, tuple(results), float(flagged_any.mean()), _interval(spread),
                       tuple(overall))


def _how(target: Target) -> str:
    if isinstance(target, PrecisionTarget):
        return f"the lowest threshold with precision >= {target.precision:g}"
    if target.per_label:
        return f"flags {target.rate:.1%} of the sample"
    return f"its share of a {target.rate:.1%} review rate"


# The policy file --------------------------------------------------------------------------------

def read_policy_data(path: Path, info: ModelInfo, community: str | None) -> tuple[dict[str, Any], Policy]:
    """What the policy file at ``path`` holds (empty when there is none) and the policy it gives
    the section calibration will write, before calibration: the community's (with the file's
    defaults under it) when it has one, else the file's defaults, else the model's thresholds.
    A file that is not a valid policy for ``info`` is an error: it is never overwritten."""
    if not path.exists():
        return {}, model_policy(info)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the policy file: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); name another output file") from None
    policy_from_dict(data, info, where=str(path))  # checks every section
    has_section = community is not None and community in (data.get("communities") or {})
    return data, policy_from_dict(data, info, community if has_section else None, where=str(path))


def updated_policy_data(data: Mapping[str, Any], calibration: Calibration,
                        community: str | None) -> dict[str, Any]:
    """``data`` with the calibrated labels' review thresholds set in the top-level ``labels``
    or, with ``community``, in ``communities.NAME.labels`` (added if missing). Their reject
    thresholds, the other labels and every other section stay as they were."""
    updated: dict[str, Any] = {key: value for key, value in data.items()}
    if community is None:
        section = dict(updated.get("labels") or {})
    else:
        communities = dict(updated.get("communities") or {})
        own = dict(communities.get(community) or {})
        section = dict(own.get("labels") or {})
    for label, threshold in calibration.thresholds.items():
        reject = section.get(label, {}).get("reject")
        if reject is not None and reject < threshold:
            where = "labels" if community is None else f"communities.{community}.labels"
            raise ConfigError(f"{label}: the calibrated review threshold {threshold:g} is above the "
                              f"policy file's reject threshold {reject:g} ({where}); a rejected "
                              "comment must also be flagged: lower the target or remove that reject")
        section[label] = {**section.get(label, {}), "review": threshold}
    if community is None:
        updated["labels"] = section
    else:
        communities[community] = {**own, "labels": section}
        updated["communities"] = communities
    return updated


def write_policy(path: Path, data: Mapping[str, Any], info: ModelInfo, community: str | None) -> Policy:
    """Check ``data`` as a policy for ``info``, then write it to ``path`` atomically; the policy
    of the section written."""
    policy = policy_from_dict(data, info, community, where=str(path), name=path.stem)
    with atomic_output(path) as handle:
        handle.write(policy_toml(data))
    return policy


# The report -------------------------------------------------------------------------------------

def _figure(value: float, ci: Interval, percent: bool = False) -> str:
    if math.isnan(value):
        return "-"

    def show(v: float) -> str:
        return f"{100 * v:.1f}%" if percent else f"{v:.3f}"

    if math.isnan(ci.low):
        return show(value)
    return f"{show(value)} [{show(ci.low)}, {show(ci.high)}]"


def describe_target(target: Target) -> str:
    if isinstance(target, PrecisionTarget):
        return f"precision >= {target.precision:g} per label"
    if target.per_label:
        return f"a review rate of {target.rate:.1%} per label"
    return f"a review rate of {target.rate:.1%} (comments with any label flagged)"


def format_report(calibration: Calibration, source: str) -> str:
    """A plain-text table: per label its threshold and what it does on the sample."""
    lines = [f"calibrated on {calibration.comments} comment(s) of {source} for "
             f"{describe_target(calibration.target)}; 95% bootstrap intervals "
             f"({RESAMPLES} resamples, seed {SEED})",
             f"{'label':<27} {'known':>5} {'pos':>5} {'review':>8}  {'precision':<22} "
             f"{'recall':<22} {'review rate':<22}"]
    for c in calibration.labels:
        if not c.known:
            lines.append(f"{c.label:<27} {'-':>5} {'-':>5} {c.threshold:>8.4f}  {c.note}")
            continue
        lines.append(f"{c.label:<27} {c.known:>5} {c.positives:>5} {c.threshold:>8.4f}  "
                     f"{_figure(c.precision, c.precision_ci):<22} {_figure(c.recall, c.recall_ci):<22} "
                     f"{_figure(c.review_rate, c.review_rate_ci, percent=True):<22}")
        if not c.calibrated:
            lines.append(f"{'':<27} {c.note}")
        for warning in c.warnings:
            lines.append(f"{'':<27} warning: not to be trusted: {warning}")
    lines.append(f"review rate of the sample (any label flagged): "
                 f"{_figure(calibration.review_rate, calibration.review_rate_ci, percent=True)}")
    lines += [f"note: {note}" for note in calibration.notes]
    return "\n".join(lines)
