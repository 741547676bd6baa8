"""streams.content.evidence: the dictionary terms the labelled data shows mostly in harmless
messages."""

from __future__ import annotations

from streams.content.evidence import term_evidence
from streams.content.examples import Example
from streams.content.reading import model_input


def test_ambiguous_terms_are_those_mostly_in_harmless_messages() -> None:

    def ex(text: str, label: str) -> Example:
        return Example(model_input(text), label, "author_a", text=text)

    examples = [ex(f"严打赌博 通知{i}", "none") for i in range(4)]  # a notice's word, four times
    examples += [ex("一起去赌博", "content.gambling"), ex("去赌场玩", "content.gambling")]
    examples += [ex(f"赌场{i}", "content.gambling") for i in range(3)] + [ex("赌场 新闻", "none")]
    examples += [ex("严打赌博 通知0", "none")] * 5  # a repeated text counts once
    examples += [ex(f"赌博骗子{i}", "content.ad") for i in range(9)]  # another rule's positives: neither side

    def words(text: str) -> list[tuple[str, tuple[tuple[str, ...], ...]]]:
        return [("content.gambling", ((term,),)) for term in ("赌博", "赌场") if term in text]

    assert term_evidence(examples, words)[0] == {"content.gambling": [["赌博"]]}

    def pairs(text: str) -> list[tuple[str, tuple[tuple[str, ...], ...]]]:  # an @near hit: one pairing
        return [("content.rumor", (("听说", "食堂"),))] if "食堂" in text else []

    chat = [ex(f"听说食堂{i}", "none") for i in range(3)] + [ex("听说食堂要关", "content.rumor")]
    # the pairing as a whole: its terms do not fire alone, so they are not counted alone
    assert term_evidence(chat, pairs)[0] == {"content.rumor": [["听说", "食堂"]]}

    def two_terms(text: str) -> list[tuple[str, tuple[tuple[str, ...], ...]]]:  # terms that fire alone
        return [("content.gambling", (("网络赌博",), ("赌博",)))]

    notices = [ex(f"严打网络赌博 通知{i}", "none") for i in range(3)]
    assert term_evidence(notices, two_terms)[0] == {
        "content.gambling": [["网络赌博"], ["网络赌博", "赌博"], ["赌博"]]
    }
