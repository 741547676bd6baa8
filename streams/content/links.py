"""`content.malicious_link`: structural link checks a dictionary cannot express.

A URL fires when its host is an IP literal, a known shortener, a punycode (`xn--`) name or on
the blocklist, or when its path names an executable (a loopback address, 127.x.x.x, names the
reader's own machine and never fires). A host fires even without a scheme or path
when it is on the blocklist, is punycode, ends in a top-level domain the policy lists as risky
(and reads as a site: a subdomain, a digit or a hyphen; `main.cc` is a C++ file), or
dresses up as another domain (`qq.com.example.top`, `company.com-login.site`: a name and one of
the policy's lookalike endings before the real registrable domain). A file name with an
executable extension fires as an attachment's name or written in the text (`工资单.exe`).
Hosts on the operator allow-list (the company domain) never fire. Which part of a host is its
registrable domain comes from the Public Suffix List (publicsuffixlist's bundled copy, ICANN
section), so `x.com.cn` is a name under `com.cn`, and a file name is not read as a host.
Text is viewed after NFKC and case folding, with 。 read as a dot and invisible format
characters dropped, so full-width digits and `HTTPS://BIT.LY` look like ordinary URLs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from publicsuffixlist import PublicSuffixList

from streams.content.matcher import Hit
from streams.content.normalize import NormalizeOptions, Normalizer

RULE = "content.malicious_link"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
# 。 and 点 (點 in traditional script: this view does not convert scripts) read as dots and square
# brackets vanish, so written-out and defanged links (xx点top, xx[.]top, xx[点]top) are read as links.
_DISGUISED_DOTS = "。点點["
_LINK_VIEW = {**{c: "" for c in _INVISIBLE}, "。": ".", "点": ".", "點": ".", "[": "", "]": ""}
_SP = r"[ \t]?"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# What ends a file name written in text, looking back from its extension: a space, a character a
# file name cannot hold, or one that ends a clause.
_NAME_STOPS = frozenset(' \t\r\n/\\:*?"<>|,;!，、；：！？')
_NAME_MAX = 64
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
    executable_extensions_in_text: tuple[str, ...] = ()
    risky_tlds: tuple[str, ...] = ()
    lookalike_endings: tuple[str, ...] = ()

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> LinkPolicy:
        def names(key: str) -> tuple[str, ...]:
            return tuple(str(v).strip().lower().lstrip(".") for v in section.get(key, ()))

        return cls(
            allow_domains=names("link_allow_domains"),
            shorteners=names("link_shorteners"),
            blocklist=names("link_blocklist"),
            executable_extensions=names("executable_extensions"),
            executable_extensions_in_text=names("executable_extensions_in_text"),
            risky_tlds=names("link_risky_tlds"),
            lookalike_endings=names("link_lookalike_endings"),
        )


def _link_view() -> Normalizer:
    return Normalizer(NormalizeOptions(t2s=False, strip_noise=False, collapse_repeats=False), _LINK_VIEW)


_ADDRESS_VIEW = _link_view()


def holds_address(text: str) -> bool:
    """Whether `text` holds a link, a domain name or an IP address, as LinkChecker reads them, or a
    scheme's `://` before a host written out of shape (hxxp://10.2.x.x)."""
    view = _ADDRESS_VIEW(text)
    return "://" in view or _URL.search(view) is not None


