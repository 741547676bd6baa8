"""The contract in code: codecs name the bad field; reference readers name file, line and field."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from config import SAMPLE_DIR
from topics.catalog import CATALOG, topic_for_event
from topics.codec import MAX_TEXT_BYTES, DecodeError, decode_event, decode_violation, encode
from topics.events import MembershipEvent, MessageEvent, RosterEvent
from topics.reference import ReferenceFileError, read_ledger, read_roster
from topics.violation import Violation, violation_id

MESSAGE = {"kind": "message", "event_id": "m-1", "ts": "2026-11-23T09:15:02+08:00", "group_id": "g-sales",
           "sender_id": "wx_zhangsan"}  # fmt: skip


def test_minimal_message_gets_defaults() -> None:
    event = decode_event(orjson.dumps(MESSAGE))
    assert isinstance(event, MessageEvent)
    assert (event.text, event.msg_type, event.mentions, event.urgent, event.attachment) == (
        "",
        "text",
        (),
        False,
        None,
    )
    assert event.ts.utcoffset().total_seconds() == 8 * 3600
    assert topic_for_event(event).name == "chat.messages" and event.key == "g-sales"


def test_encode_round_trips() -> None:
    full = {
        **MESSAGE,
        "text": "收到",
        "mentions": ["wx_a"],
        "attachment": {"name": "a.mp4", "size": 5, "url": "u"},
    }
    event = decode_event(orjson.dumps(full))
    assert decode_event(encode(event)) == event


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"\xff\xfe", "-"),
        (b"[1, 2]", "-"),
        (b'{"kind": "message"', "-"),
        (orjson.dumps({**MESSAGE, "kind": "sticker"}), "kind"),
        (orjson.dumps({k: v for k, v in MESSAGE.items() if k != "sender_id"}), "sender_id"),
        (orjson.dumps({**MESSAGE, "ts": "2026-11-23T09:15:02"}), "ts"),
        (orjson.dumps({**MESSAGE, "ts": "23/11/2026"}), "ts"),
        (orjson.dumps({**MESSAGE, "msg_type": "gif"}), "msg_type"),
        (orjson.dumps({**MESSAGE, "urgent": "yes"}), "urgent"),
        (orjson.dumps({**MESSAGE, "text": "字" * (MAX_TEXT_BYTES // 3 + 1)}), "text"),
        (orjson.dumps({**MESSAGE, "attachment": {"size": -1}}), "attachment.size"),
        (
            orjson.dumps(
                {
                    "kind": "membership",
                    "event_id": "e",
                    "ts": MESSAGE["ts"],
                    "group_id": "g",
                    "action": "member_exploded",
                    "member_id": "wx",
                }
            ),
            "action",
        ),
        (
            orjson.dumps(
                {
                    "kind": "roster",
                    "event_id": "r",
                    "ts": MESSAGE["ts"],
                    "employee_id": "E1",
                    "change": "upsert",
                    "record": {"employee_id": "E1", "name": "赵六", "accounts": ["wx_z"]},
                }
            ),
            "record.department",
        ),
    ],
)
def test_bad_records_name_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_event(raw)
    assert info.value.field == field


def test_membership_and_roster_events() -> None:
    joined = decode_event(
        orjson.dumps(
            {
                "kind": "membership",
                "event_id": "e-1",
                "ts": "2026-11-23T09:00:00Z",
                "group_id": "g",
                "action": "member_joined",
                "member_id": "wx_a",
                "actor_id": "wx_b",
            }
        )
    )
    assert isinstance(joined, MembershipEvent) and joined.actor_id == "wx_b"
    departed = decode_event(
        orjson.dumps(
            {
                "kind": "roster",
                "event_id": "r-1",
                "ts": "2026-11-23T09:00:00+08:00",
                "employee_id": "E1003",
                "change": "departed",
            }
        )
    )
    assert isinstance(departed, RosterEvent) and departed.key == "E1003"


def test_violation_id_is_deterministic_and_order_free() -> None:
    a = violation_id("flood.rate", "wx_a", "g", ["m-2", "m-1"])
    assert a == violation_id("flood.rate", "wx_a", "g", ["m-1", "m-2"])
    assert a != violation_id("flood.rate", "wx_b", "g", ["m-1", "m-2"])


def test_catalog_names_are_the_spec_names() -> None:
    assert [t.name for t in CATALOG] == [
        "chat.messages", "chat.membership", "hr.roster", "moderation.violations", "moderation.deadletter",
        "moderation.notify.deadletter", "moderation.feedback",
    ]  # fmt: skip


def test_sample_reference_files_are_valid() -> None:
    roster, ledger = read_roster(SAMPLE_DIR / "roster.csv"), read_ledger(SAMPLE_DIR / "ledger.csv")
    assert len(roster) == 16 and roster[3].accounts == ("wx_wuting", "wx_wuting_work")
    assert {g.kind for g in ledger} == {"company", "department", "project", "interest"}


@pytest.mark.parametrize(
    ("line", "replace", "field"),
    [
        (3, ("行政部,行政经理,manager", "行政部,行政经理,boss"), "rank"),
        (3, ("active", "retired"), "status"),
        (3, ("wx_linxiaomei", ""), "accounts"),
        (3, ("wx_linxiaomei", "wx_chenguohua"), "accounts"),
        (17, (",2026-10-31T18:00:00+08:00", ",last october"), "left_at"),
    ],
)
def test_roster_errors_name_line_and_field(
    tmp_path: Path, line: int, replace: tuple[str, str], field: str
) -> None:
    lines = (SAMPLE_DIR / "roster.csv").read_text(encoding="utf-8").splitlines()
    lines[line - 1] = lines[line - 1].replace(*replace)
    path = tmp_path / "roster.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ReferenceFileError) as info:
        read_roster(path)
    assert (info.value.line, info.value.field) == (line, field)
    assert str(path) in str(info.value)


def test_ledger_errors_name_line_and_field(tmp_path: Path) -> None:
    lines = (SAMPLE_DIR / "ledger.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(",true,false", ",maybe,false")
    path = tmp_path / "ledger.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ReferenceFileError) as info:
        read_ledger(path)
    assert (info.value.line, info.value.field) == (3, "approved")


VIOLATION = Violation(
    violation_id="v-1", rule="content.ad", severity="medium", actions=("recall_message",), group_id="g-sales",
    subject_id="wx_a", employee_id="E1", source_event_ids=("m-1",), event_ts="2026-11-23T10:00:00+08:00",
    detected_at="2026-11-23T10:00:01+08:00", clause="三、11", evidence={"matched": "加微信"}, policy_version="p1",
)  # fmt: skip


def test_decode_violation_round_trips() -> None:
    assert decode_violation(encode(VIOLATION)) == VIOLATION
    assert decode_violation(encode(VIOLATION), require=("employee_id", "event_ts")) == VIOLATION
    minimal = decode_violation(b'{"violation_id": "v", "rule": "r", "severity": "low", "actions": []}')
    assert minimal.employee_id is None and minimal.source_event_ids == () and minimal.event_ts == ""


@pytest.mark.parametrize(
    ("record", "field", "require"),
    [
        (b'{"rule": "x"', "-", ()),
        (None, "-", ()),
        (b'{"rule": "content.ad", "severity": "medium", "actions": []}', "violation_id", ()),
        (b'{"violation_id": "v", "rule": "r", "severity": "low", "actions": "remind"}', "actions", ()),
        (b'{"violation_id": "v", "rule": "r", "severity": "low", "actions": [], "evidence": "x"}', "evidence", ()),
        (b'{"violation_id": "v", "rule": "r", "severity": "", "actions": []}', "severity", ()),
        (b'{"violation_id": "v", "rule": "r", "severity": "low", "actions": [], "event_ts": "soon"}', "event_ts", ()),
        (b'{"violation_id": "v", "rule": "r", "severity": "low", "actions": []}', "employee_id", ("employee_id",)),
        (b'{"violation_id": "v", "rule": "r", "severity": "low", "actions": [], "employee_id": "E1"}', "event_ts",
         ("employee_id", "event_ts")),
    ],
)  # fmt: skip
def test_bad_violation_records_name_the_field(record, field: str, require: tuple[str, ...]) -> None:
    with pytest.raises(DecodeError) as err:
        decode_violation(record, require=require)
    assert err.value.field == field
