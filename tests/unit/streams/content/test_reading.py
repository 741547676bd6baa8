"""streams.content.reading: the line the model reads of a text (numbers left out, links as a
placeholder, clause breaks, spread-out text closed up)."""

from __future__ import annotations

from streams.content.reading import model_input, reads_as_whole


def test_numbers_are_left_out_and_links_are_a_placeholder() -> None:
    assert model_input("2号线抽检 180 件,合格 180 件") == model_input("号线抽检 件,合格 件")
    assert model_input("抽检 180") == model_input("抽检")
    assert model_input("发票代码 044031900111") == model_input("发票代码")
    assert "网 址" in model_input("详见 https://example.com/a?b=1")


def test_the_model_reads_clause_breaks() -> None:
    """No character n-gram, trigrams included, spans two clauses; noise inside a clause still
    normalises away."""
    assert model_input("请注意保密，先别转给客户") == "请 注 意 保 密 | | 先 别 转 给 客 户"
    assert model_input("好的。。 \n明天 见😀 ") == "好 的 | | 明 天 | | 见"
    assert model_input("賭.博") == model_input("赌博") == "赌 博"


def test_spread_out_text_is_read_closed_up() -> None:
    """Spaces between single characters are a disguise, not clause breaks; spaces between words
    stay breaks."""
    assert model_input("垃 圾 员 工") == model_input("垃圾员工") == "垃 圾 员 工"
    assert model_input("拒 绝 加 班 ， 大 家 统 一") == model_input("拒绝加班，大家统一")
    assert model_input("今天 天气 很好") == "今 天 | | 天 气 | | 很 好"


def test_a_clause_with_only_breaks_around_it_reads_as_the_whole_text() -> None:
    """Where the text outside a clause is only clause breaks, the model reads the clause as it reads
    the text, so the vetoes reuse the message's scores instead of predicting again."""
    for text, start, end in [("你就是个废物！！", 0, 6), ("，。你就是个废物", 2, 8), ("废物", 0, 2)]:
        assert reads_as_whole(text, start, end)
        assert model_input(text[start:end]) == model_input(text)
    assert not reads_as_whole("收到，你就是个废物", 3, 9)
    assert not reads_as_whole("好" * 3000 + "，废物", 3001, 3003)  # a long text is read in part
