"""Content engine throughput: the full detector beside a bare automaton pass, on one core.

The shipped dictionaries are topped up to at least 20,000 terms with terms drawn by a seeded RNG
from common CJK characters (spread over the rule files, in a temporary copy), and the messages
are 120-character Chinese texts from the same RNG, one in twenty carrying a real dictionary
term. "full" runs `ContentDetector.detect` with every normalisation step on (the policy default);
"bare" runs one overlapping ahocorasick-rs pass (and one pyahocorasick pass) over the same
messages with the same literal terms and no normalisation or context.

    python -m agents.bench_content            # prints the JSON
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ahocorasick
import ahocorasick_rs

from config import CONFIG_DIR
from streams.content import ContentDetector
from streams.dictionary import load_lexicon
from streams.policy import Policy, load_policy
from topics.events import MessageEvent

MIN_TERMS = 20_000
MESSAGE_CHARS = 120
MESSAGES = 2_000
SEED = 20260310
_PUNCT = "，。！？、；："


def _common_chars() -> list[str]:
    out = []
    for code in range(0x4E00, 0x9FA6):
        try:
            lead = chr(code).encode("gb2312")[0]
        except UnicodeEncodeError:
            continue
        if 0xB0 <= lead <= 0xD7:
            out.append(chr(code))
    return out


def _prepare(folder: Path, rng: random.Random, chars: list[str]) -> tuple[Policy, list[str]]:
    """A policy over a copy of the dictionaries topped up to MIN_TERMS; the literal terms."""
    shutil.copytree(CONFIG_DIR / "dictionaries", folder)
    policy = load_policy()
    rule_files = sorted(p for p in folder.glob("*.txt") if p.stem not in ("allow", "frames"))
    known = [r for r in policy.rules if r.startswith("content.")]
    existing = [t.text for t in load_lexicon(folder, known, lambda s: s).terms]
    generated: set[str] = set()
    while len(existing) + len(generated) < MIN_TERMS:
        generated.add("".join(rng.choice(chars) for _ in range(rng.randint(2, 4))))
    extra = sorted(generated)
    for index, path in enumerate(rule_files):
        share = extra[index :: len(rule_files)]
        text = path.read_text(encoding="utf-8")
        head, sep, tail = text.partition("\n@group")
        path.write_text(head + "\n" + "\n".join(share) + "\n" + sep + tail, encoding="utf-8")
    content = {**policy.section("content"), "dictionaries": str(folder)}
    return dataclasses.replace(policy, sections={**policy.sections, "content": content}), existing + extra


def _messages(rng: random.Random, chars: list[str], terms: list[str]) -> list[str]:
    out = []
    for index in range(MESSAGES):
        pieces: list[str] = []
        while sum(map(len, pieces)) < MESSAGE_CHARS:
            pieces.append("".join(rng.choice(chars) for _ in range(rng.randint(6, 18))) + rng.choice(_PUNCT))
        text = "".join(pieces)[:MESSAGE_CHARS]
        if index % 20 == 0:
            term = rng.choice(terms[:500])
            at = rng.randrange(0, MESSAGE_CHARS - len(term))
            text = (text[:at] + term + text[at + len(term) :])[:MESSAGE_CHARS]
        out.append(text)
    return out


def _rate(step: Callable[[int], Any], seconds: float) -> float:
    done, started = 0, time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(200):
            step(done)
            done += 1
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - started)


def run(seconds: float = 3.0) -> dict:
    """Messages per second of the full content engine and of a bare automaton pass (JSON-able)."""
    rng = random.Random(SEED)
    chars = _common_chars()
    with tempfile.TemporaryDirectory(prefix="qunguard-bench-") as tmp:
        policy, terms = _prepare(Path(tmp) / "dictionaries", rng, chars)
        started = time.perf_counter()
        detector = ContentDetector(policy)
        build_seconds = time.perf_counter() - started
    texts = _messages(rng, chars, terms)
    ts = datetime(2026, 3, 10, tzinfo=UTC)
    events = [MessageEvent(f"b-{i}", ts, "g-bench", "wx_bench", text=t) for i, t in enumerate(texts)]
    keys = sorted({detector.normalizer(t) for t in terms})
    bare_rs = ahocorasick_rs.AhoCorasick(keys)
    bare_py = ahocorasick.Automaton()
    for key in keys:
        bare_py.add_word(key, key)
    bare_py.make_automaton()
    n = len(events)
    fired = sum(1 for e in events if detector.detect(e, "g-bench", None))  # type: ignore[arg-type]  # warms tables
    share = seconds / 3
    full = _rate(lambda i: detector.detect(events[i % n], "g-bench", None), share)  # type: ignore[arg-type]
    rs = _rate(lambda i: bare_rs.find_matches_as_indexes(texts[i % n], True), share)
    py = _rate(lambda i: list(bare_py.iter(texts[i % n])), share)
    return {
        "engine_msgs_per_s": round(full),
        "bare_ahocorasick_rs_msgs_per_s": round(rs),
        "bare_pyahocorasick_msgs_per_s": round(py),
        "engine_vs_bare_ratio": round(full / rs, 4),
        "target_msgs_per_s": 63_000,
        "terms": detector.lexicon.term_count,
        "automaton_spellings": detector.lexicon.spelling_count,
        "message_chars": MESSAGE_CHARS,
        "messages": n,
        "messages_with_findings": fired,
        "normalisation": list(detector.normalizer.options.enabled()),
        "pinyin": detector.pinyin.enabled,
        "build_seconds": round(build_seconds, 2),
        "seconds": seconds,
    }


if __name__ == "__main__":
    print(json.dumps(run(), ensure_ascii=False, indent=2))
