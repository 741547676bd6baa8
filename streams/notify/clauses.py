"""Clause codes as people read them: "D4.3.11" → 《公司微信群管理制度》三、11.

A violation's `clause` may list several codes separated by spaces ("D1.3 D2.7.2.4 D4.3.11");
a code may itself contain a space ("D2 (五)2"): a token that does not start a new code (D + digit)
continues the previous one. Free text with no code ("product brief") is one clause.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_CODE_START = re.compile(r"^D\d")
_DOCUMENT = re.compile(r"^(D\d+b?)")


def clause_codes(clause: str) -> list[str]:
    codes: list[str] = []
    for token in clause.split():
        if _CODE_START.match(token) or not codes:
            codes.append(token)
        else:
            codes[-1] = f"{codes[-1]} {token}"
    return codes


def cite_code(code: str, clauses: Mapping[str, str], documents: Mapping[str, str]) -> str:
    """One code in readable form: the configured title, else the document's title and the rest."""
    known = clauses.get(code)
    if known:
        return known
    match = _DOCUMENT.match(code)
    if match and match.group(1) in documents:
        rest = code[match.end() :].lstrip(". ")
        return documents[match.group(1)] + rest
    return code


def cite(clause: str, clauses: Mapping[str, str], documents: Mapping[str, str]) -> str:
    """Every code of a clause string in readable form, joined with ;."""
    seen: list[str] = []
    for code in clause_codes(clause or ""):
        text = cite_code(code, clauses, documents)
        if text not in seen:
            seen.append(text)
    return ";".join(seen)


def unmapped_codes(clause: str, clauses: Mapping[str, str]) -> list[str]:
    """Codes of `clause` with no configured readable form (the config test uses this)."""
    return [code for code in clause_codes(clause or "") if code not in clauses]
