"""The policy schema (streams.core.policy_schema): every mistake listed at once with its TOML location,
and the schema held to SPEC §4, to the detectors' declared rules and to every key the code reads."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from config import CONFIG_DIR
from streams.content.context import SPLIT_MODES
from streams.content.normalize import STEPS as NORMALIZE_STEPS
from streams.content.pinyin import PinyinOptions
from streams.core.policy import DEFAULT_POLICY, Policy, PolicyError, load_policy
from streams.core.policy_schema import (
    ACTIONS,
    OPTIONAL_RULES,
    RULE_KEYS,
    RULE_PARAMS,
    SCHEMA,
    policy_problems,
)
from streams.core.state import MemoryState
from streams.core.toml_schema import Table, Tables
from streams.detectors import build_detectors
from streams.ladder.steps import STEPS as LADDER_STEPS
from streams.ladder.steps import Ladder
from tests.conftest import CORPUS
from tests.support import FIVE_MISTAKES, edited

SPEC = CORPUS.parent / "SPEC.md"


def test_five_planted_mistakes_are_all_listed_with_their_location(tmp_path: Path) -> None:
    path = edited(tmp_path, *FIVE_MISTAKES)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.problems == (
        f'{path}: [rules."content.rumor"] actions: "remnd" is not an action (did you mean "remind"?)',
        f'{path}: [rules."flood.rate"] count: must be an integer >= 1, got -5',
        f'{path}: [rules."flood.rate"] cuont: unknown key (did you mean "count"?)',
        f'{path}: [rules."flood.duplicate"] window_seconds: must be a number > 0, got "60"',
        f'{path}: [rules."group.zombi"]: unknown rule (did you mean "group.zombie"?)',
        f'{path}: [rules."group.zombie"]: missing: every rule of SPEC §4 is listed (enabled = false switches one off)',
    )
    assert str(info.value) == "\n".join(info.value.problems)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (("out_of_order_seconds = 60", "out_of_order_seconds = -1"), "[event_time] out_of_order_seconds: must be a number >= 0, got -1"),
        (('severity = "low"', 'severity = "urgent"'), 'severity: "urgent" is not a severity (one of info, low, medium, high, critical)'),
        (('ladder = "warning"', 'ladder = "demerits"'), 'ladder: "demerits" is not a ladder (did you mean "demerit"?)'),
        (("warnings_per_demerit = 3", "warnings_per_demerit = 0"), "[ladder] warnings_per_demerit: must be an integer >= 1, got 0"),
        (("window_days = 365", "window_days = 0"), "[ladder] window_days: must be a number > 0, got 0"),
        (('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), '[working_time] timezone: unknown time zone "Mars/Olympus"'),
        (('start = "09:00"', 'start = "19:00"'), "[working_time]: start 19:00:00 is not before end 18:00:00"),
        (("weekdays = [1, 2, 3, 4, 5]", "weekdays = [0, 8]"), "[working_time] weekdays: expected ISO weekdays 1 (Monday) … 7 (Sunday)"),
        (("extra_holidays = []", 'extra_holidays = ["2026/10/01"]'), "[working_time] extra_holidays: expected YYYY-MM-DD dates"),
        (('exempt_group_kinds = ["interest"]', 'exempt_group_kinds = ["intrest"]'), '"intrest" is not a group kind (did you mean "interest"?)'),
        (('exempt_group_kinds = ["interest"]', 'exempt_group_kinds = ["interest"]\ngroups."g-ops".end = "08:00"'), '[working_time.groups.g-ops]: start 09:00:00 is not before end 08:00:00'),
        (('exempt_group_kinds = ["interest"]', 'exempt_group_kinds = ["interest"]\ngroups."g-ops".alwyas = true'), '[working_time.groups.g-ops] alwyas: unknown key (did you mean "always"?)'),
        (("nfkc = true", "nfkc = 1"), "[content.normalize] nfkc: must be true or false, got 1"),
        (('split_words = "all"', 'split_words = "some"'), '[content] split_words: "some" is not a split_words mode (one of spellings, all, off)'),
        (('card_prefixes = ["62"', "card_prefixes = [62"), "[content] card_prefixes: must be a string of digits, got 62"),
        (('ranks = ["team_lead", "manager"]', 'ranks = ["team_lead", "manger"]'), '[rules."ack.missing"] ranks: "manger" is not a rank (did you mean "manager"?)'),
        (('msg_types = ["video", "file"]', 'msg_types = ["video", "files"]'), '"files" is not a msg_type (did you mean "file"?)'),
        (('[content]', '[contnet]\n[content]'), '[contnet]: unknown section (did you mean "content"?)'),
        (('version = "2026-11-23"', "version = 2026"), "version: must be a non-empty string, got 2026"),
    ],
)  # fmt: skip
def test_a_mistake_in_any_section_is_named_with_its_location(
    tmp_path: Path, edit: tuple[str, str], problem: str
) -> None:
    path = edited(tmp_path, edit)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert [p for p in info.value.problems if problem in p], info.value.problems
    assert all(p.startswith(f"{path}: ") for p in info.value.problems)


def shipped_data() -> dict[str, Any]:
    with DEFAULT_POLICY.open("rb") as handle:
        return tomllib.load(handle)


@pytest.mark.parametrize(
    ("section", "values", "problem"),
    [
        ("event_time", {"max_ahead_seconds": -1}, "[event_time] max_ahead_seconds: must be a number >= 0, got -1"),
        ("event_time", {"max_behind_days": "1"}, '[event_time] max_behind_days: must be a number >= 0, got "1"'),
        ("event_time", {"idle_expiry_seconds": True}, "[event_time] idle_expiry_seconds: must be a number >= 0, got true"),
        ("input", {"max_record_bytes": 100}, "[input] max_record_bytes: must be an integer >= 1024, got 100"),
        ("input", {"max_mentions": 0}, "[input] max_mentions: must be an integer >= 1, got 0"),
        ("input", {"max_mentions": 2.5}, "[input] max_mentions: must be an integer >= 1, got 2.5"),
        ("membership", {"sweep_interval_seconds": 0}, "[membership] sweep_interval_seconds: must be a number > 0, got 0"),
        ("content", {"link_brands": {"qq": "qq.com"}}, '[content] link_brands: qq: expected a list of domain names, got "qq.com"'),
        ("content", {"link_brands": ["qq"]}, '[content] link_brands: expected a table of brand = [its domains], got ["qq"]'),
    ],
)  # fmt: skip
def test_section_keys_have_their_type_and_range(section: str, values: dict[str, Any], problem: str) -> None:
    data = shipped_data()
    data[section] = {**data.get(section, {}), **values}
    assert [p.at("policy.toml") for p in policy_problems(data)] == [f"policy.toml: {problem}"]


def test_the_limits_being_added_validate_when_set() -> None:
    data = shipped_data()
    data["event_time"] = {**data["event_time"], "max_ahead_seconds": 86400, "max_behind_days": 3650.5}
    data["input"] = {"max_record_bytes": 1048576, "max_mentions": 500}
    assert policy_problems(data) == []


def test_a_policy_without_rules_is_one_mistake_not_one_per_rule() -> None:
    assert [p.at("p.toml") for p in policy_problems({"version": "x"})] == ["p.toml: [rules]: missing"]


def test_the_shipped_policy_validates() -> None:
    assert policy_problems(shipped_data()) == []


def test_rule_ids_are_spec_section_4s() -> None:
    text = SPEC.read_text(encoding="utf-8")
    table = text[text.index("## 4. Rules") : text.index("## 5.")]
    cells = re.findall(r"(?m)^\| ([a-z_.]+(?: / [a-z_.]+)*) \|", table)
    spec_rules = {rule for cell in cells if cell != "rule" for rule in cell.split(" / ")}
    assert spec_rules == set(RULE_PARAMS)
    spec_actions = {
        a.strip() for row in re.findall(r"(?m)^\|.*$", table)[2:] for a in row.split("|")[5].split(",")
    }
    assert spec_actions == set(ACTIONS)


def test_every_rule_a_detector_declares_is_known() -> None:
    declared = {rule for detector in build_detectors(load_policy()) for rule in detector.rules}
    assert declared | set(LADDER_STEPS) == set(RULE_PARAMS) - set(OPTIONAL_RULES)


def test_every_action_has_notifier_instructions() -> None:
    with (CONFIG_DIR / "notify.toml").open("rb") as handle:
        manager = tomllib.load(handle)["instructions"]["manager"]
    assert set(manager) - {"rules"} == set(ACTIONS)


def test_option_lists_match_the_code_that_reads_them() -> None:
    content = SCHEMA.keys["content"]
    assert isinstance(content, Table)
    assert set(content.keys["normalize"].keys) == set(NORMALIZE_STEPS)  # type: ignore[union-attr]
    assert set(content.keys["pinyin"].keys) == {f.name for f in dataclasses.fields(PinyinOptions)}  # type: ignore[union-attr]
    assert content.keys["split_words"].options == SPLIT_MODES  # type: ignore[union-attr]


class Reads(dict):
    """A table that records every key the code looks up in it (and in the tables inside it)."""

    def __init__(self, data: dict, path: tuple[str, ...], log: set[tuple[str, ...]]) -> None:
        super().__init__(
            {k: Reads(v, (*path, k), log) if isinstance(v, dict) else v for k, v in data.items()}
        )
        self.path, self.log = path, log

    def get(self, key: str, default: Any = None) -> Any:
        self.log.add((*self.path, key))
        if key not in self.keys() and isinstance(default, dict):
            return Reads(default, (*self.path, key), self.log)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.log.add((*self.path, key))
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.log.add((*self.path, str(key)))
        return super().__contains__(key)


def known(path: tuple[str, ...]) -> bool:
    spec: Any = SCHEMA
    for part in path:
        if isinstance(spec, Table):
            spec = spec.keys.get(part)
        elif isinstance(spec, Tables):
            spec = spec.named.get(part, spec.each)
        else:
            return False
        if spec is None:
            return False
    return True


def test_every_key_the_detectors_and_the_ladder_read_is_in_the_schema() -> None:
    shipped = load_policy()
    log: set[tuple[str, ...]] = set()
    rules = {
        name: dataclasses.replace(rule, params=Reads(rule.params, ("rules", name), log))
        for name, rule in shipped.rules.items()
    }
    policy = Policy(shipped.version, rules, Reads(shipped.sections, (), log), shipped.base_dir)
    build_detectors(policy)
    Ladder(policy, MemoryState())
    assert len(log) > 40  # the recording works: most of the policy is read
    assert sorted(p for p in log if not known(p)) == []
    assert set(RULE_KEYS) >= {"severity", "actions", "clause", "ladder", "enabled"}
