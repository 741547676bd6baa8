"""The content detector (SPEC §4 `content.*`): dictionaries plus structural link and number checks.

Per message: the text and the attachment name go through the dictionary matcher, the text and
the attachment URL through the link checks, the attachment name through the executable check,
and the text and name through the number/marking checks. Hits merge to at most one finding
per rule; the excerpt quotes the first field that fired, masked (streams.excerpt).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from config import CONFIG_DIR
from streams import identifiers, links
from streams.dictionary import load_lexicon
from streams.engine import Context, Finding
from streams.excerpt import excerpt
from streams.identifiers import NumberChecker, NumberPolicy
from streams.links import LinkChecker, LinkPolicy
from streams.matcher import Hit, Matcher
from streams.normalize import NormalizeOptions, Normalizer
from streams.policy import Policy, PolicyError
from topics.events import Event, MessageEvent


@dataclass(frozen=True, slots=True)
class _FieldHit:
    hit: Hit
    text: str  # the field the hit's span refers to


class ContentDetector:
    partition = "group"  # stateless; runs where the message arrives

    def __init__(self, policy: Policy) -> None:
        section = policy.section("content")
        try:
            options = NormalizeOptions.from_mapping(section.get("normalize", {}))
        except ValueError as exc:
            raise PolicyError(str(exc)) from None
        normalizer = Normalizer(options)
        content_rules = [rule for rule in policy.rules if rule.startswith("content.")]
        lexicon = load_lexicon(
            _dictionary_folder(policy, str(section.get("dictionaries", "dictionaries"))),
            content_rules,
            normalizer,
            allow_file=str(section.get("allow_list", "allow.txt")),
            frames_file=str(section.get("prohibition_frames", "frames.txt")),
        )
        self.matcher = Matcher(lexicon, normalizer, int(section.get("frame_window", 20)))
        self.links = LinkChecker(LinkPolicy.from_section(section))
        self.numbers = NumberChecker(NumberPolicy.from_section(section))
        self.excerpt_chars = int(section.get("excerpt_chars", 60))
        self.skip_msg_types = frozenset(section.get("skip_msg_types", ("system",)))
        self.rules = tuple(sorted({*lexicon.rules, links.RULE, identifiers.RULE}))

    def detect(self, event: Event, key: str, ctx: Context) -> Iterable[Finding]:
        if not isinstance(event, MessageEvent) or event.msg_type in self.skip_msg_types:
            return []
        merged: dict[str, list[_FieldHit]] = {}
        for field_hit in self.scan(event):
            merged.setdefault(field_hit.hit.rule, []).append(field_hit)
        return [self._finding(event, rule, hits) for rule, hits in merged.items()]

    def scan(self, event: MessageEvent) -> Iterable[_FieldHit]:
        attachment = event.attachment
        name = attachment.name if attachment else ""
        url = attachment.url if attachment else ""
        checks: list[tuple[str, Callable[[str], Iterable[Hit | None]]]] = [
            (event.text, lambda t: [*self.matcher.scan(t), self.links.scan_text(t), self.numbers.scan(t)]),
            (
                name,
                lambda t: [*self.matcher.scan(t), self.links.scan_attachment_name(t), self.numbers.scan(t)],
            ),
            (url, lambda t: [self.links.scan_text(t)]),
        ]
        for text, check in checks:
            if text:
                yield from (_FieldHit(hit, text) for hit in check(text) if hit is not None)

    def _finding(self, event: MessageEvent, rule: str, hits: list[_FieldHit]) -> Finding:
        first = hits[0]
        terms = list(dict.fromkeys(term for h in hits for term in h.hit.terms))
        quote = excerpt(
            first.text,
            first.hit.start,
            first.hit.end,
            self.excerpt_chars,
            mask_all=rule == identifiers.RULE,
        )
        return Finding(
            rule=rule,
            event_ts=event.ts,
            source_event_ids=(event.event_id,),
            group_id=event.group_id,
            subject_id=event.sender_id,
            evidence={"terms": terms, "excerpt": quote},
        )


def _dictionary_folder(policy: Policy, name: str) -> Path:
    """The folder next to the policy file; the packaged default when an operator's copy has none."""
    folder = policy.path(name)
    if not folder.is_dir() and not Path(name).is_absolute():
        return CONFIG_DIR / name
    return folder
