"""Which modules ran compiled, and whether a compiled module is older than its source."""

from __future__ import annotations

import importlib.machinery
import os
import types
from pathlib import Path

from agents.bench.build import compiled_modules, stale_modules


def _package(tmp_path: Path, age: dict[str, int]) -> dict[str, types.ModuleType]:
    """A fake `streams.fake` package with one compiled module per name; `age`: seconds the
    extension was built before its source was last written (negative: after)."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    package = types.ModuleType("streams.fake")
    package.__path__ = [str(tmp_path)]
    modules: dict[str, types.ModuleType] = {"streams.fake": package}
    for leaf, seconds in age.items():
        source, built = tmp_path / f"{leaf}.py", tmp_path / f"{leaf}{suffix}"
        source.write_text("")
        built.write_bytes(b"")
        os.utime(source, (1_000_000, 1_000_000))
        os.utime(built, (1_000_000 - seconds, 1_000_000 - seconds))
        module = types.ModuleType(f"streams.fake.{leaf}")
        module.__file__ = str(built)
        modules[module.__name__] = module
    return modules


def test_a_module_built_before_its_source_changed_is_stale(tmp_path: Path) -> None:
    modules = _package(tmp_path, {"fresh": -10, "old": 10})
    assert compiled_modules(modules) == ["streams.fake.fresh", "streams.fake.old"]
    assert stale_modules(modules) == ["streams.fake.old"]


def test_pure_python_modules_are_never_stale(tmp_path: Path) -> None:
    plain = types.ModuleType("streams.fake.plain")
    plain.__file__ = str(tmp_path / "plain.py")
    assert stale_modules({"streams.fake.plain": plain}) == []
