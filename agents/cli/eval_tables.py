"""The tables `qunguard eval` prints (agents.cli.eval builds the document they show)."""

from __future__ import annotations

from typing import Any, TextIO

from agents.cli.eval_imitations import IMITATIONS
from agents.cli.table import row
from streams.content.datasets import HELD_OUT_AUTHORS, TRAINING_AUTHORS

_TITLES = {
    "cv": f"(a) cross-validation, the training authors ({', '.join(TRAINING_AUTHORS)})",
    "held_out": f"(b) held-out authors ({', '.join(HELD_OUT_AUTHORS)})",
    "cold": "(c) COLD dev: offensive vs safe",
    "benign": "(d) benign dialogues: false alarms",
    "imitations": "(f) imitations of SMS and Weibo posts (helper-written, not real text)",
    "corpus": "(e) shared development corpus",
    "multi": "(g) lines labelled with every rule they break (helper-written, held out)",
    "multi_tuning": "(h) lines labelled with every rule they break (helper-written, read while tuning)",
}


_KIND_SHORT = {"hard_negative": "hard", "other_rule_positive": "other", "benign": "benign"}


def _pct(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _rule_table(section: dict[str, Any], out: TextIO) -> None:
    widths = (22, 6, 6, 6, 5, 5, 5, 30)
    print(row(("rule", "prec", "recall", "F1", "tp", "fp", "fn", "false positives on"), widths), file=out)
    lines = [*section["rules"].items(), ("all (micro)", section["summary"]["micro"])]
    for rule, s in lines:
        on = ", ".join(f"{_KIND_SHORT.get(kind, kind)} {n}" for kind, n in s["fp_by_kind"].items())
        cells = (rule, _pct(s["precision"]), _pct(s["recall"]), _pct(s["f1"]), str(s["tp"]), str(s["fp"]),
                 str(s["fn"]), on)  # fmt: skip
        print(row(cells, widths), file=out)
    print("(hard: hard negatives; other: another rule's positives; benign: benign chat)", file=out)
    summary = section["summary"]
    print(f"macro F1 {_pct(summary['macro_f1'])}; worst {summary['worst_rule']} {_pct(summary['worst_f1'])}",
          file=out)  # fmt: skip
    micro = summary["micro"]
    print(f"95 % intervals, micro: precision {_span(micro['precision_interval'])}, recall "
          f"{_span(micro['recall_interval'])}", file=out)  # fmt: skip


def _span(interval: list[float] | None, scale: float = 1.0, digits: int = 3) -> str:
    return "—" if interval is None else f"{interval[0] * scale:.{digits}f}-{interval[1] * scale:.{digits}f}"


def render(doc: dict[str, Any], out: TextIO) -> None:
    engine, model = doc["engine"], doc["engine"]["model"]
    running = f"model {model['name']} {model['version']} ({model['path']})" if model else "no model"
    print(f"qunguard eval: policy {doc['policy']}, {engine['terms']} terms, {running}"
          f"{' (quick: a tenth of each set)' if doc['quick'] else ''}", file=out)  # fmt: skip
    if model:
        print(f"model thresholds: {', '.join(f'{r} {t}' for r, t in model['thresholds'].items())}", file=out)
    for name, section in doc["sections"].items():
        print(f"\n{_TITLES[name]}", file=out)
        if "skipped" in section:
            print(f"skipped: {section['skipped']}", file=out)
            continue
        print(f"data: {section['data']}", file=out)
        if "rules" in section:
            _rule_table(section, out)
        for author, part in section.get("by_author", {}).items():
            micro = part["summary"]["micro"]
            print(f"author {author}: micro precision {_pct(micro['precision'])}, recall "
                  f"{_pct(micro['recall'])}, F1 {_pct(micro['f1'])} ({micro['support']} positives)", file=out)  # fmt: skip
        if name == "cold":
            print(f"balanced accuracy {_pct(section['balanced_accuracy'])} "
                  f"(95 % interval {_span(section['balanced_accuracy_interval'])}; recall offensive "
                  f"{_pct(section['recall_offensive'])}, recall safe {_pct(section['recall_safe'])}, "
                  f"precision {_pct(section['precision'])})", file=out)  # fmt: skip
            topics = ", ".join(f"{t} {_pct(s['balanced_accuracy'])}" for t, s in section["by_topic"].items())
            print(f"by topic: {topics}", file=out)
        if name == "benign":
            rate = section["false_alarm_rate"]
            print(f"false alarms {section['false_alarms']} of {section['turns']} turns = "
                  f"{_pct(None if rate is None else rate * 100, 2)} % (95 % interval "
                  f"{_span(section['false_alarm_interval'], 100, 2)} %)", file=out)  # fmt: skip
            sources = ", ".join(
                f"{s} {_pct(None if v['false_alarm_rate'] is None else v['false_alarm_rate'] * 100, 2)} %"
                for s, v in section["by_source"].items()
            )
            print(f"by source: {sources}", file=out)
            print(
                f"by rule: {', '.join(f'{r} {n}' for r, n in section['by_rule'].items()) or 'none'}", file=out
            )
        if name == "imitations":
            _imitations(section, out)
        if name in ("multi", "multi_tuning"):
            several = section["several_rules"]
            print(f"lines breaking two rules or more: {several['lines']}, every rule found on "
                  f"{several['all_found']}, none on {several['none_found']}", file=out)  # fmt: skip
        print(f"({section['seconds']} s)", file=out)
    print(f"\ntotal {doc['seconds']} s", file=out)


def _imitations(section: dict[str, Any], out: TextIO) -> None:
    for kind in IMITATIONS:
        part = section[kind]
        for rule, f in part["found"].items():
            print(f"{kind}: {rule} found on {f['found']} of {f['of']} = {f['rate'] * 100:.1f} % "
                  f"(95 % interval {_span(f['interval'], 100, 1)} %)", file=out)  # fmt: skip
        o = part["ordinary"]
        rate = o["false_alarm_rate"]
        rules = ", ".join(f"{r} {n}" for r, n in o["by_rule"].items()) or "none"
        print(f"{kind}: ordinary texts flagged {o['false_alarms']} of {o['texts']} = "
              f"{_pct(None if rate is None else rate * 100, 1)} % (95 % interval "
              f"{_span(o['false_alarm_interval'], 100, 1)} %; {rules})", file=out)  # fmt: skip
