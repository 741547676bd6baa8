"""The schema of a policy file (config/policy.toml): every section, key, rule and rule parameter
the code reads, with its type and range (in the vocabulary of streams.core.toml_schema).
`policy_problems(data)` lists every mistake at once,
each with its TOML location; `streams.core.policy.load_policy` refuses a policy that has any.

The rule ids are SPEC §4's. Unit tests hold this schema to the code: every rule a detector
declares is here, every key the shipped policy sets validates, and the option lists of
`[content.normalize]`, `[content.pinyin]` and `split_words` match the modules that read them.
Values that need parsing (time zones, clock times, dates, weekdays, pinyin pairs) are parsed by
the functions below, which `streams.behaviour.worktime` and `streams.content.detector` use too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from streams.core.toml_schema import (
    Check,
    Flag,
    Integer,
    ListOf,
    Number,
    OneOf,
    Parsed,
    Problem,
    Table,
    Tables,
    Text,
    shown,
)
from topics.events import MSG_TYPES
from topics.reference import GROUP_KINDS, RANKS

SEVERITIES = ("info", "low", "medium", "high", "critical")
LADDERS = ("none", "warning", "demerit")
# SPEC §4's actions column; config/notify.toml says who hears of each and what they are asked to do.
ACTIONS = (
    "recall_message", "remove_member", "dissolve_group", "remind",
    "report_security", "notify_owner", "notify_admin", "notify_hr",
)  # fmt: skip


# -- parsers shared with the code that reads these values -------------------------------------


def zone_of(value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (KeyError, ValueError):
        raise ValueError(f"unknown time zone {shown(value)}") from None


def clock_of(value: Any) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"expected HH:MM, got {shown(value)}") from None


def end_clock_of(value: Any) -> time | None:
    """An end of working hours: a clock time, or "24:00" (None: until midnight)."""
    return None if str(value) == "24:00" else clock_of(value)


def weekdays_of(value: Any) -> frozenset[int]:
    if not isinstance(value, list) or not all(isinstance(d, int) and 1 <= d <= 7 for d in value):
        raise ValueError("expected ISO weekdays 1 (Monday) … 7 (Sunday)")
    return frozenset(value)


def dates_of(values: Any) -> frozenset[date]:
    if not isinstance(values, list):
        raise ValueError(f"expected a list of YYYY-MM-DD dates, got {shown(values)}")
    try:
        return frozenset(date.fromisoformat(str(v)) for v in values)
    except ValueError as exc:
        raise ValueError(f"expected YYYY-MM-DD dates ({exc})") from None


def sound_pair_of(value: Any) -> tuple[str, str]:
    """A `[content.pinyin] fuzzy` entry: "zh=z" → ("zh", "z")."""
    long, sep, short = str(value).partition("=")
    if not sep or not long.strip() or not short.strip():
        raise ValueError(f'expected "zh=z"-style pairs, got {shown(value)}')
    return long.strip(), short.strip()


def probability_of(value: Any) -> float:
    """A `[content.model] thresholds` value: a calibrated probability above 0, at most 1."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ValueError(f"must be a probability in (0, 1], got {shown(value)}")
    return float(value)


def brands_of(value: Any) -> dict[str, tuple[str, ...]]:
    """`[content.link_brands]`: a brand's name (as hosts spell it) -> the domains that are its own."""
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a table of brand = [its domains], got {shown(value)}")
    out = {}
    for brand, domains in value.items():
        if not isinstance(domains, list) or not domains or not all(isinstance(d, str) and d for d in domains):
            raise ValueError(f"{brand}: expected a list of domain names, got {shown(domains)}")
        out[str(brand).lower()] = tuple(d.strip().lower().lstrip(".") for d in domains)
    return out


# -- the policy ---------------------------------------------------------------------------------

POSITIVE = Integer(1)
COUNT = Integer(0)
SECONDS = Number(0, strict=True)
NAMES = ListOf(Text(nonempty=True))
RANK_LIST = ListOf(OneOf(RANKS, "a rank"))
KIND_LIST = ListOf(OneOf(GROUP_KINDS, "a group kind"))
ACTION_LIST = ListOf(OneOf(ACTIONS, "an action"))

