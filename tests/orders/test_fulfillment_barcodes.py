"""Code 128 barcodes drawn for pick lists and packing slips."""

import pytest

from orders.barcodes import PATTERNS, code128_decode, code128_modules, code128_svg, code128_values


def test_patterns_are_the_code_128_table():
    assert len(PATTERNS) == 106
    assert len(set(PATTERNS)) == 106
    for pattern in PATTERNS:
        widths = [int(w) for w in pattern]
        assert sum(widths) == 11  # every symbol is 11 modules wide
        assert (widths[0] + widths[2] + widths[4]) % 2 == 0  # bars: even parity


def test_a_known_symbol():
    # "PJJ123C" in code set B: start B, P J J 1 2 3 C, check digit 55 (879 mod 103).
    assert code128_values("PJJ123C") == [104, 48, 42, 42, 17, 18, 19, 35, 55]


@pytest.mark.parametrize(
    "text", ["SKU-00001", "#1001-1", "1Z999AA10123456784", "4006381333931", "12", "a b~"]
)
def test_drawing_reads_back(text):
    assert code128_decode(code128_modules(text)) == text


def test_digits_use_code_set_c():
    assert code128_values("40063813")[:1] == [105]
    assert len(code128_values("40063813")) == 1 + 4 + 1


def test_characters_outside_the_code_set_are_refused():
    with pytest.raises(ValueError):
        code128_values("café")
    with pytest.raises(ValueError):
        code128_values("")


def test_svg_escapes_the_text_and_has_no_script():
    svg = code128_svg('<b>"x"</b>')
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg
    assert "<script" not in svg and "style=" not in svg
    assert svg.count("<rect") == 1 + code128_modules('<b>"x"</b>').__len__() // 2 + 1
