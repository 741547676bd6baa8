"""Content engine throughput on one core: the full detector with and without the learned model,
beside a bare automaton pass, on long and on short messages.

The shipped dictionaries are topped up to at least 20,000 terms with terms drawn by a seeded RNG
from common CJK characters (spread over the rule files, in a temporary copy). Two message sets,
composed by the same RNG from those characters (no dataset text):

- long: 120-character texts, one in twenty carrying a real (shipped) dictionary term (about one in
  ten has a finding: the generated terms also occur by chance; `hit_rate`);
- short: chat-sized texts of about 20 characters (14-26), one in three carrying a shipped
  dictionary term that fires on its own (not an `@group` one), i.e. a candidate hit that takes the
  full path (normalisation, context decisions and, for the model, scoring); `short.hit_rate` is
  the share with a finding (context may still veto a planted term).

Engines: `model` is `ContentDetector.detect` as the policy configures it (every normalisation
step on; the learned model when the policy turns it on), `lexicon` the same policy with the model
off (the engine before the model), `bare` one overlapping ahocorasick-rs pass (and one
pyahocorasick pass) over the raw messages with the same normalised literal terms. Every step is
measured in interleaved slices, `repeats` times, with the process pinned to one CPU; figures are
min / median / max messages per second over the repeats. On a shared machine compare figures of
one run (`engine_vs_bare_ratio`, model vs lexicon), not of two. `compiled` lists the engine's
modules that ran as mypyc extensions (`make compiled`); the figures of docs/bench.md say which.

    python -m agents.bench.content            # prints the JSON
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ahocorasick
import ahocorasick_rs

from agents.bench.build import compiled_modules
from config import CONFIG_DIR
from streams.content.classifier import TextClassifier
from streams.content.detector import ContentDetector, replace_model
from streams.content.dictionary import DIRECT, Term, load_lexicon
from streams.content.evaluation import engine_facts
from streams.core.policy import Policy, load_policy
from topics.events import MessageEvent

MIN_TERMS = 20_000
MESSAGE_CHARS = 120
SHORT_CHARS = (14, 26)  # about 20 characters
MESSAGES = 2_000
PLANT_EVERY = 20  # one long message in twenty carries a real dictionary term
SHORT_PLANT_EVERY = 3  # one short message in three does
TARGETS = {"long": 20_000, "short": 60_000}  # msg/s of the engine with the model, one core (issue 14)
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


def _prepare(folder: Path, rng: random.Random, chars: list[str]) -> tuple[Policy, list[Term], list[str]]:
    """A policy over a copy of the dictionaries topped up to MIN_TERMS; the shipped terms and the
    generated ones."""
    shutil.copytree(CONFIG_DIR / "dictionaries", folder)
    policy = load_policy()
    known = [r for r in policy.rules if r.startswith("content.")]
    rule_files = sorted(p for p in folder.glob("*.txt") if f"content.{p.stem}" in known)
    shipped = list(load_lexicon(folder, known, lambda s: s).terms)
    existing = [t.text for t in shipped]
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
    return dataclasses.replace(policy, sections={**policy.sections, "content": content}), shipped, extra


def without_model(policy: Policy) -> Policy:
    """The same policy with the learned model turned off (the lexicon and structural engine)."""
    return replace_model(policy, enabled=False)


def _filler(rng: random.Random, chars: list[str], length: int, piece: tuple[int, int]) -> str:
    pieces: list[str] = []
    while sum(map(len, pieces)) < length:
        pieces.append("".join(rng.choice(chars) for _ in range(rng.randint(*piece))) + rng.choice(_PUNCT))
    return "".join(pieces)[:length]


def _long_messages(rng: random.Random, chars: list[str], terms: list[str]) -> list[str]:
    out = []
    for index in range(MESSAGES):
        text = _filler(rng, chars, MESSAGE_CHARS, (6, 18))
        if index % PLANT_EVERY == 0:
            term = rng.choice(terms[:500])
            at = rng.randrange(0, MESSAGE_CHARS - len(term))
            text = (text[:at] + term + text[at + len(term) :])[:MESSAGE_CHARS]
        out.append(text)
    return out


def _short_messages(rng: random.Random, chars: list[str], terms: list[str]) -> list[str]:
    """About 20 characters each; every SHORT_PLANT_EVERY-th carries one of `terms` (shipped terms
    that fire on their own, so the message takes the full path) at a random place."""
    out = []
    for index in range(MESSAGES):
        length = rng.randint(*SHORT_CHARS)
        if index % SHORT_PLANT_EVERY == 0:
            term = rng.choice(terms)
            rest = max(length - len(term), 2)
            at = rng.randint(0, rest)
            text = _filler(rng, chars, at, (2, 8)) + term + _filler(rng, chars, rest - at, (2, 8))
        else:
            text = _filler(rng, chars, length, (2, 8))
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


def _spread(samples: list[float]) -> dict[str, int]:
    return {
        "min": round(min(samples)),
        "median": round(statistics.median(samples)),
        "max": round(max(samples)),
    }


@contextlib.contextmanager
def one_core() -> Iterator[list[int]]:
    """Pin this process to one CPU (the last it may use) while measuring; restored afterwards.
    Library thread pools then share that core: the figures are one core's, whatever they spawn."""
    if not hasattr(os, "sched_setaffinity"):
        yield []
        return
    before = os.sched_getaffinity(0)
    core = max(before)
    os.sched_setaffinity(0, {core})
    try:
        yield [core]
    finally:
        os.sched_setaffinity(0, before)


