"""Whether the content engine ran as built: which modules ran as mypyc extensions (`make compiled`,
ops/compile.py) and whether any of them is older than its source. A measurement (`qunguard bench`,
`qunguard eval`) of a stale build measures old code, so eval refuses one, as the test suite does.
"""

from __future__ import annotations

import importlib.machinery
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType


def compiled_modules(modules: Mapping[str, ModuleType] = sys.modules) -> list[str]:
    """The engine's modules that ran as mypyc extensions (`make compiled`, ops/compile.py); [] when
    all ran as Python, as in an install without the build step."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return sorted(
        name
        for name, module in list(modules.items())
        if name.startswith("streams.")
        and "__mypyc" not in name  # mypyc's runtime, not a module of ours
        and str(getattr(module, "__file__", "") or "").endswith(suffixes)
    )


def stale_modules(modules: Mapping[str, ModuleType] = sys.modules) -> list[str]:
    """The compiled modules whose source changed after their extension was built: they ran old
    code, so a measurement of them says nothing about the source (ops/compile.py `stale`). Found
    beside the package's source, as mypyc does not always give a group's modules their own path."""
    out = []
    for name in compiled_modules(modules):
        parent, _, leaf = name.rpartition(".")
        for folder in getattr(modules.get(parent), "__path__", ()):
            source = Path(folder) / f"{leaf}.py"
            built = [source.with_name(leaf + s) for s in importlib.machinery.EXTENSION_SUFFIXES]
            built = [b for b in built if b.exists()]
            if source.exists() and built and built[0].stat().st_mtime < source.stat().st_mtime:
                out.append(name)
    return out
