"""`qunguard policy check`: every mistake listed, exit 2, no traceback; `ok <version>` for a good policy
(the shipped one and the one `qunguard dev` writes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agents.cli import main
from agents.dev.stack import dev_policy
from config import CONFIG_DIR
from streams.core.policy import DEFAULT_POLICY, load_policy
from tests.support import FIVE_MISTAKES, edited


def test_five_planted_mistakes_exit_2_with_every_one_listed(tmp_path: Path, capsys) -> None:
    path = edited(tmp_path, *FIVE_MISTAKES)
    assert main(["policy", "check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 6 and all(line.startswith(f"{path}: [rules.") for line in lines)
    for fragment in (
        '"remnd" is not an action',
        "count: must be an integer >= 1, got -5",
        "cuont: unknown key",
        'window_seconds: must be a number > 0, got "60"',
        '[rules."group.zombi"]: unknown rule',
    ):
        assert fragment in err  # fmt: skip
    assert "Traceback" not in err


def test_the_shipped_policy_is_ok(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUNGUARD_POLICY", raising=False)
    assert main(["policy", "check"]) == 0
    assert capsys.readouterr().out == f"ok {load_policy().version}\n"
    assert main(["policy", "check", str(DEFAULT_POLICY)]) == 0


def test_the_default_file_is_the_workers(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUNGUARD_POLICY", str(edited(tmp_path, *FIVE_MISTAKES)))
    assert main(["policy", "check"]) == 2
    assert "cuont" in capsys.readouterr().err


def test_the_dev_policy_is_ok(tmp_path: Path, capsys) -> None:
    path, _ = dev_policy(tmp_path)
    assert main(["policy", "check", str(path)]) == 0
    assert capsys.readouterr().out == f"ok {load_policy(path).version}\n"


def test_a_dictionary_the_policy_names_is_compiled_too(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "dictionaries"
    shutil.copytree(CONFIG_DIR / "dictionaries", folder)
    (folder / "spam.txt").write_text("垃圾\n", encoding="utf-8")  # content.spam is no rule
    shutil.copy(DEFAULT_POLICY, tmp_path / "policy.toml")
    assert main(["policy", "check", str(tmp_path / "policy.toml")]) == 2
    assert "spam.txt" in capsys.readouterr().err


def test_an_unreadable_file_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["policy", "check", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read policy" in capsys.readouterr().err
