"""The notifier end to end over a real broker and Redis, with a real local HTTP server (aiohttp)
as every webhook: violation records on moderation.violations → messages to owners, admins, HR,
the security office and subjects; low-severity reminders batched into digests; a webhook that
fails three times then recovers gets each message exactly once; a restarted notifier that
reads the whole topic again delivers nothing twice; a webhook that always fails and unreadable
violation records end on moderation.notify.deadletter."""

from __future__ import annotations

import collections
import functools
import re
import time
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from confluent_kafka import Producer

from agents.connect.kafka import producer_config
from agents.connect.offsets import caught_up, committed_offsets, end_offsets
from agents.dev.embedded import Service, free_port, notifier, tansu
from agents.dev.webhook import LocalWebhook
from agents.notify.run import NotifySettings
from config import SAMPLE_DIR
from tests.support import e2e_settings, load_sample, read_until
from topics.catalog import NOTIFY_DEADLETTER, VIOLATIONS


@pytest.fixture(scope="module")
def notify_bootstrap(tmp_path_factory: pytest.TempPathFactory):
    """A broker of its own: a fresh notifier group reads moderation.violations from the start."""
    service = tansu(tmp_path_factory.mktemp("notify-broker")).start()
    yield f"127.0.0.1:{service.port}"
    service.stop()


class Webhooks(LocalWebhook):
    """Records every request per path; /people fails its first `fail_first` requests with HTTP
    500, /broken always fails."""

    def __init__(self, fail_first: int = 3) -> None:
        super().__init__("/{name}")
        self.fail_first = fail_first
        self.requests: list[tuple[str, int, dict]] = []  # (path, status answered, body)

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.json()
        failing = name == "broken" or (name == "people" and self.fail_first > 0)
        if name == "people" and self.fail_first > 0:
            self.fail_first -= 1
        status = 500 if failing else 200
        self.requests.append((name, status, body))
        if name.startswith("wecom"):
            return web.json_response({"errcode": 0, "errmsg": "ok"}, status=status)
        return web.json_response({"ok": not failing}, status=status)

    def delivered(self, name: str) -> list[dict]:
        return [body for path, status, body in list(self.requests) if path == name and status == 200]


def write_config(path: Path, port: int) -> Path:
    base = f"http://127.0.0.1:{port}"
    text = (SAMPLE_DIR.parent / "notify.toml").read_text(encoding="utf-8")
    text = text.split("# Roles: owner, admin and subject", 1)[0].split("[delivery]", 1)[0]
    path.write_text(
        text
        + f"""
[delivery]
attempts = 5
backoff_base_seconds = 0.2
backoff_max_seconds = 1.0
timeout_seconds = 5.0
dedupe_ttl_days = 1

[digest]
severities = ["info", "low"]
interval_seconds = 3600
max_items = 3
check_seconds = 1

[recipients]
group = ["owner", "admin"]
actions = {{ notify_owner = ["owner"], notify_admin = ["admin"], notify_hr = ["hr"], report_security = ["security"], remind = ["subject"] }}
rules = {{ "discipline.*" = ["hr"] }}
fallback = "platform"

[roles.owner]
label = "群主"
sinks = ["people"]
[roles.admin]
label = "群管理员"
sinks = ["people"]
[roles.subject]
label = "当事人"
audience = "subject"
sinks = ["people"]
[roles.hr]
label = "人力资源部"
audience = "hr"
sinks = ["wecom_hr"]
[roles.security]
label = "保密/安全部门"
audience = "security"
sinks = ["wecom_security"]
[roles.platform]
label = "平台管理员"
sinks = ["broken"]

[sinks.people]
type = "webhook"
url = "{base}/people"
format = "generic"
[sinks.wecom_hr]
type = "webhook"
url = "{base}/wecom_hr"
format = "wecom_text"
[sinks.wecom_security]
type = "webhook"
url = "{base}/wecom_security"
format = "wecom_markdown"
[sinks.broken]
type = "webhook"
url = "{base}/broken"
format = "generic"
"""
        + "\n[severity]"
        + (SAMPLE_DIR.parent / "notify.toml").read_text(encoding="utf-8").split("[severity]", 1)[1],
        encoding="utf-8",
    )
    return path


def record(vid: str, rule: str, severity: str, actions: list[str], clause: str, group: str | None,
           subject: str | None, employee: str | None, evidence: dict | None = None) -> dict:  # fmt: skip
    return {
        "violation_id": vid, "rule": rule, "severity": severity, "actions": actions, "group_id": group,
        "subject_id": subject, "employee_id": employee, "source_event_ids": [f"{vid}-m"],
        "event_ts": "2026-11-23T10:00:00+08:00", "detected_at": "2026-11-23T10:00:01+08:00",
        "clause": clause, "evidence": evidence or {}, "policy_version": "test",
    }  # fmt: skip