RULE_KEYS: Mapping[str, Check] = {
    "severity": OneOf(SEVERITIES, "a severity"),
    "actions": ACTION_LIST,
    "clause": Text(),
    "ladder": OneOf(LADDERS, "a ladder"),
    "enabled": Flag(),
    "repeat_offence_actions": ACTION_LIST,  # the 2nd offence adds these (streams.ladder.steps)
}

CONTENT_RULES = (
    "content.political", "content.porn", "content.gambling", "content.violence", "content.malicious_link",
    "content.ad", "content.insult", "content.defamation", "content.inflammatory", "content.confidential",
    "content.rumor",
)  # fmt: skip
# The learned classifier's outputs (streams.content.classifier "heads"): one per content rule, learned
# from workplace examples, plus public-comment abuse (COLD's offensive comments), which fires
# content.insult with a threshold and calibration of its own.
PUBLIC_INSULT_HEAD = "content.insult#public"
MODEL_HEADS = (*CONTENT_RULES, PUBLIC_INSULT_HEAD)

# Each rule's own parameters, as the detector reads them (streams/behaviour, streams/membership).
RULE_PARAMS: Mapping[str, Mapping[str, Check]] = {
    **{rule: {} for rule in CONTENT_RULES},
    "media.large_file": {
        "max_bytes": POSITIVE,
        "msg_types": ListOf(OneOf(tuple(sorted(MSG_TYPES)), "a msg_type")),
    },
    "flood.rate": {"count": POSITIVE, "window_seconds": SECONDS},
    "flood.duplicate": {"count": POSITIVE, "min_chars": COUNT, "window_seconds": SECONDS},
    "flood.broadcast": {"groups": POSITIVE, "min_chars": COUNT, "window_seconds": SECONDS},
    "flood.mention_all": {"more_than": COUNT, "window_seconds": SECONDS},
    "chat.private_in_group": {
        "run_length": Integer(2),
        "min_each": POSITIVE,
        "window_seconds": SECONDS,
        "min_members": Integer(2),
    },
    "hours.off_hours": {},
    "hours.urgent_needs_call": {},
    "ack.missing": {
        "deadline_hours": SECONDS,
        "ranks": RANK_LIST,
        "ack_terms": NAMES,
        "notice_prefixes": NAMES,
    },
    "member.outsider": {},
    "member.invited_outsider": {},
    "member.departed": {},
    "member.unauthorized_leave": {"group_kinds": KIND_LIST},
    "member.nickname": {"separators": ListOf(Text())},
    "member.wrong_department": {"group_kinds": KIND_LIST, "exempt_ranks": RANK_LIST},
    "member.required_missing": {"ranks": RANK_LIST, "group_kinds": KIND_LIST},
    "group.unregistered": {},
    "group.owner_invalid": {},
    "group.name": {},
    "group.zombie": {"idle_days": SECONDS},
    "group.expired": {},
    "discipline.warning": {},
    "discipline.demerit": {},
    "discipline.dismissal_review": {},
    "discipline.retracted": {},
}
# Rules a policy may leave out: none since the ladder emits discipline.retracted (issue 15).
OPTIONAL_RULES: tuple[str, ...] = ()


def _working_hours(data: Mapping[str, Any], at: tuple[str, ...]) -> Iterator[Problem]:
    """Start before end, in the default hours and in each group's (which inherit the default)."""
    start, end = clock_of(data.get("start", "09:00")), end_clock_of(data.get("end", "18:00"))
    if end is not None and start >= end:
        yield Problem(at, None, f"start {start} is not before end {end}")
    for group_id, spec in (data.get("groups") or {}).items():
        own_start = clock_of(spec["start"]) if "start" in spec else start
        own_end = end_clock_of(spec["end"]) if "end" in spec else end
        if own_end is not None and own_start >= own_end:
            yield Problem((*at, "groups", group_id), None, f"start {own_start} is not before end {own_end}")


# Working hours: the defaults in [working_time], a group's own in [working_time.groups."<id>"].
HOURS: Mapping[str, Check] = {
    "timezone": Parsed(zone_of),
    "weekdays": Parsed(weekdays_of),
    "start": Parsed(clock_of),
    "end": Parsed(end_clock_of),
    "always": Flag(),  # 24×7: never outside working time
}

