"""agents.bench.content: the short-message set is deterministic and shaped as documented, and one
run reports both engines (model on, model off) on both sets as min/median/max."""

from __future__ import annotations

import random

from agents.bench import content
from streams.core.policy import load_policy


def test_short_messages_are_deterministic_about_20_chars_a_third_planted() -> None:
    chars = content._common_chars()
    terms = ["测试词甲", "测试词乙乙"]
    first = content._short_messages(random.Random(5), chars, terms)
    assert first == content._short_messages(random.Random(5), chars, terms)
    assert len(first) == content.MESSAGES
    low, high = content.SHORT_CHARS
    assert all(low <= len(t) <= high for t in first)
    assert 19 <= sum(map(len, first)) / len(first) <= 21
    planted = [t for t in first if any(term in t for term in terms)]
    assert len(planted) == len(range(0, content.MESSAGES, content.SHORT_PLANT_EVERY))


def test_without_model_turns_only_the_model_off() -> None:
    policy = load_policy()
    off = content.without_model(policy)
    assert off.section("content").get("model", {}).get("enabled", False) is False
    assert {k: v for k, v in off.section("content").items() if k != "model"} == {
        k: v for k, v in policy.section("content").items() if k != "model"
    }


def test_run_reports_both_engines_on_both_sets() -> None:
    figures = content.run(seconds=0.2, repeats=2)
    per_engine = figures["msgs_per_s"]
    for engine in ("with_model", "without_model", "bare_ahocorasick_rs"):
        for size in ("long", "short"):
            spread = per_engine[engine][size]
            assert 0 < spread["min"] <= spread["median"] <= spread["max"], (engine, size)
    assert figures["engine_msgs_per_s"] == per_engine["with_model"]["long"]["median"]
    assert set(figures["meets_target"]) == {"long", "short"} == set(figures["model_over_lexicon"])
    assert figures["targets_msgs_per_s"] == {"long": 20_000, "short": 60_000}
    short = figures["short"]
    assert 19 <= short["message_chars"]["mean"] <= 21
    assert short["messages_with_planted_terms"] * 3 >= short["messages"] - 2
    assert 0 < short["hit_rate"] < 1 and figures["repeats"] == 2
    assert figures["without_model"] is True
    if load_policy().section("content").get("model", {}).get("enabled"):
        assert figures["model"]["name"] and figures["model"]["version"]
