"""Policy as data: rule severities, actions, clauses, ladders and thresholds, from a TOML file.

The default lives in `config/policy.toml`; operators point `QUNGUARD_POLICY` (or `--policy`) at
their own copy. Loading validates the file against the schema (streams.core.policy_schema) and
refuses it with every mistake listed, each with its TOML location. The policy version stamped on
every violation is the file's `version` plus a short digest of its bytes, so two different files
never claim the same version.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import CONFIG_DIR
from streams.core.policy_schema import SEVERITIES, policy_problems

__all__ = ["DEFAULT_POLICY", "SEVERITIES", "Policy", "PolicyError", "RulePolicy", "load_policy"]

DEFAULT_POLICY = CONFIG_DIR / "policy.toml"


class PolicyError(ValueError):
    """A policy that cannot be used; `problems` holds one line per mistake."""

    def __init__(self, *problems: str) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True, slots=True)
class RulePolicy:
    rule: str
    severity: str
    actions: tuple[str, ...]
    clause: str
    ladder: str = "none"
    enabled: bool = True
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    rules: dict[str, RulePolicy]
    sections: dict[str, Any]
    base_dir: Path

    def rule(self, rule: str) -> RulePolicy:
        try:
            return self.rules[rule]
        except KeyError:
            raise PolicyError(f"rule {rule!r} is not in the policy") from None

    def enabled(self, rule: str) -> bool:
        found = self.rules.get(rule)
        return found is not None and found.enabled

    def section(self, name: str) -> dict[str, Any]:
        return self.sections.get(name, {})

    def path(self, relative: str) -> Path:
        """Resolve a path named in the policy relative to the policy file's folder."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.base_dir / candidate


def load_policy(path: str | Path | None = None) -> Policy:
    path = Path(path) if path else DEFAULT_POLICY
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: {exc}") from None
    problems = policy_problems(data)
    if problems:
        raise PolicyError(*(problem.at(str(path)) for problem in problems))
    rules = {name: _rule(name, spec) for name, spec in data.pop("rules").items()}
    digest = hashlib.sha256(raw).hexdigest()[:8]
    version = f"{data.pop('version', 'unversioned')}+{digest}"
    return Policy(version=version, rules=rules, sections=data, base_dir=path.parent)


def _rule(name: str, spec: dict[str, Any]) -> RulePolicy:
    """A rule table the schema accepted: the keys every rule has, the rest are its parameters."""
    spec = dict(spec)
    return RulePolicy(
        rule=name,
        severity=spec.pop("severity"),
        actions=tuple(spec.pop("actions", ())),
        clause=spec.pop("clause", ""),
        ladder=spec.pop("ladder", "none"),
        enabled=spec.pop("enabled", True),
        params=spec,
    )
