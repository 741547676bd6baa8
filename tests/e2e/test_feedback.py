"""Reviewers' verdicts end to end over the real broker and Redis, one worker process: a gambling
message gives a violation and a warning; `qunguard review false-positive` refuses someone who may not
judge it; on moderation.feedback a bad record (dead-lettered, the worker goes on), the refused verdict
produced anyway (refused by the worker, counted) and the group owner's, sent by the CLI (applied): the
warning is retracted with a discipline.retracted record, the same text no longer fires in that group
but still does in another, the reviewed-precision metric moves, `qunguard discipline show` lists the
withdrawn step; the same command again changes nothing more; `review stats` and `allow list` agree."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson

from agents.cli.parser import main
from agents.dev.embedded import free_port, worker
from tests.support import Reader, Scene, distinct, get, metric_value, wait_for
from topics.catalog import DEADLETTER, FEEDBACK, VIOLATIONS
from topics.feedback import CONFIRMED, FALSE_POSITIVE, Verdict

GAMBLING = "兄弟们今晚一起买六合彩吗,赌球也行"
PORN = "有人要看A片吗,约炮软件私聊我"


def test_a_false_positive_retracts_allows_and_counts_once(
    bootstrap: str, redis_url: str, unique: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    scene = Scene(unique, tmp_path)  # the lead (E…1) owns both groups; staff (E…2) and flooder (E…3) do not
    settings = scene.settings(bootstrap, redis_url, web_port=free_port())
    scene.load_reference(settings)
    owner, employee, outsider = f"E{unique}1", f"E{unique}2", f"E{unique}3"
    for name, value in (("KAFKA_BOOTSTRAP", bootstrap), ("REDIS_URL", redis_url),
                        ("QUNGUARD_REDIS_PREFIX", settings.redis_prefix)):  # fmt: skip
        monkeypatch.setenv(name, value)

    def review(*argv: str) -> tuple[int, str]:
        code = main(["review", *argv])
        out, err = capsys.readouterr()
        return code, out + err

    def metric(name: str, **labels: str) -> float:
        return metric_value(get(settings.web_port, "/metrics")[1], name, **labels)

    first = scene.message(scene.chat, scene.staff, 0, text=GAMBLING)
    proc = worker(tmp_path, settings.env()).start()
    reader = Reader(bootstrap, (VIOLATIONS.name, DEADLETTER.name))
    try:
        scene.produce(bootstrap, [first])
        seen = reader.until(lambda msgs: len(distinct(msgs, {first[1]})) >= 2)
        gambling = next(v for v in distinct(seen, {first[1]}) if v["rule"] == "content.gambling")
        warning = next(v for v in distinct(seen, {first[1]}) if v["rule"] == "discipline.warning")

        code, said = review("false-positive", gambling["violation_id"], "--reviewer", outsider)
        assert code == 1 and "refused" in said and "nothing was sent" in said, said
        refused = Verdict(f"{unique}-f1", datetime.now(UTC), gambling["violation_id"], scene.chat,
                          FALSE_POSITIVE, outsider)  # fmt: skip
        bad = b'{"kind": "verdict", "feedback_id": "x"'
        scene.produce(bootstrap, [(FEEDBACK.name, "-", scene.chat, bad),
                                  (FEEDBACK.name, "-", scene.chat, refused.to_bytes())])  # fmt: skip
        applied = (
            "false-positive",
            gambling["violation_id"],
            "--reviewer",
            owner,
            "--note",
            "说的是体彩新闻",
        )
        code, said = review(*applied)
        assert code == 0, said
        applied_id = said.split(" as ")[1].split(";")[0]

        def retracted(msgs) -> list[dict]:
            return distinct(msgs, {first[1]}, "discipline.retracted")

        def dead(msgs) -> list:
            return [m for m in msgs if m.topic() == DEADLETTER.name and dict(m.headers() or ()).get(
                "qg-source-topic") == FEEDBACK.name.encode() and m.key() == scene.chat.encode()]  # fmt: skip

        seen = reader.until(lambda msgs: retracted(msgs) and dead(msgs))
        [withdrawn] = retracted(seen)
        evidence = withdrawn["evidence"]
        assert evidence["step_violation_id"] == warning["violation_id"], withdrawn
        assert (evidence["feedback_id"], evidence["reviewer_id"]) == (applied_id, owner)
        assert withdrawn["employee_id"] == employee and withdrawn["severity"] == "info"
        assert b"invalid JSON" in dict(dead(seen)[0].headers())["qg-reason"]
        assert metric("qunguard_feedback_total", kind="verdict", outcome="not_a_judge") == 1
        assert metric("qunguard_feedback_total", kind="verdict", outcome="applied") == 1
        assert metric("qunguard_reviewed_total", rule="content.gambling", verdict=FALSE_POSITIVE) == 1

        # the same text again: allowed in this group, not in the other; the porn message after it
        # in the same group (partition) shows the group's message was judged
        again = scene.message(scene.chat, scene.staff, 10, text=GAMBLING)
        elsewhere = scene.message(scene.notices, scene.staff, 11, text=GAMBLING)
        after = scene.message(scene.chat, scene.staff, 12, text=PORN)
        scene.produce(bootstrap, [again, elsewhere, after])
        later = {again[1], elsewhere[1], after[1]}

        def content(msgs) -> list[tuple[str, str]]:
            return sorted((v["rule"], v["source_event_ids"][0]) for v in distinct(msgs, later)
                          if v["rule"].startswith("content."))  # fmt: skip

        seen = reader.until(lambda msgs: len(content(msgs)) >= 2)
        assert content(seen) == [("content.gambling", elsewhere[1]), ("content.porn", after[1])]
        porn = next(v for v in distinct(seen, {after[1]}) if v["rule"] == "content.porn")

        # the same command again (the same feedback id), then a confirmed verdict after it on the
        # same partition: once that one counts, the repeat was read and changed nothing
        assert review(*applied)[0] == 0
        assert review("confirm", porn["violation_id"], "--reviewer", owner)[0] == 0
        wait_for(lambda: metric("qunguard_reviewed_total", rule="content.porn", verdict=CONFIRMED) == 1,
                 60, "the confirmed verdict counted", proc.log_path)  # fmt: skip
        assert metric("qunguard_feedback_total", kind="verdict", outcome="repeated") == 1
        assert metric("qunguard_reviewed_total", rule="content.gambling", verdict=FALSE_POSITIVE) == 1
        assert proc.running, proc.log_path.read_text()[-3000:]
    finally:
        reader.close()
        proc.stop()

    stats = orjson.loads(review("stats", "--json")[1])
    assert (stats["content.gambling"]["false_positive"], stats["content.porn"]["confirmed"]) == (1, 1)
    assert stats["all"]["precision"] == 0.5
    assert main(["allow", "list", "--group", scene.chat, "--json"]) == 0
    [entry] = orjson.loads(capsys.readouterr().out)
    assert (entry["group_id"], entry["reviewer_id"], entry["violation_id"]) == (
        scene.chat, owner, gambling["violation_id"])  # fmt: skip
    assert main(["discipline", "show", employee, "--json"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    assert [(w["step"], w["reason"], w["reviewer_id"]) for w in doc["withdrawn"]] == [
        ("discipline.warning", "false_positive", owner)
    ]
    assert doc["warnings"] == 2  # the later two messages; the retracted one counts for nothing
