"""Content engine throughput: the full detector beside a bare automaton pass, on one core.

The shipped dictionaries are topped up to at least 20,000 terms with terms drawn by a seeded RNG
from common CJK characters (spread over the rule files, in a temporary copy), and the messages
are 120-character Chinese texts from the same RNG, one in twenty carrying a real dictionary
term (about one in ten has a finding: the generated terms also occur by chance; `hit_rate`).
"engine" runs `ContentDetector.detect` with every normalisation step on (the policy default) over
the mix, and separately over its clean and its hit messages; "bare" runs one overlapping
ahocorasick-rs pass (and one pyahocorasick pass) over the same messages with the same normalised
literal terms and no normalisation or context. All are measured in interleaved slices, so on a
shared machine `engine_vs_bare_ratio` is the figure to compare between runs.

    python -m agents.bench.content            # prints the JSON
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
from streams.content.detector import ContentDetector
from streams.content.dictionary import load_lexicon
from streams.core.policy import Policy, load_policy
from topics.events import MessageEvent

MIN_TERMS = 20_000
MESSAGE_CHARS = 120
MESSAGES = 2_000
PLANT_EVERY = 20  # one message in twenty carries a real dictionary term
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
        if index % PLANT_EVERY == 0:
            term = rng.choice(terms[:500])
            at = rng.randrange(0, MESSAGE_CHARS - len(term))
            text = (text[:at] + term + text[at + len(term) :])[:MESSAGE_CHARS]
        out.append(text)
    return out


def _rates(steps: dict[str, Callable[[int], Any]], seconds: float, rounds: int = 10) -> dict[str, float]:
    """Messages per second of each step, measured in interleaved slices so that every step sees
    the same machine load (the machine may be shared: compare figures of one run, not of two)."""
    done = dict.fromkeys(steps, 0)
    spent = dict.fromkeys(steps, 0.0)
    slice_seconds = seconds / (rounds * len(steps))
    for _ in range(rounds):
        for name, step in steps.items():
            count, started = done[name], time.perf_counter()
            deadline = started + slice_seconds
            while True:
                for _ in range(50):
                    step(count)
                    count += 1
                now = time.perf_counter()
                if now >= deadline:
                    break
            done[name], spent[name] = count, spent[name] + now - started
    return {name: done[name] / spent[name] for name in steps}


def run(seconds: float = 3.0) -> dict:
    """Messages per second of the full content engine and of a bare automaton pass (JSON-able).

    `engine_*` run `ContentDetector.detect`: over the whole mix, over its messages without a
    finding (clean) and over those with one (hit). The bare passes search the same raw messages
    with the same normalised literal terms (ahocorasick-rs through its str API, overlapping, as
    a user of the library would; pyahocorasick likewise), without normalisation or context.
    """
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
    # The first pass also warms the normalisation tables.
    hit = [e for e in events if detector.detect(e, "g-bench", None)]  # type: ignore[arg-type]
    hit_ids = {e.event_id for e in hit}
    clean = [e for e in events if e.event_id not in hit_ids]
    rates = _rates(
        {
            "full": lambda i: detector.detect(events[i % n], "g-bench", None),  # type: ignore[arg-type]
            "clean": lambda i: detector.detect(clean[i % len(clean)], "g-bench", None),  # type: ignore[arg-type]
            "hit": lambda i: detector.detect(hit[i % len(hit)], "g-bench", None),  # type: ignore[arg-type]
            "rs": lambda i: bare_rs.find_matches_as_indexes(texts[i % n], True),
            "py": lambda i: list(bare_py.iter(texts[i % n])),
        },
        seconds,
    )
    full, rs = rates["full"], rates["rs"]
    return {
        "engine_msgs_per_s": round(full),
        "engine_clean_msgs_per_s": round(rates["clean"]),
        "engine_hit_msgs_per_s": round(rates["hit"]),
        "bare_ahocorasick_rs_msgs_per_s": round(rs),
        "bare_pyahocorasick_msgs_per_s": round(rates["py"]),
        "engine_vs_bare_ratio": round(full / rs, 4),
        "target_msgs_per_s": 63_000,
        "terms": detector.lexicon.term_count,
        "automaton_spellings": detector.lexicon.spelling_count,
        "message_chars": MESSAGE_CHARS,
        "messages": n,
        "messages_with_planted_terms": len(range(0, n, PLANT_EVERY)),
        "messages_with_findings": len(hit),
        "hit_rate": round(len(hit) / n, 4),
        "normalisation": list(detector.normalizer.options.enabled()),
        "pinyin": detector.pinyin.enabled,
        "build_seconds": round(build_seconds, 2),
        "seconds": seconds,
    }


if __name__ == "__main__":
    print(json.dumps(run(), ensure_ascii=False, indent=2))