VIOLATIONS_IN = [
    record("v-gamble", "content.gambling", "high", ["recall_message"], "D1.3 D2.7.2.4 D4.3.11", "g-sales",
           "wx_wanglei", "E0006", {"terms": ["六合彩"], "excerpt": "今晚一起买六合彩"}),
    record("v-secret", "content.confidential", "critical", ["recall_message", "report_security", "remove_member"],
           "D2.7.2.2 D3 D4.3.12", "g-rd", "wx_qiancheng", "E0010",
           {"terms": ["resident_id_number"], "excerpt": "身份证号 **************1234"}),
    record("v-warn", "discipline.warning", "medium", ["notify_hr"], "D4.4", "g-sales", "wx_wanglei", "E0006",
           {"rule": "content.gambling", "violation_id": "v-gamble", "warnings": 1, "demerits": 0}),
    record("v-flood", "flood.rate", "low", ["remind"], "D2 (二)2 D5.7.1", "g-rd", "wx_fengyu", "E0011",
           {"count": 10, "seconds": 45.0}),
    record("v-late", "hours.off_hours", "low", ["remind"], "product brief", "g-rd", "wx_fengyu", "E0011"),
    record("v-big", "media.large_file", "info", ["remind"], "D2.7.2.7", "g-rd", "wx_fengyu", "E0011",
           {"size": 78643200, "max_bytes": 20971520}),
    record("v-unreg", "group.unregistered", "medium", ["notify_admin"], "D3.1.1 D5.4.6", "g-nowhere", None, None),
]  # fmt: skip
BAD = [b'{"violation_id": "v-bad", "rule": ', b'{"rule": "content.ad", "severity": "medium", "actions": []}']


def produce(bootstrap: str, records: list[bytes], key: bytes = b"k") -> None:
    producer = Producer(producer_config(bootstrap, "notify-e2e"))
    for value in records:
        producer.produce(VIOLATIONS.name, key=key, value=value)
    assert producer.flush(10) == 0


