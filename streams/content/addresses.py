"""Where text holds a link: the view the link checks read (streams.content.links) and the
recogniser of links and addresses in it, shared with the context checks (streams.content.context).

Text is viewed after NFKC and case folding, with 。 read as a dot and invisible format characters
dropped, so full-width digits and `HTTPS://BIT.LY` look like ordinary URLs. Text with no dot before
a letter or digit in that view holds no link and is not read (`MAY_HOLD_LINK`).
"""

from __future__ import annotations

import re
import unicodedata

from streams.content.normalize import VARIANTS, NormalizeOptions, Normalizer, char_class

_INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
# 。, 点 (點 in traditional script: this view does not convert scripts) and the middle dot read as
# dots and brackets vanish, so written-out and defanged links (xx点top, xx[.]top, xx(.)top,
# xx[点]top) are read as links.
DISGUISED_DOTS = "。点點·[("
_LINK_VIEW = {
    **{c: "" for c in _INVISIBLE},
    **{c: "." for c in "。点點·"},
    **{c: "" for c in "[]()"},
}
_SP = r"[ \t]?"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# An IP address's number, or one masked as people write them (47.96.x.x, 10.0.xx.8): still an address.
_OCTET = r"(?:\d{1,3}|x{1,3}|\*{1,3})"
# After a scheme, a name and @ before the host are userinfo (RFC 3986): the browser goes to the
# host after the @, so `https://oa.example.com@45.142.17.90/` is an IP-literal link. Without a
# scheme, name@host is a mail address, never read as a link.
URL = re.compile(
    rf"(?<![a-z0-9.@-])(?:(?P<scheme>(?:https?|ftp){_SP}:{_SP}/{_SP}/{_SP})(?:(?P<userinfo>[^\s/?#@]{{1,128}})@)?)?"
    rf"(?P<host>(?:{_OCTET}{_SP}\.{_SP}){{3}}{_OCTET}|(?:{_LABEL}{_SP}\.{_SP})+(?:xn--[a-z0-9-]+|[a-z]{{2,63}}))"
    rf"(?![a-z0-9-])(?P<port>{_SP}:\d{{1,5}})?(?P<path>{_SP}/[^\s]*)?"
)


def link_view() -> Normalizer:
    return Normalizer(NormalizeOptions(t2s=False, strip_noise=False, collapse_repeats=False), _LINK_VIEW)


ADDRESS_VIEW = link_view()


def _may_hold_link() -> re.Pattern[str]:
    """What every link and file name the checks read holds, in the original text: a character the
    link view reads as a dot, then, after characters it drops or reads as spaces (`[.]`, a
    spread-out run), one it reads as a letter, a digit or a mask's `*`; or one character that is
    both (㏂ reads a.m.). Most chat holds none (a 。 ends a sentence; a host's dot is followed by
    a letter), and skips the view and its regexes. The classes come from the view itself over the
    BMP and the first astral plane (emoji, mathematical letters); characters beyond count as dots
    and letters (a unit test checks that none of them reads as either)."""
    dots, follows, skips, whole = [], [], [], []
    for code in range(0x20000):
        ch = chr(code)
        # A character none of the view's steps touches (NFKC needs a decomposition, then case
        # folding, the variants, the link map) is its own view: most of them, and the table is slow.
        changes = ch in _LINK_VIEW or ch in VARIANTS or ch.casefold() != ch or unicodedata.decomposition(ch)
        view = ADDRESS_VIEW(ch) if changes else ch
        if view.strip() == "":
            skips.append(code)
        elif "." in view:
            dots.append(code)
            if _INSIDE.search(view):
                whole.append(code)
        if _FOLLOWS.match(view):
            follows.append(code)
    beyond = "\U00020000-\U0010ffff"
    # A dot first, so the search skips ahead by one class; the spaces possessively (none reads as a
    # letter, so nothing is lost), so a long run of them is not backtracked: 64 KiB of `。 ` 2-13 ms.
    return re.compile(
        f"[{char_class(dots)}{beyond}]"
        f"(?:(?<=[{char_class(whole)}])|[{char_class(skips)}]*+[{char_class(follows)}{beyond}])"
    )


_INSIDE = re.compile(r"\.[a-z0-9*]")
_FOLLOWS = re.compile(r"[a-z0-9*]")
MAY_HOLD_LINK = _may_hold_link()


def holds_address(text: str) -> bool:
    """Whether `text` holds a link, a domain name or an IP address, as LinkChecker reads them, or a
    scheme's `://` before a host written out of shape (hxxp://10.2.x.x)."""
    view = ADDRESS_VIEW(text)
    return "://" in view or URL.search(view) is not None
