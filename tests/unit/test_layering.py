"""The layering the README's architecture section promises, read from the source (no imports run).

agents → streams → topics: `streams/` and `topics/` never import `agents/` or an infrastructure client;
inside `agents/`, the shared folders (connect, stores, runtime) never import a process's folder; the
worker and the notifier never import each other; and no module-level import cycle exists anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("topics", "streams", "agents", "config")
INFRASTRUCTURE = ("faust", "mode", "aiokafka", "confluent_kafka", "redis", "aiohttp", "prometheus_client")
SHARED = ("agents.connect", "agents.stores", "agents.runtime")
PROCESSES = (
    "agents.worker", "agents.notify", "agents.intake", "agents.lag", "agents.bench", "agents.dev", "agents.cli",
)  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = _modules()


def _imports(path: Path, module: str, top_level_only: bool) -> set[str]:
    """Project modules (and outside names) `path` imports: `from x import y` counts as `x.y` where that
    is a module, else `x`. Function bodies (lazy imports) count too unless `top_level_only`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return names


def _project_imports(module: str, top_level_only: bool) -> set[str]:
    found = _imports(MODULES[module], module, top_level_only)
    return {name for name in found if name in MODULES and name != module}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("module", [m for m in MODULES if _within(m, ("streams", "topics"))])
def test_streams_and_topics_touch_no_agent_and_no_infrastructure(module: str) -> None:
    found = _imports(MODULES[module], module, top_level_only=False)
    bad = sorted(n for n in found if _within(n, ("agents", *INFRASTRUCTURE)))
    assert not bad, f"{module} imports {bad}"
    if module.startswith("topics"):
        assert not [n for n in found if _within(n, ("streams",))], f"{module} imports streams"


@pytest.mark.parametrize("module", [m for m in MODULES if _within(m, SHARED)])
def test_shared_agent_folders_import_no_process_folder(module: str) -> None:
    bad = sorted(n for n in _project_imports(module, False) if _within(n, PROCESSES))
    assert not bad, f"{module} (shared) imports {bad}"


@pytest.mark.parametrize(
    ("process", "other"), [("agents.worker", "agents.notify"), ("agents.notify", "agents.worker")]
)
def test_worker_and_notifier_are_independent(process: str, other: str) -> None:
    for module in (m for m in MODULES if _within(m, (process,))):
        bad = sorted(n for n in _project_imports(module, False) if _within(n, (other,)))
        assert not bad, f"{module} imports {bad}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of `graph` (node → nodes it imports) as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle() -> None:
    graph = {m: {_owner(n) for n in _project_imports(m, top_level_only=True)} - {m} for m in MODULES}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle or ())


def _owner(name: str) -> str:
    """`pkg.mod.Name` → `pkg.mod`: the module an imported name lives in."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def test_the_cycle_check_is_not_vacuous() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
