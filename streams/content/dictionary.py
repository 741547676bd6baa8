"""Category-tagged content dictionaries (format: config/dictionaries/README.md).

One file per content rule (`gambling.txt` → `content.gambling`), plus the allow-list, the
prohibition-frame list and the target-word list (streams.content.targets) named in the policy
`[content]` table. Loading validates everything and
raises `DictionaryError` naming the file and line of the first problem.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

DIRECT = ""  # the group of terms that fire on their own
EVASION = "evasion"  # default tag of terms that also match their pinyin/homophone spellings
# Built-in groups an @near line may name besides declared ones, matched on normalised text:
# a figure (two or more digits), an amount (a figure that is not a date, a time, an ordinal, a
# percentage or a multiple: streams.content.context reads the signs normalisation removed, % : - /,
# on the original), a mainland mobile number and a secret-like token (letters and digits, six or more).
# Each needs a digit (%phone: eleven in a row); streams.content.context skips them on text without.
BUILTIN_GROUPS = {
    "%number": r"\d{2,}",
    "%amount": r"(?<![\d第])\d{2,}(?![\d年月日号时点分秒倍岁周])",
    "%phone": r"(?<!\d)1[3-9]\d{9}(?!\d)",
    "%token": r"(?<![a-z0-9])(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{6,}",
}
_TAGS = re.compile(r"\s+#")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class DictionaryError(ValueError):
    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")


@dataclass(frozen=True, slots=True)
class Term:
    text: str  # as written in the file
    rule: str
    group: str = DIRECT
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Requirement:
    """Fire `rule` when a term of every group occurs within `within` normalised characters."""

    rule: str
    groups: tuple[str, ...]
    within: int


@dataclass(frozen=True, slots=True)
class Lexicon:
    terms: tuple[Term, ...]
    requirements: tuple[Requirement, ...]
    allow: tuple[str, ...]
    frames: tuple[str, ...]  # forbid what follows them (严禁发布赌博)
    frames_after: tuple[str, ...] = ()  # forbid what precedes them (赌博一经发现严肃处理)
    mention_frames: tuple[str, ...] = ()  # make every hit of the message a mention (【辟谣】, 新闻：)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.rule for t in self.terms))


def load_lexicon(
    folder: Path,
    known_rules: Iterable[str],
    normalize: Callable[[str], str],
    allow_file: str = "allow.txt",
    frames_file: str = "frames.txt",
    targets_file: str = "targets.txt",
) -> Lexicon:
    """Read every `*.txt` in `folder` but the target-word list (streams.content.targets reads it);
    `normalize` rejects terms that normalise to nothing."""
    if not folder.is_dir():
        raise DictionaryError(folder, 0, "dictionary folder does not exist")
    known = set(known_rules)
    terms: list[Term] = []
    requirements: list[Requirement] = []
    allow: tuple[str, ...] = ()
    frames: tuple[str, ...] = ()
    frames_after: tuple[str, ...] = ()
    mention_frames: tuple[str, ...] = ()
    for path in sorted(folder.glob("*.txt")):
        if path.name == targets_file:
            continue
        if path.name == allow_file:
            allow = read_word_list(path, normalize)
        elif path.name == frames_file:
            frames, frames_after, mention_frames = _frame_lists(path, normalize)
        else:
            rule = f"content.{path.stem}"
            if rule not in known:
                raise DictionaryError(path, 0, f"file name names no rule: {rule!r} is not in the policy")
            file_terms, file_reqs = parse_rule_file(path, rule, _read(path), normalize)
            terms.extend(file_terms)
            requirements.extend(file_reqs)
    return Lexicon(tuple(terms), tuple(requirements), allow, frames, frames_after, mention_frames)


def fingerprint(folder: Path) -> str:
    """A digest of every `*.txt` name and content in `folder`: it changes when any file does."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.txt")) if folder.is_dir() else ():
        digest.update(path.name.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0unreadable")
        digest.update(b"\0")
    return digest.hexdigest()


def parse_rule_file(
    path: Path | str, rule: str, lines: list[str], normalize: Callable[[str], str]
) -> tuple[list[Term], list[Requirement]]:
    terms: list[Term] = []
    requirements: list[Requirement] = []
    group = DIRECT
    declared: dict[str, int] = {}
    used: set[str] = set()
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            group = _directive(path, number, line, rule, declared, used, requirements) or group
            continue
        body, tags = _split_tags(line)
        if not normalize(body):
            raise DictionaryError(path, number, f"term {body!r} is empty after normalisation")
        terms.append(Term(body, rule, group, tags))
    for name, number in declared.items():
        if name not in used:
            raise DictionaryError(path, number, f"group {name!r} is used by no @near line")
    return terms, requirements


def _directive(
    path: Path | str,
    number: int,
    line: str,
    rule: str,
    declared: dict[str, int],
    used: set[str],
    requirements: list[Requirement],
) -> str | None:
    word, *args = line.split()
    if word == "@group":
        if len(args) != 1 or not _NAME.match(args[0]):
            raise DictionaryError(path, number, "expected '@group NAME' (lower-case letters, digits, _)")
        if args[0] in declared:
            raise DictionaryError(path, number, f"group {args[0]!r} is declared twice")
        declared[args[0]] = number
        return args[0]
    if word == "@near":
        if len(args) < 4 or args[-2] != "within" or not args[-1].isdigit():
            raise DictionaryError(path, number, "expected '@near GROUP GROUP [GROUP …] within N'")
        groups = tuple(args[:-2])
        if groups[0] in BUILTIN_GROUPS:
            raise DictionaryError(path, number, "the first @near group must be a declared one")
        for name in groups:
            if name not in declared and name not in BUILTIN_GROUPS:
                raise DictionaryError(path, number, f"group {name!r} is not declared above")
        used.update(groups)
        requirements.append(Requirement(rule, groups, int(args[-1])))
        return None
    raise DictionaryError(path, number, f"unknown directive {word!r}; expected @group or @near")


def read_word_list(path: Path, normalize: Callable[[str], str]) -> tuple[str, ...]:
    """A plain list, one entry per line (`#` comments, blank lines); DictionaryError with the line."""
    sections = _sections(path, normalize, ("",))
    return sections[""]


def _frame_lists(path: Path, normalize: Callable[[str], str]) -> tuple[tuple[str, ...], ...]:
    """Frames before `@after` forbid what follows them; frames after it forbid what precedes them;
    frames after `@mention` make the whole message a report about what it names."""
    sections = _sections(path, normalize, ("", "@after", "@mention"))
    return sections[""], sections["@after"], sections["@mention"]


def _sections(
    path: Path, normalize: Callable[[str], str], names: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {name: [] for name in names}
    current = ""
    for number, raw in enumerate(_read(path), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            if line not in out:
                raise DictionaryError(path, number, f"unknown directive {line!r} in this list")
            current = line
            continue
        body, _ = _split_tags(line)
        if not normalize(body):
            raise DictionaryError(path, number, f"entry {body!r} is empty after normalisation")
        out[current].append(body)
    return {name: tuple(values) for name, values in out.items()}


def _split_tags(line: str) -> tuple[str, tuple[str, ...]]:
    parts = _TAGS.split(line, maxsplit=1)
    tags = tuple(parts[1].split()) if len(parts) > 1 else ()
    return parts[0].strip(), tags


def _read(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DictionaryError(path, 0, f"not UTF-8 at byte {exc.start}") from None
    except OSError as exc:
        raise DictionaryError(path, 0, f"cannot read: {exc.strerror}") from None