def wait(condition, timeout: float, proc: Service, state=lambda: "") -> None:
    """Poll `condition`; fail with `state()` (e.g. the group's offsets) and the log's tail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.running, proc.log_path.read_text()[-3000:]
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s; {state()}\n{proc.log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def group_state(bootstrap: str, group: str) -> str:
    ends = end_offsets(bootstrap, [VIOLATIONS.name])
    committed = committed_offsets(bootstrap, group, ends)
    return f"{group}: {VIOLATIONS.name} end offsets {sorted(ends.items())}, committed {sorted(committed.items())}"


def dead_letters(bootstrap: str, expected: int, timeout: float = 60.0) -> list:
    return read_until(bootstrap, lambda found: len(found) >= expected, timeout, (NOTIFY_DEADLETTER.name,))


def test_notifier_end_to_end(notify_bootstrap: str, redis_url: str, unique: str, tmp_path: Path) -> None:
    bootstrap = notify_bootstrap
    hooks = Webhooks(fail_first=3)
    hooks.start()
    hooks.ready.wait(10)
    settings = e2e_settings(bootstrap, redis_url, web_port=free_port(), log_format="text")
    config = write_config(tmp_path / "notify.toml", hooks.port)
    load_sample(settings)
    first = NotifySettings(config_path=str(config), app_id=f"qg-notify-{unique}")
    produce(bootstrap, [orjson.dumps(v) for v in VIOLATIONS_IN] + BAD)
    proc = notifier(tmp_path, {**settings.env(), **first.env()}).start()
    try:
        # gambling: owner + admin; secret: owner + admin + security; flood/late/big: one digest each
        # for owner E0008, admin E0009 and subject E0011; warning: HR.
        wait(lambda: len(hooks.delivered("people")) >= 7 and hooks.delivered("wecom_hr")
             and hooks.delivered("wecom_security"), 90, proc)  # fmt: skip
        letters = dead_letters(bootstrap, expected=3)
        people = hooks.delivered("people")
        by_id = collections.Counter(body["message_id"] for body in people)
        assert all(n == 1 for n in by_id.values()), by_id  # three HTTP 500s, then each exactly once
        assert len([r for r in hooks.requests if r[0] == "people" and r[1] == 500]) == 3

        notices = {(b["violation_id"], b["recipient"]["role"], b["recipient"]["key"]): b for b in people
                   if b["kind"] == "notice"}  # fmt: skip
        assert set(notices) == {
            ("v-gamble", "owner", "E0004"), ("v-gamble", "admin", "E0005"),
            ("v-secret", "owner", "E0008"), ("v-secret", "admin", "E0009"),
        }  # fmt: skip
        gamble = notices[("v-gamble", "owner", "E0004")]
        assert gamble["title"] == "【群规违规】销售部工作群(g-sales):赌博信息"
        assert "《公司微信群管理制度》三、11" in gamble["text"] and "撤回该消息" in gamble["text"]
        assert gamble["actions"] == ["recall_message"] and gamble["instructions"] == ["撤回该消息"]
        secret = notices[("v-secret", "owner", "E0008")]["text"]
        assert "将该成员移出群聊" in secret and "身份证号 ******************" in secret

        digests = {
            (b["recipient"]["role"], b["recipient"]["key"]): b for b in people if b["kind"] == "digest"
        }
        assert set(digests) == {("owner", "E0008"), ("admin", "E0009"), ("subject", "E0011")}
        for digest in digests.values():
            assert {i["violation_id"] for i in digest["items"]} == {"v-flood", "v-late", "v-big"}
            assert "共 3 条" in digest["title"] and "刷屏" in digest["text"]
        assert "大文件、视频请改用链接分享" in digests[("subject", "E0011")]["text"]

        (hr,) = hooks.delivered("wecom_hr")
        assert hr["msgtype"] == "text" and "《公司微信群管理制度》四、违规处理" in hr["text"]["content"]
        assert "警告一次" in hr["text"]["content"] and "E0006" in hr["text"]["content"]
        (security,) = hooks.delivered("wecom_security")
        content = security["markdown"]["content"]
        assert security["msgtype"] == "markdown" and content.startswith("**【保密/安全报告】")
        assert "《机关、单位微信工作群保密管理须知》" in content and "110105" not in content

        # The unregistered group goes to the platform role, whose webhook always fails: after five
        # attempts it is a dead letter; the two unreadable records are dead letters too.
        assert len([r for r in hooks.requests if r[0] == "broken"]) == 5
        reasons = sorted(dict(m.headers())["qg-reason"].decode() for m in letters)
        assert len(letters) == 3, reasons
        assert any("sink broken: HTTP 500 after 5 attempts" in r for r in reasons)
        assert any("invalid JSON" in r for r in reasons) and any("violation_id" in r for r in reasons)
        failed = next(m for m in letters if dict(m.headers())["qg-stage"] == b"deliver")
        assert orjson.loads(failed.value())["violation_id"] == "v-unreg"

        import urllib.request

        metrics = (
            urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=5).read().decode()
        )
        retried = re.findall(r'qunguard_notify_retried_total\{role="\w+",sink="people"\} ([\d.]+)', metrics)
        assert sum(float(n) for n in retried) == 3, metrics
        assert (
            'qunguard_notify_dead_letters_total{role="platform",sink="broken",stage="deliver"} 1.0' in metrics
        )
        assert "qunguard_notify_digest_items_count" in metrics
    finally:
        proc.stop(timeout=20)

    # A notifier in a fresh consumer group reads every violation again: nothing already delivered
    # goes out twice (dedupe in Redis), the digests' items included.
    before = len([r for r in hooks.requests if r[1] == 200])
    second = NotifySettings(config_path=str(config), app_id=f"qg-notify-{unique}-again")
    proc = notifier(tmp_path, {**settings.env(), **second.env()}, name="notifier-again").start()
    try:
        ends = end_offsets(bootstrap, [VIOLATIONS.name])
        wait(lambda: caught_up(bootstrap, second.app_id, ends), 90, proc)
        internal = end_offsets(bootstrap, [f"{second.app_id}-recipient"])
        wait(lambda: caught_up(bootstrap, second.app_id, internal), 60, proc)
        assert len([r for r in hooks.requests if r[1] == 200]) == before
    finally:
        proc.stop(timeout=20)

    # The first notifier restarted in its own group delivers the one new violation (owner and
    # admin) and nothing it delivered before.
    proc = notifier(tmp_path, {**settings.env(), **first.env()}, name="notifier-restart").start()
    try:
        produce(bootstrap, [orjson.dumps({**VIOLATIONS_IN[0], "violation_id": "v-after-restart"})])
        # Faust may drop the record fetched while it seeks after recovery (faust#596): the stall
        # guard reads it again once the notifier is idle. Its digest ticks used to count as work,
        # so it never was, and 1 run in ~10 (several test processes at once) delivered nothing.
        state = functools.partial(group_state, bootstrap, first.app_id)
        wait(lambda: len([b for b in hooks.delivered("people") if b["violation_id"] == "v-after-restart"]) == 2,
             90, proc, state)  # fmt: skip
        ends = end_offsets(bootstrap, [VIOLATIONS.name])
        wait(lambda: caught_up(bootstrap, first.app_id, ends), 60, proc, state)
        assert len([r for r in hooks.requests if r[1] == 200]) == before + 2
    finally:
        proc.stop(timeout=20)
        hooks.stop()
