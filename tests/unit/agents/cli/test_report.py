"""`qunguard report groups`: the per-group ledger view, as a table and as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson

from agents.cli.parser import main
from tests.conftest import CORPUS

REFERENCE = ["--roster", str(CORPUS / "roster.csv"), "--ledger", str(CORPUS / "ledger.csv")]


def report(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(["report", "groups", *args])
    out, err = capsys.readouterr()
    return code, out, err


def rows(text: str) -> dict[str, dict[str, str]]:
    return {r["group_id"]: r for r in csv.DictReader(io.StringIO(text))}


def test_corpus_report_as_csv(capsys) -> None:
    code, out, err = report([str(CORPUS / "scenarios.jsonl"), *REFERENCE, "--csv"], capsys)
    assert code == 0, err
    groups = rows(out)
    assert "g-proj-audit" not in groups  # dissolved
    staff = groups["g-all-staff"]
    assert staff["kind"] == "company" and staff["status"] == "needs action"
    assert staff["missing_leaders"] == "wx_linfeng;wx_jiangxin"
    assert int(staff["members"]) > 30 and staff["last_activity"] == "2026-10-16T17:30:00+08:00"
    assert {g for g, r in groups.items() if r["status"] == "dissolve"} == {
        "g-proj-summit", "g-int-photo", "g-proj-expo", "g-proj-erp",
    }  # fmt: skip
    assert (
        groups["g-sales-vip"]["kind"] == "unregistered" and groups["g-sales-vip"]["status"] == "needs action"
    )
    assert groups["g-rd-algo"]["nickname_mismatches"] == "wx_guopeng"
    assert groups["g-proj-newline"]["owner"] == "wx_hanqiang" and groups["g-proj-newline"]["status"] == "ok"
    assert groups["g-proj-px0917"]["status"] == "needs action" and "code" in groups["g-proj-px0917"]["issues"]
    assert groups["g-prod-equip"]["issues"] == "wx_hubin is in 研发部, not 生产部"


def test_report_of_a_group_with_outsiders_and_departed_members(tmp_path: Path, capsys) -> None:
    def member(n: int, action: str, who: str, nickname: str | None = None) -> dict:
        return {"kind": "membership", "event_id": f"e-{n}", "ts": f"2026-10-0{n}T10:00:00+08:00",
                "group_id": "g-sales-main", "action": action, "member_id": who, "nickname": nickname}  # fmt: skip

    events = [
        member(1, "member_present", "wx_lina", "销售部-李娜"),
        member(2, "member_present", "wx_kh_chenzong", "陈总"),
        member(3, "member_present", "wx_pantao", "销售部-潘涛"),
        member(4, "member_present", "wx_zhangwei", "张伟"),
        member(5, "member_present", "wx_zhaolei", "销售部-赵磊"),
        member(6, "member_removed", "wx_zhaolei"),
        {"kind": "roster", "event_id": "r-1", "ts": "2026-10-07T10:00:00+08:00", "employee_id": "E1011",
         "change": "departed"},
    ]  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    code, out, _ = report([str(path), *REFERENCE, "--csv"], capsys)
    assert code == 0
    row = rows(out)["g-sales-main"]
    assert row["members"] == "4"
    assert row["outsiders"] == "wx_kh_chenzong" and row["departed"] == "wx_lina;wx_pantao"
    assert row["nickname_mismatches"] == "wx_zhangwei" and row["status"] == "needs action"
    # a month later the same group is also idle
    code, out, _ = report([str(path), *REFERENCE, "--csv", "--as-of", "2026-11-10T10:00:00+08:00"], capsys)
    assert rows(out)["g-sales-main"]["status"] == "dissolve"


def test_terminal_table(capsys, tmp_path: Path) -> None:
    out_file = tmp_path / "report.txt"
    code, out, _ = report([str(CORPUS / "scenarios.jsonl"), *REFERENCE, "--out", str(out_file)], capsys)
    assert code == 0 and out == ""
    text = out_file.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["group", "name", "kind"]
    assert any(line.startswith("g-all-staff") and line.rstrip().endswith("needs action") for line in lines)
    assert "g-all-staff [needs action]: missing leaders: wx_linfeng, wx_jiangxin" in text
    assert lines[-1].startswith(
        "53 groups as of 2026-10-16T17:30:00+08:00: 41 ok, 8 needs action, 4 dissolve"
    )


def test_unusable_arguments_exit_2(capsys, tmp_path: Path) -> None:
    assert report(["/no/such/events.jsonl"], capsys)[0] == 2
    assert report([str(CORPUS / "scenarios.jsonl"), "--as-of", "yesterday"], capsys)[0] == 2
    bad = tmp_path / "roster.csv"
    bad.write_text("nonsense\n", encoding="utf-8")
    code, _, err = report([str(CORPUS / "scenarios.jsonl"), "--roster", str(bad)], capsys)
    assert code == 2 and "header" in err
