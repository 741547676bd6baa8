"""The policy's `[content]` section as the content detector reads it: where its dictionary folder,
target words and model file are, and its normalisation and pinyin options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config import CONFIG_DIR
from streams.content.dictionary import EVASION
from streams.content.normalize import NormalizeOptions
from streams.content.pinyin import PinyinOptions
from streams.core.policy import Policy, PolicyError
from streams.core.policy_schema import sound_pair_of


def normalize_options(section: dict[str, Any]) -> NormalizeOptions:
    try:
        return NormalizeOptions.from_mapping(section.get("normalize", {}))
    except ValueError as exc:
        raise PolicyError(str(exc)) from None


def dictionaries(policy: Policy) -> Path:
    return dictionary_folder(policy, str(policy.section("content").get("dictionaries", "dictionaries")))


def target_words(policy: Policy) -> Path:
    """The target-word list (streams.content.targets), in the dictionary folder."""
    return dictionaries(policy) / str(policy.section("content").get("target_words", "targets.txt"))


def pinyin_options(data: dict) -> PinyinOptions:
    unknown = set(data) - {"enabled", "tag", "homophones", "fuzzy"}
    if unknown:
        raise ValueError(f"[content.pinyin]: unknown option(s) {', '.join(sorted(unknown))}")
    fuzzy = []
    for pair in data.get("fuzzy", ["zh=z", "ch=c", "sh=s"]):
        try:
            fuzzy.append(sound_pair_of(pair))
        except ValueError as exc:
            raise ValueError(f"[content.pinyin].fuzzy: {exc}") from None
    return PinyinOptions(
        enabled=bool(data.get("enabled", True)),
        tag=str(data.get("tag", EVASION)),
        homophones=bool(data.get("homophones", True)),
        fuzzy=tuple(fuzzy),
    )


def dictionary_folder(policy: Policy, name: str) -> Path:
    """The folder next to the policy file; the packaged default when an operator's copy has none."""
    folder = policy.path(name)
    if not folder.is_dir() and not Path(name).is_absolute():
        return CONFIG_DIR / name
    return folder
