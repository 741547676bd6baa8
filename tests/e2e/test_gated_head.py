"""The public-comment head's target gate in a live worker over the broker (issue 14; docs/eval.md
"The public head gated on a named group"). The test policy lowers that head's threshold below the
least score its calibration gives, so that the model alone would fire it on every message; only
the gate tells the two below apart: the one naming a group of people fires `content.insult` with
the head in its evidence, the one naming nobody fires nothing."""

from __future__ import annotations

import re
from pathlib import Path

from agents.dev.embedded import worker
from config import CONFIG_DIR
from tests.support import e2e_settings, load_sample, verdicts_in_order

SHIPPED = re.compile(r'"content\.insult#public" = [0-9.]+')  # whatever training suggested
LOWERED = '"content.insult#public" = 0.01'
NAMES_A_GROUP = "上海人开会总爱迟到，真受不了"  # 上海 is on config/dictionaries/targets.txt
NAMES_NOBODY = "那边开会总爱迟到，真受不了"


def test_the_public_head_fires_only_where_a_group_is_named(
    bootstrap: str, redis_url: str, unique: str, tmp_path: Path
) -> None:
    text = (CONFIG_DIR / "policy.toml").read_text(encoding="utf-8")
    assert SHIPPED.search(text) and 'path = "model/content.bin"' in text
    text = SHIPPED.sub(LOWERED, text)
    text = text.replace('path = "model/content.bin"', f'path = "{CONFIG_DIR / "model" / "content.bin"}"')
    policy = tmp_path / "policy.toml"
    policy.write_text(text, encoding="utf-8")
    settings = e2e_settings(bootstrap, redis_url, f"qg-gate-{unique}", policy_path=str(policy))
    load_sample(settings)
    proc = worker(tmp_path, settings.env()).start()
    try:
        named, nobody = f"{unique}-named", f"{unique}-nobody"
        by_event = verdicts_in_order(
            bootstrap,
            [(named, NAMES_A_GROUP), (nobody, NAMES_NOBODY)],
            f"{unique}-marker",
            proc.log_path,
            counts=lambda rule: not rule.startswith("discipline."),
            client="e2e-gate",
        )
        assert [v["rule"] for v in by_event.get(named, [])] == ["content.insult"]
        evidence = by_event[named][0]["evidence"]
        assert evidence["model"]["head"] == "content.insult#public" and evidence["score"] >= 0.01
        assert nobody not in by_event, by_event[nobody]
    finally:
        proc.stop()
