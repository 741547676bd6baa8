"""ops/compile.py: which hot-path modules have an extension, and removing them (staleness:\ntests/unit/agents/bench/test_build.py)."""

from __future__ import annotations

import importlib.machinery
import os
from pathlib import Path

import pytest

from tests.support import ops_tool


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    module = ops_tool("compile")  # the mypyc build of the content hot path
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "HOT_PATH", ("pkg/fast.py", "pkg/plain.py"))
    (tmp_path / "pkg").mkdir()
    for name in ("fast.py", "plain.py"):
        (tmp_path / "pkg" / name).write_text("x = 1\n", encoding="utf-8")
    return module


def _extension(root: Path, stem: str, age: float) -> Path:
    built = root / "pkg" / f"{stem}{importlib.machinery.EXTENSION_SUFFIXES[0]}"
    built.write_bytes(b"")
    source = root / "pkg" / f"{stem}.py"
    os.utime(built, (source.stat().st_mtime + age,) * 2)
    return built


def test_only_modules_with_an_extension_count_as_compiled(build, tmp_path: Path) -> None:
    _extension(tmp_path, "fast", age=10)
    assert build.compiled() == ["pkg.fast"]


def test_clean_removes_the_extensions_and_leaves_the_sources(build, tmp_path: Path) -> None:
    built = _extension(tmp_path, "fast", age=10)
    assert build.main(["--clean"]) == 0
    assert not built.exists()
    assert (tmp_path / "pkg" / "fast.py").exists()
    assert build.compiled() == []
