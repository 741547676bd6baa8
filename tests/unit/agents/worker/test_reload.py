"""agents/worker/reload.py: the timer registration and the off-loop reload of changed dictionaries."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import faust

from agents.worker.reload import register_reload, reload_all, reloadable
from config import CONFIG_DIR
from streams.content.detector import ContentDetector
from streams.core.policy import load_policy


def detector_on(folder: Path, seconds: float = 2.0) -> ContentDetector:
    policy = load_policy()
    section = {**policy.section("content"), "dictionaries": str(folder), "reload_seconds": seconds}
    return ContentDetector(replace(policy, sections={**policy.sections, "content": section}))


def test_register_reload_adds_a_timer_and_a_page() -> None:
    app = faust.App("reload-test", broker="kafka://localhost:1")
    detector = detector_on(CONFIG_DIR / "dictionaries", seconds=3.0)
    tasks = len(app._app_tasks)
    register_reload(app, [object(), detector])
    assert len(app._app_tasks) == tasks + 1  # the polling timer
    assert "/content/reload" in app.web.views


def test_nothing_to_reload_registers_nothing() -> None:
    app = faust.App("reload-test-empty", broker="kafka://localhost:1")
    tasks = len(app._app_tasks)
    register_reload(app, [object()])
    assert reloadable([object()]) == []
    assert len(app._app_tasks) == tasks


async def test_reload_all_swaps_changed_and_survives_bad_files(tmp_path: Path) -> None:
    folder = tmp_path / "dictionaries"
    shutil.copytree(CONFIG_DIR / "dictionaries", folder)
    detector = detector_on(folder)
    assert await reload_all([detector]) == [False]
    body = (folder / "porn.txt").read_text(encoding="utf-8")
    (folder / "porn.txt").write_text("新黑话词\n" + body, encoding="utf-8")
    assert await reload_all([detector]) == [True]
    (folder / "porn.txt").write_text("@group\n", encoding="utf-8")
    assert await reload_all([detector]) == [False]
    assert await reload_all([detector], force=True) == [False]
