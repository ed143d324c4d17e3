"""Policies: thresholds from the model by default, per-label review/reject and communities from
TOML, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.errors import ConfigError
from moderation.modeldir import LabelInfo, ModelInfo
from moderation.policy import Rule, load_policy, model_policy

INFO = ModelInfo(
    path=Path("models/x"), name="x", version="1", base_name="base", base_sha256="0",
    labels=(LabelInfo("hostility", "hostility", threshold=0.6),
            LabelInfo("insult", "hostility", threshold=0.4),
            LabelInfo("propaganda", "propaganda", threshold=0.5)),
)

POLICY = """
[labels]
hostility = { review = 0.5, reject = 0.9 }
insult = { reject = 0.3 }

[communities.kids.labels]
hostility = { review = 0.2 }
propaganda = { review = 0.3, reject = 0.8 }

[communities.debate.labels]
hostility = { reject = 0.99 }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_reviews_at_the_model_thresholds_and_never_rejects() -> None:
    policy = model_policy(INFO)
    assert policy.rules == {"hostility": Rule(0.6), "insult": Rule(0.4), "propaganda": Rule(0.5)}
    assert policy.decide({"hostility": 0.59, "insult": 0.1, "propaganda": 0.2}) == ([], "allow")
    assert policy.decide({"hostility": 0.6, "insult": 0.1, "propaganda": 0.2}) == (["hostility"], "review")
    assert policy.decide({"hostility": 1.0, "insult": 1.0, "propaganda": 1.0})[1] == "review"


def test_headline_reject_option_matches_the_services_rule() -> None:
    policy = model_policy(INFO, reject_headlines_at=0.55)
    # a headline rejects at max(reject_at, its threshold); other labels never reject
    assert policy.rules["hostility"] == Rule(0.6, 0.6) and policy.rules["insult"] == Rule(0.4)
    assert policy.decide({"hostility": 0.1, "insult": 0.99, "propaganda": 0.55})[1] == "reject"


def test_file_defaults_and_communities_merge_key_by_key(tmp_path: Path) -> None:
    path = write(tmp_path, POLICY)
    base = load_policy(path, INFO)
    # insult: only reject given, so review is the model's 0.4 lowered to the reject threshold
    assert base.rules == {"hostility": Rule(0.5, 0.9), "insult": Rule(0.3, 0.3), "propaganda": Rule(0.5)}
    kids = load_policy(path, INFO, "kids")
    assert kids.name == "policy:kids"
    assert kids.rules["hostility"] == Rule(0.2, 0.9)  # review from the community, reject from the file
    assert kids.rules["propaganda"] == Rule(0.3, 0.8)
    scores = {"hostility": 0.25, "insult": 0.0, "propaganda": 0.85}
    assert base.decide(scores) == (["propaganda"], "review")
    assert kids.decide(scores) == (["hostility", "propaganda"], "reject")
    assert load_policy(path, INFO, "debate").rules["hostility"] == Rule(0.5, 0.99)


@pytest.mark.parametrize("text, community, message", [
    ("[labels]\nhostilty = { review = 0.5 }", None,
     "labels.hostilty: not a label of model 'x' (did you mean hostility?)"),
    ("[labels]\nhostility = { review = 1.5 }", None, "labels.hostility.review: must be a probability"),
    ("[labels]\nhostility = { review = 'high' }", None, "must be a probability between 0 and 1"),
    ("[labels]\nhostility = { revew = 0.5 }", None, "unknown key(s) revew"),
    ("[labels]\nhostility = { review = 0.8, reject = 0.7 }", None, "reject (0.7) is below review (0.8)"),
    ("[lables]\n", None, "unknown key(s) lables"),
    (POLICY, "teens", "no community 'teens' (communities: debate, kids)"),
    # a broken community is found even when another one (or none) is used
    (POLICY + "[communities.bad.labels]\nthreat = { review = 0.1 }\n", None,
     "communities.bad.labels.threat: not a label"),
    ("[labels\n", None, "not valid TOML"),
])
def test_bad_policies_name_the_file_and_key(tmp_path: Path, text: str, community: str | None,
                                            message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_policy(path, INFO, community)
    assert str(path) in str(error.value) and message in str(error.value)


def test_missing_policy_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the policy file"):
        load_policy(tmp_path / "nope.toml", INFO)
