"""Fixes for content false alarms (issue 14; docs/eval.md, eighth and twelfth sessions) in a live
worker over the broker with the shipped policy and model:

- the model's veto of ambiguous dictionary words: a talk notice that names 网赌 (a term the labelled
  data shows mostly in harmless messages, which the model reads as harmless) fires nothing, while a
  short invitation naming 赌博 (too little context for the model's score to count) still fires;
- (twelfth session) gambling's about head: a union reminder that mahjong for stakes can be gambling,
  which the engine before it fired on (words and model, 0.875), is read as a message about gambling:
  the about head outranks the gambling head, which vetoes both;
- (fourteenth session) the model's veto of any dictionary word it all but rules out
  (`lexicon_veto_every_below`): a secrecy-training notice naming 机密 and a safety-month notice
  naming 枪支 fire nothing, while a leak of a 机密 file and a threat with a gun still fire;
- a salary figure is an amount (`%amount`): a pay date next to 工资 fires nothing, a named
  colleague's payslip figures do (the model agrees there, so the veto of 工资 does not apply);
- (fifteenth session) `traditional_is_disguise`: an offer of killing videos written in traditional
  script fires violence on its words, which the model would veto written in simplified (it scores
  violence 0.003 there, under the ambiguous 杀人's 0.1)."""

from __future__ import annotations

from pathlib import Path

from agents.dev.embedded import worker
from tests.support import e2e_settings, load_sample, verdicts_in_order

CASES = {  # message → the content rules the worker reports for it
    "派出所的民警下周二来厂里宣讲，网赌就是网骗，大家都认真听一下": [],
    "来赌博啊": ["content.gambling"],
    "工会提醒：春节期间打麻将带彩头也可能构成赌博，大家注意分寸": [],
    "保密办通知：下周三下午组织机密载体管理培训，各部门派一人参加": [],
    "安全月活动：请大家观看枪支管理条例宣传片，周五前交观后感": [],
    "这份机密文件我拍照发你了，别外传：下季度裁员名单": ["content.confidential"],
    "谁再敢举报，我就带枪去他家门口等着": ["content.violence"],
    "本月工资将于15日发放，请大家查收": [],
    "财务部小王的工资条截图：应发18500，实发14230": ["content.confidential"],
    "殺人的視頻我存了好多，想看的私聊我": ["content.violence"],
}


def test_vetoed_notices_and_pay_dates_stay_silent_and_violations_fire(
    bootstrap: str, redis_url: str, unique: str, tmp_path: Path
) -> None:
    settings = e2e_settings(bootstrap, redis_url, f"qg-precision-{unique}")
    load_sample(settings)
    proc = worker(tmp_path, settings.env()).start()
    try:
        ids = {text: f"{unique}-{i}" for i, text in enumerate(CASES)}
        by_event = verdicts_in_order(
            bootstrap,
            ((ids[text], text) for text in CASES),
            f"{unique}-marker",
            proc.log_path,
            counts=lambda rule: rule.startswith("content."),
            client="e2e-precision",
        )
        rules = {event_id: sorted(v["rule"] for v in found) for event_id, found in by_event.items()}
        assert {text: rules.get(ids[text], []) for text in CASES} == CASES
    finally:
        proc.stop()
