"""`qunguard bench --quick` end to end: it starts its own broker and Redis, runs every stage and
prints one JSON document of the documented shape. No timing is asserted (figures go to the doc),
so a few hundred events do: each group run's window is a few seconds of them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import orjson

EVENTS = 500


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def test_bench_quick_writes_one_json_document(tmp_path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "agents.cli", "bench", "--quick", "--events", str(EVENTS), "--out", str(out)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    doc = orjson.loads(out.read_bytes())
    assert doc["qunguard_bench"] == 1
    assert doc["machine"]["cpu_count"] >= 1 and isinstance(doc["machine"]["uvloop_installed"], bool)
    assert doc["input"]["events"] == EVENTS
    assert sum(doc["input"]["per_topic"].values()) == EVENTS
    for section in ("noop_agent", "pipeline"):
        assert _is_number(doc[section]["events_per_s"]), doc[section]
        assert doc[section]["method"]
    assert all(_is_number(n) for n in doc["pipeline"]["records_written_per_input_event"].values())
    assert _is_number(doc["raw_consumer"]["events"]) and doc["raw_consumer"]["events"] == EVENTS
    assert _is_number(doc["pipeline_over_noop"]["ratio"])
    assert doc["pipeline_over_noop"]["target"] == 0.75
    latency = doc["latency"]
    assert latency["violations_seen"] == latency["probes"] > 0
    assert latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    assert latency["target_p99_ms"] == 250.0 and isinstance(latency["meets_target"], bool)
    # the latency stream is the mix's load: violations per record of the same order as the window's
    share, latency_share = doc["pipeline"]["violations_per_input_event"], latency["violations_per_record"]
    assert 0 < latency_share < 3 * share, (share, latency_share)
    assert _is_number(doc["workers"]["two_processes"]["events_per_s"])
    assert _is_number(doc["workers"]["speedup"])
    assert isinstance(doc["content"], dict) and doc["content"]
    if importlib.util.find_spec("agents.bench.content") is not None:
        assert "skipped" not in doc["content"], doc["content"]
        rates = doc["content"]["msgs_per_s"]
        for engine in ("with_model", "without_model"):  # the engine with the model beside the one without
            for size in ("long", "short"):
                spread = rates[engine][size]
                assert 0 < spread["min"] <= spread["median"] <= spread["max"], (engine, size)
        assert doc["content"]["repeats"] == 3  # --quick
    assert _is_number(doc["duration_s"])
