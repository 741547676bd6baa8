"""`content.malicious_link`: structural link checks a dictionary cannot express.

A URL fires when its host is an IP literal, a known shortener, a punycode (`xn--`) name or on
the blocklist, or when its path names an executable; an attachment fires when its name has an
executable extension. Hosts on the operator allow-list (the company domain) never fire.
Text is viewed after NFKC and case folding, with 。 read as a dot and invisible format
characters dropped, so full-width digits and `HTTPS://BIT.LY` look like ordinary URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streams.content.matcher import Hit
from streams.content.normalize import NormalizeOptions, Normalizer

RULE = "content.malicious_link"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
_LINK_VIEW = {**{c: "" for c in _INVISIBLE}, "。": "."}
_SP = r"[ \t]?"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_URL = re.compile(
    rf"(?<![a-z0-9.@-])(?P<scheme>(?:https?|ftp){_SP}:{_SP}/{_SP}/{_SP})?"
    rf"(?P<host>(?:\d{{1,3}}{_SP}\.{_SP}){{3}}\d{{1,3}}|(?:{_LABEL}{_SP}\.{_SP})+(?:xn--[a-z0-9-]+|[a-z]{{2,63}}))"
    rf"(?![a-z0-9-])(?P<port>{_SP}:\d{{1,5}})?(?P<path>{_SP}/[^\s]*)?"
)


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    allow_domains: tuple[str, ...] = ()
    shorteners: tuple[str, ...] = ()
    blocklist: tuple[str, ...] = ()
    executable_extensions: tuple[str, ...] = ()

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> LinkPolicy:
        def names(key: str) -> tuple[str, ...]:
            return tuple(str(v).strip().lower().lstrip(".") for v in section.get(key, ()))

        return cls(
            allow_domains=names("link_allow_domains"),
            shorteners=names("link_shorteners"),
            blocklist=names("link_blocklist"),
            executable_extensions=names("executable_extensions"),
        )


class LinkChecker:
    def __init__(self, policy: LinkPolicy) -> None:
        self.policy = policy
        self._view = Normalizer(
            NormalizeOptions(t2s=False, strip_noise=False, collapse_repeats=False), _LINK_VIEW
        )
        exts = "|".join(re.escape(e) for e in sorted(policy.executable_extensions, key=len, reverse=True))
        self._exec_in_path = re.compile(rf"\.(?:{exts})(?![a-z0-9])") if exts else None
        self._exec_name = re.compile(rf"\.(?:{exts})[\s.]*$") if exts else None

    def scan_text(self, original: str) -> Hit | None:
        view = self._view.normalize(original)
        found: list[tuple[str, int, int]] = []
        for url in _URL.finditer(view.text):
            label = self._verdict(url)
            if label:
                found.append((label, *view.span(url.start(), url.end())))
        return Hit.from_spans(RULE, found)

    def scan_attachment_name(self, name: str) -> Hit | None:
        if not self._exec_name:
            return None
        view = self._view(name)
        match = self._exec_name.search(view)
        if not match:
            return None
        return Hit(RULE, (f"executable:{match.group(0).strip(' .')}",), 0, len(name))

    def _verdict(self, url: re.Match[str]) -> str | None:
        host = re.sub(r"\s", "", url.group("host"))
        path = url.group("path") or ""
        explicit = bool(url.group("scheme") or url.group("port") or path)
        if _on(host, self.policy.allow_domains):
            return None
        if _on(host, self.policy.blocklist):
            return f"blocklisted:{host}"
        if any(label.startswith("xn--") for label in host.split(".")):
            return f"punycode_host:{host}"
        if not explicit:
            return None
        if _ip_literal(host):
            return f"ip_host:{host}"
        if _on(host, self.policy.shorteners):
            return f"shortener:{host}"
        if self._exec_in_path:
            match = self._exec_in_path.search(path.split("?", 1)[0].split("#", 1)[0])
            if match:
                return f"executable:{match.group(0)}"
        return None


def _on(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _ip_literal(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)
