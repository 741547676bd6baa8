"""`content.malicious_link`: structural link checks a dictionary cannot express.

A URL fires when its host is an IP literal, a known shortener, a punycode (`xn--`) name or on
the blocklist, when its path names an executable (a loopback address, 127.x.x.x, names the
reader's own machine and never fires), or when it puts a host's name before an @ so that the
reader sees that name and the browser goes to the host after it (`https://oa.example.com@evil.net/`;
the host after the @ is the one checked). A host fires even without a scheme or path
when it is on the blocklist, is punycode, ends in a top-level domain the policy lists as risky
(and reads as a site: a subdomain, a digit or a hyphen; `main.cc` is a C++ file), or
dresses up as another domain (`qq.com.example.top`, `company.com-login.site`: a name and one of
the policy's lookalike endings before the real registrable domain), spells a brand's name outside
the brand's own domains (`qq-safe.net`, `g00gle-docs.com`, `rsj-gov.com`: `[content.link_brands]`),
or spells a lure word in a host that reads as a site (`zhanghu-jiedong.com`). A file name with an
executable extension fires as an attachment's name or written in the text (`工资单.exe`); a script,
a macro document or an archive (`补丁.bat`, `报价单.xlsm`) fires when the message also tells the
reader to run it (`run_instructions`: 双击, 运行, 启用宏 …). A link or file name spread out with
spaces (`w w w . x x . c o m`) is read closed up, and a link written so fires whatever its host.
Hosts on the operator allow-list (the company domain) never fire. Which part of a host is its
registrable domain comes from the Public Suffix List (publicsuffixlist's bundled copy, ICANN
section), so `x.com.cn` is a name under `com.cn`, and a file name is not read as a host.
Links are found in the view of streams.content.addresses (NFKC, case folded, 。 read as a dot);
text that may hold none is not read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from publicsuffixlist import PublicSuffixList

from streams.content.addresses import DISGUISED_DOTS, MAY_HOLD_LINK, URL, link_view
from streams.content.link_judge import RULE, LinkCandidate, LinkModel, features
from streams.content.matcher import Hit, ModelHit
from streams.content.normalize import closed_up
from streams.core.policy_schema import brands_of

# What fires a link whatever the link judge says: the SPEC's own definition of a malicious link.
DEFINITE = ("blocklisted:", "punycode_host:", "ip_host:", "shortener:", "executable:", "userinfo_host:")
# What ends a file name written in text, looking back from its extension: a space, a character a
# file name cannot hold, or one that ends a clause.
_NAME_STOPS = frozenset(' \t\r\n/\\:*?"<>|,;!，、；：！？')
_NAME_MAX = 64
# What may stand before the dot of an extension: a name's last character, a closing quote or
# bracket (《预算调整》.vbs), or a Latin name and one space (yuzhi .apk).
_NAME_END = r"(?:(?<=\w)|(?<=[》」』”\"')\]】])|(?<=[a-z0-9_] ))"
# A userinfo's name that reads as a host's (`oa.example.com`), not as a user's (`deploy`).
_HOST_NAME = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,63}")


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    allow_domains: tuple[str, ...] = ()
    shorteners: tuple[str, ...] = ()
    blocklist: tuple[str, ...] = ()
    executable_extensions: tuple[str, ...] = ()
    executable_extensions_in_text: tuple[str, ...] = ()
    executable_extensions_when_run: tuple[str, ...] = ()
    run_instructions: tuple[str, ...] = ()
    risky_tlds: tuple[str, ...] = ()
    lookalike_endings: tuple[str, ...] = ()
    brands: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # name -> its own domains
    lure_words: tuple[str, ...] = ()

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
            executable_extensions_when_run=names("executable_extensions_when_run"),
            run_instructions=names("run_instructions"),
            risky_tlds=names("link_risky_tlds"),
            lookalike_endings=names("link_lookalike_endings"),
            brands=brands_of(section.get("link_brands", {})),
            lure_words=names("link_lure_words"),
        )


def _candidate(
    url: re.Match[str], host: str, suffix: str, label: str, where: tuple[int, int]
) -> LinkCandidate:
    return LinkCandidate(
        kind=label.split(":", 1)[0],
        host=host,
        name=host[: -len(suffix) - 1] if suffix else host,
        suffix=suffix,
        path=url.group("path") or "",
        scheme=bool(url.group("scheme")),
        start=url.start(),
        end=url.end(),
        where=where,
    )


class LinkChecker:
    def __init__(self, policy: LinkPolicy) -> None:
        self.policy = policy
        self._view = link_view()
        exts = "|".join(re.escape(e) for e in sorted(policy.executable_extensions, key=len, reverse=True))
        self._exec_in_path = re.compile(rf"\.(?:{exts})(?![a-z0-9])") if exts else None
        self._exec_name = re.compile(rf"\.(?:{exts})[\s.]*$") if exts else None
        self._exec_in_text = _file_names(policy.executable_extensions_in_text)
        told = set(policy.executable_extensions) | set(policy.executable_extensions_when_run)
        self._exec_when_run = _file_names(told - set(policy.executable_extensions_in_text))
        self._suffixes = PublicSuffixList(accept_unknown=False, only_icann=True)
        self._brands = {_skeleton(brand): brand for brand in policy.brands}
        self._lures = frozenset(policy.lure_words)

    def scan_text(
        self,
        original: str,
        vetoed: Callable[[], list[tuple[int, int]]] | None = None,
        trace: list[str] | None = None,
        model: LinkModel | None = None,
    ) -> Hit | None:
        """The link hit in `original`; `vetoed` gives the spans prohibition frames govern and
        allow-list entries cover (a warning about `工资条.exe` names one without sending it).
        `model`: the learned judge decides the hosts no definite check fired on (link_judge)."""
        found, left = self._read(original, judged=model is not None)
        score = None
        if not found and left is not None and model is not None:
            read = features(*left)
            score = model.judge.score(read)
            if trace is not None:
                drove = ", ".join(f"{f} {w:+.2f}" for f, w in model.judge.explain(read) if w)
                trace.append(
                    f"{RULE}: the link model scores {score:.3f} (threshold {model.threshold})"
                    + (f", most by {drove}" if drove else "")
                )
            if score >= model.threshold:
                found = [(f"judged:{c.kind or 'host'}:{c.host}", *c.where) for c in model.flagged(*left)]
        if found and vetoed is not None:
            found = self._unframed(found, vetoed(), trace)
        hit = Hit.from_spans(RULE, found)
        if hit is None or score is None or model is None:
            return hit
        why = tuple(f"link model: {term} (score {score:.3f})" for term in hit.terms)
        return ModelHit(hit.rule, hit.terms, hit.start, hit.end, why, score=score, model=model.model)

    def reading(self, original: str) -> tuple[bool, list[str] | None]:
        """Whether a definite check fires on `original`, and else the link judge's features of it
        (None: no host to judge): what `qunguard model train` fits the judge on."""
        found, left = self._read(original, judged=True)
        return bool(found), None if found or left is None else features(*left)

    def _read(
        self, original: str, judged: bool
    ) -> tuple[list[tuple[str, int, int]], tuple[str, list[LinkCandidate]] | None]:
        """`_found`, and where nothing fired and nothing is left to judge, the text closed up."""
        if MAY_HOLD_LINK.search(original) is None:
            return [], None
        found, left = self._found(original, judged=judged)
        if not found and left is None and (" " in original or "\u3000" in original):
            found = self._found_spread_out(original)
        return found, left

    def _found_spread_out(self, original: str) -> list[tuple[str, int, int]]:
        """The links and file names of `original` read with its spread-out runs closed up; a link
        spread out fires whatever its host (`spread_out:`), since only evasion writes one so."""
        closed, at = closed_up(original)
        if at is None:
            return []
        found, _ = self._found(closed, at)
        return [(label, at[start], at[end - 1] + 1) for label, start, end in found]

    def _found(
        self, original: str, at: list[int] | None = None, judged: bool = False
    ) -> tuple[list[tuple[str, int, int]], tuple[str, list[LinkCandidate]] | None]:
        """(label, start, end) of each link or file name that fires, spans in `original`, and with
        `judged` the hosts left to the link judge instead of firing (and the text they are in);
        None when there are none. `at`: `original` was closed up, and these are its characters'
        places before (normalize.closed_up)."""
        view = self._view.normalize(original)
        found: list[tuple[str, int, int]] = []
        left: list[LinkCandidate] = []
        judged_paths: list[tuple[int, int]] = []  # links whose path the verdict has read
        for url in URL.finditer(view.text):
            start, end = view.span(url.start(), url.end())
            host = re.sub(r"\s", "", url.group("host"))
            allowed = _on(host, self.policy.allow_domains)
            suffix = None if allowed else self._suffixes.publicsuffix(host)
            disguised = any(ch in original[start:end] for ch in DISGUISED_DOTS)
            label = None if allowed else self._verdict(url, host, suffix, disguised)
            if at is not None and _spread(at, start, end):
                label = None if allowed else f"spread_out:{label or host}"
            elif judged and not allowed and not (label or "").startswith(DEFINITE):
                left.append(_candidate(url, host, suffix or "", label or "", (start, end)))
                label = None
            if label:
                found.append((label, start, end))
            if label or url.group("path"):
                judged_paths.append((url.start(), url.end()))
        for pattern, kind in ((self._exec_in_text, "executable"), (self._exec_when_run, "run")):
            names = list(pattern.finditer(view.text)) if pattern is not None else []
            if (
                kind == "run"
                and names
                and not any(word in view.text for word in self.policy.run_instructions)
            ):
                continue
            for ext in names:
                start = _name_start(view.text, ext.start())
                if any(a < ext.end() and start < b for a, b in judged_paths):
                    continue
                label = f"{kind}:{ext.group('ext')}"
                first, last = view.span(start, ext.end())
                if at is not None and _spread(at, first, last):
                    label = f"spread_out:{label}"
                found.append((label, first, last))
        return found, (view.text, left) if left else None

    def scan_attachment_name(self, name: str) -> Hit | None:
        if not self._exec_name:
            return None
        view = self._view(name)
        match = self._exec_name.search(view)
        if not match:
            return None
        return Hit(RULE, (f"executable:{match.group(0).strip(' .')}",), 0, len(name))

    def _verdict(self, url: re.Match[str], host: str, suffix: str | None, disguised: bool) -> str | None:
        """What the checks say of `url`, whose host (`host`, without spaces) is not on the allow-list;
        `suffix` is its public suffix, None when unknown. `disguised`: the original wrote a dot as 。,
        点 (點), ·, [.] or (.): whoever writes a link so means it. The definite verdicts (`DEFINITE`)
        come first: a shortener under a risky top-level domain is a shortener."""
        path = url.group("path") or ""
        explicit = bool(url.group("scheme") or url.group("port") or path or disguised)
        if _on(host, self.policy.blocklist):
            return f"blocklisted:{host}"
        if any(label.startswith("xn--") for label in host.split(".")):
            return f"punycode_host:{host}"
        if explicit:
            userinfo = url.group("userinfo") or ""
            if _ip_literal(host):
                # 127.x.x.x is the reader's own machine: it can serve nobody else a payload
                return None if host.split(".", 1)[0] == "127" else f"ip_host:{host}"
            if _on(host, self.policy.shorteners):
                return f"shortener:{host}"
            if _HOST_NAME.fullmatch(userinfo.split(":", 1)[0]):  # a host's name dressed up before the host
                return f"userinfo_host:{host}"
            if self._exec_in_path:
                match = self._exec_in_path.search(path.split("?", 1)[0].split("#", 1)[0])
                if match:
                    return f"executable:{match.group(0)}"
        if suffix is None:
            return None
        name = host[: -len(suffix) - 1]  # what the host puts before its public suffix
        risky = suffix in self.policy.risky_tlds or suffix.rsplit(".", 1)[-1] in self.policy.risky_tlds
        if risky and (explicit or _site_like(name)):
            return f"risky_tld:{host}"
        if self._lookalike(name):
            return f"lookalike_host:{host}"
        brand = self._impersonated(name, host)
        if brand is not None:
            return f"impersonates:{brand}:{host}"
        if (explicit or _site_like(name)) and any(t in self._lures for t in _parts(name)):
            return f"lure_host:{host}"
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

    def _impersonated(self, name: str, host: str) -> str | None:
        """The brand a part of `name` spells, when `host` is none of that brand's own domains:
        `icbc` of icbc-safe.com, `wechat` of wechat-verify.net. Letters that look alike read as one
        (g00gle, linkedln, 0ffice365: `_skeleton`) and digits after a name are dropped (weixin110)."""
        if not self._brands:
            return None
        for token in _tokens(name):
            brand = self._brands.get(_skeleton(token))
            if brand is not None and not _on(host, self.policy.brands[brand]):
                return brand
        return None


def _parts(name: str) -> Iterator[str]:
    """The labels of `name` and their hyphen-separated parts, each also without trailing digits, in
    the order they are written (a set's order changed with the process's hash seed, and with it
    which of two brands a host spells its evidence named)."""
    for label in name.split("."):
        for part in dict.fromkeys((label, *label.split("-"))):
            yield part
            bare = part.rstrip("0123456789")
            if bare and bare != part:
                yield bare


def _tokens(name: str) -> Iterator[str]:
    """`_parts`, and each run of a label's neighbouring parts written together (git-hub -> github,
    sf-express-pei -> sfexpress)."""
    yield from _parts(name)
    for label in name.split("."):
        pieces = label.split("-")
        for i in range(len(pieces)):
            for j in range(i + 2, len(pieces) + 1):
                yield "".join(pieces[i:j])


# Letters and digits phishing hosts put in place of others (g00gle, 0ffice365, linkedln, paypa1).
_LOOKALIKE_LETTERS = str.maketrans("01i", "oll")


def _skeleton(token: str) -> str:
    return token.lower().replace("rn", "m").replace("vv", "w").translate(_LOOKALIKE_LETTERS)


def _site_like(name: str) -> bool:
    """A host written without a scheme or path reads as a site, not as a file name or two words
    (main.cc, notes.top), when it has a subdomain or its name (`name`: the host without its public
    suffix) holds a digit or a hyphen."""
    return "." in name or any(ch.isdigit() or ch == "-" for ch in name)


def _spread(at: list[int], start: int, end: int) -> bool:
    """Whether characters start..end of a closed-up text were spread out in the original."""
    return at[end - 1] - at[start] + 1 > end - start


def _file_names(extensions: Iterable[str]) -> re.Pattern[str] | None:
    """A file name with one of `extensions`, written in text (the extension after a word)."""
    alternatives = "|".join(re.escape(e) for e in sorted(extensions, key=len, reverse=True))
    return re.compile(rf"{_NAME_END}\.(?P<ext>{alternatives})(?![a-z0-9])") if alternatives else None


def _name_start(text: str, dot: int) -> int:
    """Where the file name whose extension starts at `dot` begins (at most _NAME_MAX back)."""
    start = dot
    while start > 0 and dot - start < _NAME_MAX and text[start - 1] not in _NAME_STOPS:
        start -= 1
    return start


def _on(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _ip_literal(host: str) -> bool:
    """Four numbers up to 255, some of them perhaps masked (47.96.x.x), the first one not."""
    parts = host.split(".")
    if len(parts) != 4 or not parts[0].isdigit():
        return False
    return all(int(p) <= 255 if p.isdigit() else p.strip("x*") == "" for p in parts)