SCHEMA = Table(
    noun="section",
    keys={
        "version": Text(nonempty=True),
        "content": Table(
            {
                "dictionaries": Text(nonempty=True),
                "allow_list": Text(nonempty=True),
                "prohibition_frames": Text(nonempty=True),
                "target_words": Text(nonempty=True),
                "frame_window": COUNT,
                "split_words": OneOf(("spellings", "all", "off"), "a split_words mode"),
                "split_word_min_frequency": COUNT,
                "traditional_is_disguise": Flag(),
                "reload_seconds": SECONDS,
                "excerpt_chars": COUNT,
                "skip_msg_types": ListOf(OneOf(tuple(sorted(MSG_TYPES)), "a msg_type")),
                "link_allow_domains": NAMES,
                "link_shorteners": NAMES,
                "link_blocklist": NAMES,
                "link_risky_tlds": NAMES,
                "link_lookalike_endings": NAMES,
                "link_brands": Parsed(brands_of),
                "link_lure_words": NAMES,
                "executable_extensions": NAMES,
                "executable_extensions_in_text": NAMES,
                "executable_extensions_when_run": NAMES,
                "run_instructions": NAMES,
                "card_prefixes": ListOf(Text(digits=True)),
                "innocent_number_labels": NAMES,
                "normalize": Table(
                    {
                        step: Flag()
                        for step in ("nfkc", "casefold", "t2s", "strip_noise", "variants", "collapse_repeats")
                    },
                    noun="option",
                ),
                "pinyin": Table(
                    {
                        "enabled": Flag(),
                        "tag": Text(nonempty=True),
                        "homophones": Flag(),
                        "fuzzy": ListOf(Parsed(sound_pair_of)),
                    },
                    noun="option",
                ),
                # the learned classifier (streams.content.verdict): which rules it may fire, from
                # which calibrated score on
                "model": Table(
                    {
                        "enabled": Flag(),
                        "path": Text(nonempty=True),
                        "defer_to_lexicon": Flag(),
                        "defer_unless_below": Parsed(probability_of),
                        "defer_unless_above": Parsed(probability_of),
                        "lexicon_veto_below": Parsed(probability_of),
                        "lexicon_veto_every_below": Parsed(probability_of),
                        "lexicon_veto_harmless_below": Parsed(probability_of),
                        "needs_target": ListOf(OneOf(MODEL_HEADS, "a model head")),
                        "thresholds": Table(
                            {head: Parsed(probability_of) for head in MODEL_HEADS}, noun="model head"
                        ),
                    },
                    noun="option",
                ),
            }
        ),
        "working_time": Table(
            {
                **HOURS,
                "statutory_holidays": Flag(),
                "extra_holidays": Parsed(dates_of),
                "extra_workdays": Parsed(dates_of),
                "exempt_group_kinds": KIND_LIST,
                "groups": Tables(each=Table(HOURS)),
            },
            across=_working_hours,
        ),
        "event_time": Table(
            {
                "out_of_order_seconds": Number(0),
                "source_idle_seconds": Number(0),
                "idle_expiry_seconds": Number(0),
                "max_ahead_seconds": Number(0),
                "max_behind_days": Number(0),
            }
        ),
        "input": Table({"max_record_bytes": Integer(1024), "max_mentions": POSITIVE}),
        "membership": Table({"sweep_interval_seconds": SECONDS, "activity_resolution_seconds": Number(0)}),
        "ladder": Table(
            {
                "window_days": SECONDS,
                "warnings_per_demerit": POSITIVE,
                "demerits_per_dismissal_review": POSITIVE,
            }
        ),
        # who may judge any violation (streams.feedback.judges); how long what verdicts need is kept
        # (streams.feedback.stores.FeedbackLimits)
        "review": Table(
            {
                "administrators": ListOf(Text(nonempty=True)),
                "violation_days": SECONDS,
                "example_days": SECONDS,
                "max_examples": POSITIVE,
            }
        ),
        "rules": Tables(
            named={
                rule: Table({**RULE_KEYS, **params}, required=("severity",), noun="key")
                for rule, params in RULE_PARAMS.items()
            },
            required=tuple(rule for rule in RULE_PARAMS if rule not in OPTIONAL_RULES),
            noun="rule",
            missing="missing: every rule of SPEC §4 is listed (enabled = false switches one off)",
        ),
    },
    required=("rules",),
)


def policy_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Every mistake in a parsed policy file, in file order (missing keys after each table's)."""
    return SCHEMA.problems(data)
