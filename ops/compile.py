"""Compile the content engine's hot path with mypyc, in place (`make compiled`).

The modules below are plain, typed Python; mypyc (the compiler mypy ships, which also builds mypy
and black) turns each into a C extension that Python imports instead of the `.py` beside it. The
code and its behaviour stay the same: the unit suite passes either way and `qunguard bench` gives
the same findings, in about three quarters of the time on short chat (docs/bench.md). Without a build,
Python imports the `.py` files and everything works, only slower.

An extension older than its source would run old code: `make` rebuilds when a source changes, and
the test suite and `qunguard eval` refuse to start on a stale build (agents/bench/build.py
`stale_modules`, which also tells `qunguard bench` which modules ran compiled). This file needs
nothing but the standard library and mypy: the Docker build runs it before the package is installed.

    python ops/compile.py            # build (needs mypy from the dev extra, a C compiler, Python headers)
    python ops/compile.py --clean    # remove the extensions: back to pure Python
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.machinery
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What a chat message with a candidate hit runs through (the bench's short-chat path). Training,
# evaluation and the dictionary loaders run once per start or reload and stay interpreted. A class
# that an interpreted class subclasses must be compiled too (verdict.ModelHit extends matcher.Hit).
HOT_PATH = (
    "streams/content/addresses.py",
    "streams/content/calibration.py",
    "streams/content/classifier.py",
    "streams/content/combine.py",
    "streams/content/context.py",
    "streams/content/detector.py",
    "streams/content/excerpt.py",
    "streams/content/heads.py",
    "streams/content/identifiers.py",
    "streams/content/linear.py",
    "streams/content/link_judge.py",
    "streams/content/links.py",
    "streams/content/matcher.py",
    "streams/content/normalize.py",
    "streams/content/reading.py",
    "streams/content/segment.py",
    "streams/content/stack.py",
    "streams/content/targets.py",
    "streams/content/verdict.py",
)


def extension(source: str) -> Path | None:
    """The compiled extension that Python would import for `source`, if one was built."""
    path = ROOT / source
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        built = path.with_suffix(suffix)
        if built.exists():
            return built
    return None


def compiled() -> list[str]:
    """The hot-path modules that have an extension (dotted names)."""
    return [_dotted(s) for s in HOT_PATH if extension(s) is not None]


def clean() -> None:
    for source in HOT_PATH:
        built = extension(source)
        if built is not None:
            built.unlink()
    for shared in (ROOT / "streams" / "content").glob("hot_path__mypyc*"):  # mypyc's runtime for the group
        shared.unlink()


def build() -> None:
    import setuptools
    from mypyc.build import mypycify

    # Type errors in modules the hot path imports but does not compile are not this build's
    # business (mypy follows them silently); third-party packages without type hints are Any.
    options = ["--ignore-missing-imports", "--follow-imports=silent"]
    clean()
    with tempfile.TemporaryDirectory(prefix="qunguard-mypyc-") as tmp, contextlib.chdir(ROOT):
        extensions = mypycify(
            [*options, *HOT_PATH],
            opt_level="3",
            group_name="streams.content.hot_path",
            target_dir=f"{tmp}/c",
        )
        # Not setuptools.setup(): that would read pyproject.toml, which describes the package.
        dist = setuptools.Distribution(
            {
                "name": "qunguard-hot-path",
                "ext_modules": extensions,
                "script_args": [
                    "--quiet",
                    "build_ext",
                    "--inplace",
                    "--build-temp",
                    f"{tmp}/obj",
                    "--build-lib",
                    f"{tmp}/lib",
                ],
            }
        )
        dist.parse_command_line()
        dist.run_commands()


def _dotted(source: str) -> str:
    return source.removesuffix(".py").replace("/", ".")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove the extensions")
    args = parser.parse_args(argv)
    if args.clean:
        clean()
        return 0
    build()
    print(f"compiled {len(compiled())} of {len(HOT_PATH)} hot-path modules with mypyc")
    return 0


if __name__ == "__main__":
    sys.exit(main())