def _model_load_seconds(detector: ContentDetector, loads: int = 3) -> dict[str, float] | None:
    """Seconds to load the policy's model file (issue 14: at most 2 s), min/median/max of `loads`."""
    if detector.model_path is None:
        return None
    samples = []
    for _ in range(loads):
        started = time.perf_counter()
        TextClassifier.load(detector.model_path)
        samples.append(time.perf_counter() - started)
    return {
        "min": round(min(samples), 3),
        "median": round(statistics.median(samples), 3),
        "max": round(max(samples), 3),
    }


def _events(texts: list[str], prefix: str) -> list[MessageEvent]:
    ts = datetime(2026, 3, 10, tzinfo=UTC)
    return [MessageEvent(f"{prefix}-{i}", ts, "g-bench", "wx_bench", text=t) for i, t in enumerate(texts)]


def _detects(detector: ContentDetector, events: list[MessageEvent]) -> Callable[[int], Any]:
    n = len(events)
    return lambda i: detector.detect(events[i % n], "g-bench", None)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True, slots=True)
class Workload:
    """The engines and message sets every measurement here (and ops/bench_pair.py) runs."""

    model: ContentDetector  # the policy's engine, with the learned model when the policy has one
    lexicon: ContentDetector  # the same policy with the model off
    build_seconds: float  # building `model`
    terms: list[str]  # shipped and generated dictionary terms
    long_texts: list[str]
    short_texts: list[str]
    long_events: list[MessageEvent]
    short_events: list[MessageEvent]

    @property
    def candidates(self) -> list[MessageEvent]:
        """The short messages carrying a term."""
        return self.short_events[::SHORT_PLANT_EVERY]


def workload() -> Workload:
    rng = random.Random(SEED)
    chars = _common_chars()
    with tempfile.TemporaryDirectory(prefix="qunguard-bench-") as tmp:
        policy, shipped, extra = _prepare(Path(tmp) / "dictionaries", rng, chars)
        started = time.perf_counter()
        detector = ContentDetector(policy)
        build_seconds = time.perf_counter() - started
        lexicon_only = ContentDetector(without_model(policy))
    terms = [t.text for t in shipped] + extra
    long_texts = _long_messages(rng, chars, terms)
    short_texts = _short_messages(rng, chars, [t.text for t in shipped if t.group == DIRECT])
    return Workload(
        detector,
        lexicon_only,
        build_seconds,
        terms,
        long_texts,
        short_texts,
        _events(long_texts, "long"),
        _events(short_texts, "short"),
    )


