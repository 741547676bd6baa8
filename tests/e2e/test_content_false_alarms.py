"""The eighth session's two fixes for content false alarms, in a live worker over the broker with
the shipped policy and model (issue 14; docs/eval.md, eighth session):

- the model's veto of ambiguous dictionary words: a talk notice that names 网赌 (a term the labelled
  data shows mostly in harmless messages, which the model reads as harmless) fires nothing, while a
  short invitation naming 赌博 (too little context for the model's score to count) still fires;
- a salary figure is an amount (`%amount`): a pay date next to 工资 fires nothing, a named
  colleague's payslip figures do (the model agrees there, so the veto of 工资 does not apply)."""

from __future__ import annotations

from pathlib import Path

import orjson
from confluent_kafka import Producer

from agents.connect.kafka import producer_config
from agents.dev.embedded import worker
from tests.support import e2e_settings, load_sample, message, read_until
from topics.catalog import MESSAGES, VIOLATIONS

MARKER = "今晚一起买六合彩,赌球稳赚"
CASES = {  # message → the content rules the worker reports for it
    "派出所的民警下周二来厂里宣讲，网赌就是网骗，大家都认真听一下": [],
    "来赌博啊": ["content.gambling"],
    "本月工资将于15日发放，请大家查收": [],
    "财务部小王的工资条截图：应发18500，实发14230": ["content.confidential"],
}


def test_vetoed_notices_and_pay_dates_stay_silent_and_violations_fire(
    bootstrap: str, redis_url: str, unique: str, tmp_path: Path
) -> None:
    settings = e2e_settings(bootstrap, redis_url, f"qg-precision-{unique}")
    load_sample(settings)
    proc = worker(tmp_path, settings.env()).start()
    try:
        ids = {text: f"{unique}-{i}" for i, text in enumerate(CASES)}
        marker = f"{unique}-marker"
        producer = Producer(producer_config(bootstrap, "e2e-precision"))
        for event_id, body in [*((ids[text], text) for text in CASES), (marker, MARKER)]:
            # one group, one partition: the marker's violation means every message before it was judged
            producer.produce(
                MESSAGES.name, key=b"g-sales", value=message(event_id, "g-sales", "wx_wanglei", body)
            )
        assert producer.flush(10) == 0

        def ours(msgs) -> list[dict]:
            found = [orjson.loads(m.value()) for m in msgs if m.topic() == VIOLATIONS.name]
            return [v for v in found if v["rule"].startswith("content.")]

        def judged(msgs) -> bool:
            return any(marker in v["source_event_ids"] for v in ours(msgs))

        msgs = read_until(bootstrap, judged, timeout=120)
        assert judged(msgs), proc.log_path.read_text()[-3000:]
        by_event: dict[str, list[str]] = {}
        for violation in ours(msgs):
            for event_id in violation["source_event_ids"]:
                by_event.setdefault(event_id, []).append(violation["rule"])
        assert {text: sorted(by_event.get(ids[text], [])) for text in CASES} == CASES
    finally:
        proc.stop()
