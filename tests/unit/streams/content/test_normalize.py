"""Normalisation: each step, the offset map back to the original, and hostile input."""

from __future__ import annotations

import pytest

from streams.content.normalize import NormalizeOptions, Normalizer


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return Normalizer()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＡＶ女优", "av女优"),  # full-width → half-width, case folding
        ("臺獨", "台独"),  # traditional → simplified
        ("法 轮\u3000大-法", "法轮大法"),  # whitespace and punctuation between characters
        ("裸*聊*视*频", "裸聊视频"),
        ("a\u200bb\u200dc\ufeffd", "abcd"),  # zero-width characters
        ("杀😀了🔪他", "杀了他"),  # emoji
        ("砍砍砍砍死", "砍死"),  # runs of three or more collapse
        ("妈妈谢谢", "妈妈谢谢"),  # doubles are words and stay
        ("①②③", "123"),
        ("", ""),
    ],
)
def test_steps(norm: Normalizer, text: str, expected: str) -> None:
    assert norm(text) == expected


def test_offsets_point_into_the_original(norm: Normalizer) -> None:
    text = "先 說明：砍砍砍死 他"
    result = norm.normalize(text)
    assert len(result.offsets) == len(result.text)
    for index, char in enumerate(result.text):
        assert norm(text[result.offsets[index]]) in (char, "")
    start = result.text.index("砍死")
    lo, hi = result.span(start, start + 2)
    assert text[lo:hi] == "砍砍砍死"  # a collapsed run maps back to the whole run


def test_expanding_characters_keep_offsets(norm: Normalizer) -> None:
    result = norm.normalize("x㎏y")  # NFKC expands ㎏ to two characters
    assert result.text == "xkgy"
    assert result.offsets == (0, 1, 1, 2)


def test_each_step_can_be_switched_off() -> None:
    off = Normalizer(
        NormalizeOptions(nfkc=False, casefold=False, t2s=False, strip_noise=False, collapse_repeats=False)
    )
    assert off("ＡＢ 臺 砍砍砍") == "ＡＢ 臺 砍砍砍"
    assert Normalizer(NormalizeOptions(t2s=False))("臺獨") == "臺獨"
    assert Normalizer(NormalizeOptions(collapse_repeats=False))("砍砍砍") == "砍砍砍"


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(ValueError, match="nfkd"):
        NormalizeOptions.from_mapping({"nfkd": True})
    with pytest.raises(ValueError, match="casefold"):
        NormalizeOptions.from_mapping({"casefold": "yes"})


@pytest.mark.parametrize(
    "text",
    [
        "😀" * 10_000,
        "中文abc，" * 10_000,
        "\x00\x01\x1b\x7f控制字符",
        "lone \ud800 surrogate \udfff",
        "a" * 65_536,
    ],
)
@pytest.mark.timeout(20)  # a hang or a quadratic blow-up, not a speed figure (that is the bench's)
def test_hostile_input_is_bounded_and_safe(norm: Normalizer, text: str) -> None:
    result = norm.normalize(text)
    assert len(result.offsets) == len(result.text)
    assert all(0 <= o < len(text) for o in result.offsets[:100])