def run(seconds: float = 2.0, repeats: int = 5) -> dict:
    """Messages per second of the content engine with and without the model, and of a bare
    automaton pass, on long and short messages (JSON-able). `seconds` per repeat.

    `engine_*` (kept from earlier runs for comparison) are the model engine's medians on the long
    set: over the whole mix, its messages without a finding (clean) and those with one (hit).
    """
    work = workload()
    detector, lexicon_only, build_seconds = work.model, work.lexicon, work.build_seconds
    terms, long_texts, short_texts = work.terms, work.long_texts, work.short_texts
    long_events, short_events = work.long_events, work.short_events
    keys = sorted({detector.normalizer(t) for t in terms})
    bare_rs = ahocorasick_rs.AhoCorasick(keys)
    bare_py = ahocorasick.Automaton()
    for key in keys:
        bare_py.add_word(key, key)
    bare_py.make_automaton()
    # The first passes also warm the normalisation tables (and the model's caches).
    hit = [e for e in long_events if detector.detect(e, "g-bench", None)]  # type: ignore[arg-type]
    hit_ids = {e.event_id for e in hit}
    clean = [e for e in long_events if e.event_id not in hit_ids]
    short_hits = sum(1 for e in short_events if detector.detect(e, "g-bench", None))  # type: ignore[arg-type]
    for event in short_events:
        lexicon_only.detect(event, "g-bench", None)  # type: ignore[arg-type]
    candidates = work.candidates
    n, m = len(long_texts), len(short_texts)
    steps = {
        "model/long": _detects(detector, long_events),
        "model/short": _detects(detector, short_events),
        "lexicon/long": _detects(lexicon_only, long_events),
        "lexicon/short": _detects(lexicon_only, short_events),
        "model/short_candidates": _detects(detector, candidates),
        "lexicon/short_candidates": _detects(lexicon_only, candidates),
        "model/long_clean": _detects(detector, clean),
        "model/long_hit": _detects(detector, hit),
        "bare_rs/long": lambda i: bare_rs.find_matches_as_indexes(long_texts[i % n], True),
        "bare_rs/short": lambda i: bare_rs.find_matches_as_indexes(short_texts[i % m], True),
        "bare_py/long": lambda i: list(bare_py.iter(long_texts[i % n])),
    }
    samples: dict[str, list[float]] = {name: [] for name in steps}
    with one_core() as cores:
        load = [round(x, 2) for x in os.getloadavg()]
        for _ in range(repeats):
            for name, rate in _rates(steps, seconds).items():
                samples[name].append(rate)
    figures = {name: _spread(rates) for name, rates in samples.items()}
    median = {name: spread["median"] for name, spread in figures.items()}
    full, rs = median["model/long"], median["bare_rs/long"]
    return {
        "engine_msgs_per_s": full,
        "engine_clean_msgs_per_s": median["model/long_clean"],
        "engine_hit_msgs_per_s": median["model/long_hit"],
        "bare_ahocorasick_rs_msgs_per_s": rs,
        "bare_pyahocorasick_msgs_per_s": median["bare_py/long"],
        "engine_vs_bare_ratio": round(full / rs, 4),
        "msgs_per_s": {
            "with_model": {
                s: figures[f"model/{s}"]
                for s in ("long", "short", "long_clean", "long_hit", "short_candidates")
            },
            "without_model": {s: figures[f"lexicon/{s}"] for s in ("long", "short", "short_candidates")},
            "bare_ahocorasick_rs": {s: figures[f"bare_rs/{s}"] for s in ("long", "short")},
            "bare_pyahocorasick": {"long": figures["bare_py/long"]},
        },
        "model_over_lexicon": {
            s: round(median[f"model/{s}"] / median[f"lexicon/{s}"], 4) for s in ("long", "short")
        },
        "targets_msgs_per_s": {"long": TARGETS["long"], "short": TARGETS["short"]},
        "meets_target": {s: median[f"model/{s}"] >= target for s, target in TARGETS.items()},
        "model": engine_facts(detector)["model"],
        "without_model": engine_facts(lexicon_only)["model"] is None,
        "compiled": compiled_modules(),
        "terms": detector.lexicon.term_count,
        "automaton_spellings": detector.lexicon.spelling_count,
        "message_chars": MESSAGE_CHARS,
        "messages": n,
        "messages_with_planted_terms": len(range(0, n, PLANT_EVERY)),
        "messages_with_findings": len(hit),
        "hit_rate": round(len(hit) / n, 4),
        "short": {
            "message_chars": {
                "min": min(map(len, short_texts)),
                "mean": round(statistics.mean(map(len, short_texts)), 1),
                "max": max(map(len, short_texts)),
            },
            "messages": m,
            "messages_with_planted_terms": len(range(0, m, SHORT_PLANT_EVERY)),
            "messages_with_findings": short_hits,
            "hit_rate": round(short_hits / m, 4),
        },
        "normalisation": list(detector.normalizer.options.enabled()),
        "pinyin": detector.pinyin.enabled,
        "build_seconds": round(build_seconds, 2),
        "model_load_seconds": _model_load_seconds(detector),
        "seconds": seconds,
        "repeats": repeats,
        "cpu_affinity": cores,
        "load_average_at_start": load,
        "method": f"{repeats} repeats of interleaved slices over every step ({seconds:g} s per repeat), "
        "process pinned to one CPU; min/median/max msg/s over the repeats; the top-level engine_* "
        "figures are the medians of the model engine on the long set",
    }


if __name__ == "__main__":
    print(json.dumps(run(), ensure_ascii=False, indent=2))
