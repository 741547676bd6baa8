"""`qunguard discipline show/list`: offline over the corpus, and live over the Redis read model."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from agents.cli.parser import main
from agents.connect.settings import Settings
from agents.stores.ladder import LadderStore
from streams.core.policy import load_policy
from streams.core.state import MemoryState
from streams.ladder.steps import LADDER_MAP, Ladder
from tests.conftest import CORPUS
from tests.support import ladder_violation as violation

OFFLINE = ["--events", str(CORPUS / "scenarios.jsonl"), "--roster", str(CORPUS / "roster.csv"),
           "--ledger", str(CORPUS / "ledger.csv")]  # fmt: skip


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(["discipline", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_show_offline_lists_each_step_with_its_violation(capsys) -> None:
    code, out, err = run(["show", "E1013", *OFFLINE], capsys)
    assert code == 0, err
    assert out.startswith("E1013 刘洋: as of 2026-10-16T17:30:00+08:00")
    lines = [line for line in out.splitlines() if line.startswith("2026-")]
    assert [line.split()[2] for line in lines] == ["discipline.warning"] * 3 + ["discipline.demerit"]
    assert "content.porn" in lines[-1] and "g-sales-west" in lines[-1] and "m-s0167" in lines[-1]
    assert "wx_liuyang" in lines[0] and "m-s0037" in lines[0]


def test_show_json(capsys) -> None:
    code, out, _ = run(["show", "E1015", "--json", *OFFLINE], capsys)
    doc = orjson.loads(out)
    assert code == 0 and doc["name"] == "杨帆" and doc["warnings"] == 2 and doc["flags"] == ["near demerit"]
    assert [s["rule"] for s in doc["steps"]] == ["content.ad", "content.ad"]
    assert all(s["subject_id"] == "wx_yangfan" and s["event_ids"] for s in doc["steps"])


def test_list_offline_shows_who_is_near_a_threshold(capsys) -> None:
    code, out, _ = run(["list", *OFFLINE], capsys)
    assert code == 0
    rows = [line.split()[0] for line in out.splitlines() if line.startswith("E")]
    assert rows == ["E1015"]  # 杨帆: two warnings, one from a demerit
    code, out, _ = run(["list", "--all", "--json", *OFFLINE], capsys)
    assert [d["employee_id"] for d in orjson.loads(out)] == ["E1012", "E1013", "E1015", "E1072"]
    # a year and a day later every step has left the window
    code, out, _ = run(["list", "--all", "--json", "--as-of", "2027-10-17T18:00:00+08:00", *OFFLINE], capsys)
    assert orjson.loads(out) == []


def test_unusable_arguments_exit_2(capsys) -> None:
    assert run(["show", "E1", "--events", "/no/such/file"], capsys)[0] == 2
    code, _, err = run(["list", "--as-of", "yesterday", *OFFLINE], capsys)
    assert code == 2 and "RFC 3339" in err
    assert run(["list", "--roster", str(CORPUS / "roster.csv")], capsys)[0] == 2


def test_live_mode_reads_the_redis_read_model(redis_url: str, monkeypatch, capsys) -> None:
    policy = load_policy()
    state = MemoryState()
    ladder = Ladder(policy, state)
    for day in range(3):
        ladder.process(violation("content.porn", employee="E7", days=day, group=f"g-{day}"))
    store = LadderStore.from_settings(Settings(redis_url=redis_url, redis_prefix="qt"))

    async def write() -> None:
        await store.write("E7", state.map(LADDER_MAP, "employee")["E7"], "2026-03-05T00:00:00+08:00")
        await store.write("E8", None, "2026-03-05T00:00:00+08:00")  # nothing left: no key
        await store.client.aclose()

    asyncio.run(write())
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("QUNGUARD_REDIS_PREFIX", "qt")
    code, out, err = run(["show", "E7", "--json", "--as-of", "2026-03-05T00:00:00+08:00"], capsys)
    doc = orjson.loads(out)
    assert code == 0, err
    assert [s["step"] for s in doc["steps"]] == ["discipline.warning"] * 3 + ["discipline.demerit"]
    assert [s["group_id"] for s in doc["steps"]] == ["g-0", "g-1", "g-2", "g-2"]
    code, out, _ = run(["list", "--all", "--as-of", "2026-03-05T00:00:00+08:00"], capsys)
    assert [line.split()[0] for line in out.splitlines() if line.startswith("E")] == ["E7"]


def test_live_mode_without_redis_says_so(monkeypatch, capsys) -> None:
    from agents.dev.embedded import free_port

    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    code, _, err = run(["list"], capsys)
    assert code == 1 and "Redis unavailable" in err


@pytest.mark.parametrize("command", ["show E1", "list"])
def test_help_names_offline_options(command: str, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["discipline", *command.split(), "--help"])
    assert "--events" in capsys.readouterr().out
