"""Policy as data: rule severities, actions, clauses, ladders and thresholds, from a TOML file.

The default lives in `config/policy.toml`; operators point `QUNGUARD_POLICY` (or `--policy`) at
their own copy. The policy version stamped on every violation is the file's `version` plus a
short digest of its bytes, so two different files never claim the same version.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import CONFIG_DIR

DEFAULT_POLICY = CONFIG_DIR / "policy.toml"
SEVERITIES = ("info", "low", "medium", "high", "critical")
LADDERS = ("none", "warning", "demerit")


class PolicyError(ValueError):
    pass


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
    rules = {}
    for name, spec in (data.pop("rules", None) or {}).items():
        rules[name] = _rule(path, name, spec)
    if not rules:
        raise PolicyError(f"{path}: no [rules] defined")
    digest = hashlib.sha256(raw).hexdigest()[:8]
    version = f"{data.pop('version', 'unversioned')}+{digest}"
    return Policy(version=version, rules=rules, sections=data, base_dir=path.parent)


def _rule(path: Path, name: str, spec: dict[str, Any]) -> RulePolicy:
    where = f"{path}: rules.{name!r}"
    spec = dict(spec)
    severity = spec.pop("severity", None)
    if severity not in SEVERITIES:
        raise PolicyError(f"{where}.severity: {severity!r} is not one of {', '.join(SEVERITIES)}")
    ladder = spec.pop("ladder", "none")
    if ladder not in LADDERS:
        raise PolicyError(f"{where}.ladder: {ladder!r} is not one of {', '.join(LADDERS)}")
    actions = spec.pop("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise PolicyError(f"{where}.actions: expected a list of strings")
    return RulePolicy(
        rule=name,
        severity=severity,
        actions=tuple(actions),
        clause=str(spec.pop("clause", "")),
        ladder=ladder,
        enabled=bool(spec.pop("enabled", True)),
        params=spec,
    )