class LinkChecker:
    def __init__(self, policy: LinkPolicy) -> None:
        self.policy = policy
        self._view = _link_view()
        exts = "|".join(re.escape(e) for e in sorted(policy.executable_extensions, key=len, reverse=True))
        self._exec_in_path = re.compile(rf"\.(?:{exts})(?![a-z0-9])") if exts else None
        self._exec_name = re.compile(rf"\.(?:{exts})[\s.]*$") if exts else None
        in_text = "|".join(
            re.escape(e) for e in sorted(policy.executable_extensions_in_text, key=len, reverse=True)
        )
        self._exec_in_text = re.compile(rf"(?<=\w)\.(?P<ext>{in_text})(?![a-z0-9])") if in_text else None
        self._suffixes = PublicSuffixList(accept_unknown=False, only_icann=True)

    def scan_text(
        self,
        original: str,
        vetoed: Callable[[], list[tuple[int, int]]] | None = None,
        trace: list[str] | None = None,
    ) -> Hit | None:
        """The link hit in `original`; `vetoed` gives the spans prohibition frames govern and
        allow-list entries cover (a warning about `工资条.exe` names one without sending it)."""
        view = self._view.normalize(original)
        found: list[tuple[str, int, int]] = []
        judged: list[tuple[int, int]] = []  # links whose path the verdict has read
        for url in _URL.finditer(view.text):
            start, end = view.span(url.start(), url.end())
            label = self._verdict(url, disguised=any(ch in original[start:end] for ch in _DISGUISED_DOTS))
            if label:
                found.append((label, start, end))
            if label or url.group("path"):
                judged.append((url.start(), url.end()))
        if self._exec_in_text is not None:
            for ext in self._exec_in_text.finditer(view.text):
                start = _name_start(view.text, ext.start())
                if not any(a < ext.end() and start < b for a, b in judged):
                    found.append((f"executable:{ext.group('ext')}", *view.span(start, ext.end())))
        if found and vetoed is not None:
            found = self._unframed(found, vetoed(), trace)
        return Hit.from_spans(RULE, found)

    def scan_attachment_name(self, name: str) -> Hit | None:
        if not self._exec_name:
            return None
        view = self._view(name)
        match = self._exec_name.search(view)
        if not match:
            return None
        return Hit(RULE, (f"executable:{match.group(0).strip(' .')}",), 0, len(name))

    def _verdict(self, url: re.Match[str], disguised: bool = False) -> str | None:
        """`disguised`: the original wrote a dot as 。, 点 (點) or [.]: whoever writes a link so means it."""
        host = re.sub(r"\s", "", url.group("host"))
        path = url.group("path") or ""
        explicit = bool(url.group("scheme") or url.group("port") or path or disguised)
        if _on(host, self.policy.allow_domains):
            return None
        if _on(host, self.policy.blocklist):
            return f"blocklisted:{host}"
        if any(label.startswith("xn--") for label in host.split(".")):
            return f"punycode_host:{host}"
        suffix = self._suffixes.publicsuffix(host)
        if suffix is not None:
            name = host[: -len(suffix) - 1]  # what the host puts before its public suffix
            risky = suffix in self.policy.risky_tlds or suffix.rsplit(".", 1)[-1] in self.policy.risky_tlds
            if risky and (explicit or _site_like(name)):
                return f"risky_tld:{host}"
            if self._lookalike(name):
                return f"lookalike_host:{host}"
        if not explicit:
            return None
        if _ip_literal(host):
            # 127.x.x.x is the reader's own machine: it can serve nobody else a payload
            return None if host.split(".", 1)[0] == "127" else f"ip_host:{host}"
        if _on(host, self.policy.shorteners):
            return f"shortener:{host}"
        if self._exec_in_path:
            match = self._exec_in_path.search(path.split("?", 1)[0].split("#", 1)[0])
            if match:
                return f"executable:{match.group(0)}"
        return None

    @staticmethod
    def _unframed(
        found: list[tuple[str, int, int]], regions: list[tuple[int, int]], trace: list[str] | None
    ) -> list[tuple[str, int, int]]:
        kept = []
        for label, start, end in found:
            if any(a < end and start < b for a, b in regions):
                if trace is not None:
                    trace.append(
                        f"{RULE}: {label} suppressed: a prohibition frame or allow-list entry covers it"
                    )
            else:
                kept.append((label, start, end))
        return kept

    def _lookalike(self, name: str) -> bool:
        """`name` (the host without its public suffix) holds a name and then one of the lookalike
        endings: `qq.com.share` of qq.com.share.top, `company.com-login` of company.com-login.site,
        `renzheng.cn` of renzheng.cn.com (an ending before the last label must stand alone: the
        cn-north-1 of a cloud region's host is not a disguise)."""
        labels = name.split(".")
        endings = self.policy.lookalike_endings
        if len(labels) > 1 and labels[-1].split("-", 1)[0] in endings:
            return True
        return any(label in endings for label in labels[1:-1])


def _site_like(name: str) -> bool:
    """A host written without a scheme or path reads as a site, not as a file name or two words
    (main.cc, notes.top), when it has a subdomain or its name (`name`: the host without its public
    suffix) holds a digit or a hyphen."""
    return "." in name or any(ch.isdigit() or ch == "-" for ch in name)


def _name_start(text: str, dot: int) -> int:
    """Where the file name whose extension starts at `dot` begins (at most _NAME_MAX back)."""
    start = dot
    while start > 0 and dot - start < _NAME_MAX and text[start - 1] not in _NAME_STOPS:
        start -= 1
    return start


def _on(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _ip_literal(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)
