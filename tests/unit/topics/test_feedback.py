"""moderation.feedback records: SPEC §2 field names, round trips, and decode errors naming the field."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from topics.catalog import CATALOG, FEEDBACK
from topics.codec import MAX_TEXT_BYTES, DecodeError
from topics.feedback import CONFIRMED, FALSE_POSITIVE, MissedReport, Verdict, decode_feedback

VERDICT = {"kind": "verdict", "feedback_id": "f-91", "ts": "2026-11-23T10:00:00+08:00", "violation_id": "v-1",
           "group_id": "g-sales", "verdict": "false_positive", "reviewer_id": "E1001", "note": "误报"}  # fmt: skip
MISSED = {"kind": "missed", "feedback_id": "f-92", "ts": "2026-11-23T10:01:00+08:00", "event_id": "m-000124",
          "group_id": "g-sales", "rule": "content.ad", "reviewer_id": "E1001", "text": "加V领红包"}  # fmt: skip


def test_the_topic_is_in_the_catalog_keyed_by_group() -> None:
    assert FEEDBACK in CATALOG
    assert (FEEDBACK.name, FEEDBACK.key, FEEDBACK.partitions) == ("moderation.feedback", "group_id", 6)


def test_verdict_decodes_and_round_trips_with_the_spec_field_names() -> None:
    verdict = decode_feedback(orjson.dumps(VERDICT))
    assert isinstance(verdict, Verdict)
    assert (verdict.verdict, verdict.reviewer_id, verdict.key, verdict.kind) == (
        FALSE_POSITIVE, "E1001", "g-sales", "verdict")  # fmt: skip
    assert orjson.loads(verdict.to_bytes()) == VERDICT
    assert decode_feedback(verdict.to_bytes()) == verdict
    assert decode_feedback(verdict.to_dict()) == verdict


def test_missed_report_decodes_and_round_trips() -> None:
    missed = decode_feedback(orjson.dumps(MISSED).decode())
    assert isinstance(missed, MissedReport)
    assert (missed.event_id, missed.rule, missed.text, missed.key) == (
        "m-000124",
        "content.ad",
        "加V领红包",
        "g-sales",
    )
    assert orjson.loads(missed.to_bytes()) == MISSED


def test_note_and_text_are_optional() -> None:
    verdict = decode_feedback({k: v for k, v in VERDICT.items() if k != "note"})
    missed = decode_feedback({**MISSED, "text": None})
    assert (verdict.note, missed.text) == ("", "")


def test_a_record_built_in_code_encodes_its_time_as_rfc3339() -> None:
    ts = datetime.fromisoformat("2026-11-23T10:00:00+08:00")
    verdict = Verdict("f-1", ts, "v-1", "g-sales", CONFIRMED, "E1001")
    assert orjson.loads(verdict.to_bytes())["ts"] == "2026-11-23T10:00:00+08:00"


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Verdict("f-1", datetime.fromisoformat("2026-11-23T10:00:00+08:00"), "v", "g", "maybe", "E1"),
        lambda: Verdict("f-1", datetime(2026, 11, 23, 10), "v", "g", CONFIRMED, "E1"),
        lambda: MissedReport("f-1", datetime(2026, 11, 23, 10), "m", "g", "content.ad", "E1"),
    ],
)
def test_building_a_record_that_could_not_be_decoded_is_refused(bad) -> None:
    with pytest.raises(ValueError):
        bad()


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (None, "-"),
        (b"\xff", "-"),
        (b"[]", "-"),
        (orjson.dumps({**VERDICT, "kind": "appeal"}), "kind"),
        (orjson.dumps({k: v for k, v in VERDICT.items() if k != "kind"}), "kind"),
        (orjson.dumps({**VERDICT, "verdict": "wrong"}), "verdict"),
        (orjson.dumps({k: v for k, v in VERDICT.items() if k != "verdict"}), "verdict"),
        (orjson.dumps({k: v for k, v in VERDICT.items() if k != "feedback_id"}), "feedback_id"),
        (orjson.dumps({**VERDICT, "feedback_id": ""}), "feedback_id"),
        (orjson.dumps({k: v for k, v in VERDICT.items() if k != "violation_id"}), "violation_id"),
        (orjson.dumps({k: v for k, v in VERDICT.items() if k != "group_id"}), "group_id"),
        (orjson.dumps({**VERDICT, "reviewer_id": 1001}), "reviewer_id"),
        (orjson.dumps({**VERDICT, "ts": "2026-11-23T10:00:00"}), "ts"),
        (orjson.dumps({**VERDICT, "note": ["x"]}), "note"),
        (orjson.dumps({**VERDICT, "note": "字" * (MAX_TEXT_BYTES // 3 + 1)}), "note"),
        (orjson.dumps({k: v for k, v in MISSED.items() if k != "event_id"}), "event_id"),
        (orjson.dumps({k: v for k, v in MISSED.items() if k != "rule"}), "rule"),
        (orjson.dumps({**MISSED, "text": "字" * (MAX_TEXT_BYTES // 3 + 1)}), "text"),
    ],
)
def test_bad_records_name_the_field(raw: bytes | None, field: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_feedback(raw)
    assert caught.value.field == field
