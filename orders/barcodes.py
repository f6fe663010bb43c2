"""Code 128 barcodes as inline SVG, for pick lists and packing slips.

No barcode library is installed, and Code 128 is small enough to draw directly: code set B
for printable ASCII, code set C (two digits a symbol, half as wide) for even runs of digits
such as EANs and tracking numbers. The SVG holds only rectangles (no script, no style), so
the pages' CSP is satisfied, and it prints sharp at any size.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Bar and space widths (in modules) of the symbols 0-105; then the stop symbol.
PATTERNS = [
    "212222",
    "222122",
    "222221",
    "121223",
    "121322",
    "131222",
    "122213",
    "122312",
    "132212",
    "221213",
    "221312",
    "231212",
    "112232",
    "122132",
    "122231",
    "113222",
    "123122",
    "123221",
    "223211",
    "221132",
    "221231",
    "213212",
    "223112",
    "312131",
    "311222",
    "321122",
    "321221",
    "312212",
    "322112",
    "322211",
    "212123",
    "212321",
    "232121",
    "111323",
    "131123",
    "131321",
    "112313",
    "132113",
    "132311",
    "211313",
    "231113",
    "231311",
    "112133",
    "112331",
    "132131",
    "113123",
    "113321",
    "133121",
    "313121",
    "211331",
    "231131",
    "213113",
    "213311",
    "213131",
    "311123",
    "311321",
    "331121",
    "312113",
    "312311",
    "332111",
    "314111",
    "221411",
    "431111",
    "111224",
    "111422",
    "121124",
    "121421",
    "141122",
    "141221",
    "112214",
    "112412",
    "122114",
    "122411",
    "142112",
    "142211",
    "241211",
    "221114",
    "413111",
    "241112",
    "134111",
    "111242",
    "121142",
    "121241",
    "114212",
    "124112",
    "124211",
    "411212",
    "421112",
    "421211",
    "212141",
    "214121",
    "412121",
    "111143",
    "111341",
    "131141",
    "114113",
    "114311",
    "411113",
    "411311",
    "113141",
    "114131",
    "311141",
    "411131",
    "211412",
    "211214",
    "211232",
]
STOP = "2331112"
START_B, START_C = 104, 105
CODE_B, CODE_C = 100, 99
QUIET = 10  # modules of white either side, as the standard asks


def _is_b(char: str) -> bool:
    return 32 <= ord(char) <= 126


def code128_values(text: str) -> list[int]:
    """The symbol values of `text` (start, data, check digit); ValueError if not encodable."""
    if not text:
        raise ValueError("Nothing to encode.")
    bad = [c for c in text if not _is_b(c)]
    if bad:
        raise ValueError(f"{bad[0]!r} cannot be drawn in a Code 128 barcode.")
    values: list[int] = []
    i = 0
    current = None
    while i < len(text):
        run = 0
        while i + run < len(text) and text[i + run].isdigit():
            run += 1
        # Set C pays off for 4 or more digits (or a whole text of 2 or more).
        if run >= 4 or (run >= 2 and run == len(text)):
            run -= run % 2
            if current != "C":
                values.append(START_C if current is None else CODE_C)
                current = "C"
            for j in range(i, i + run, 2):
                values.append(int(text[j : j + 2]))
            i += run
            continue
        if current != "B":
            values.append(START_B if current is None else CODE_B)
            current = "B"
        values.append(ord(text[i]) - 32)
        i += 1
    check = (values[0] + sum(pos * v for pos, v in enumerate(values[1:], start=1))) % 103
    return [*values, check]


def code128_modules(text: str) -> str:
    """The barcode as widths, bar first: the symbols' patterns and the stop pattern."""
    return "".join(PATTERNS[v] for v in code128_values(text)) + STOP


def code128_svg(
    text: str, *, height: int = 48, module: float = 1.5, label: bool = True
) -> SafeString:
    """An inline SVG of `text` as a Code 128 barcode (with the text under it)."""
    widths = [int(w) for w in code128_modules(text)]
    total = sum(widths) + 2 * QUIET
    label_space = 14 if label else 0
    rects = []
    x = QUIET
    for position, width in enumerate(widths):
        if position % 2 == 0:  # bars at even positions, spaces between them
            rects.append(f'<rect x="{x}" y="0" width="{width}" height="{height}"/>')
        x += width
    caption = (
        f'<text x="{total / 2:g}" y="{height + 12}" font-family="monospace" font-size="11" '
        f'text-anchor="middle">{escape(text)}</text>'
        if label
        else ""
    )
    return mark_safe(  # noqa: S308  (built from numbers and the escaped text only)
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="barcode" '
        f'aria-label="Barcode {escape(text)}" data-barcode="{escape(text)}" '
        f'width="{total * module:g}" height="{(height + label_space) * module:g}" '
        f'viewBox="0 0 {total} {height + label_space}" shape-rendering="crispEdges">'
        f'<rect x="0" y="0" width="{total}" height="{height + label_space}" fill="#fff"/>'
        f'<g fill="#000">{"".join(rects)}</g>{caption}</svg>'
    )


def code128_decode(modules: str) -> str:
    """Read widths back to text (for tests: proves the drawing round-trips)."""
    lookup = {pattern: value for value, pattern in enumerate(PATTERNS)}
    if not modules.endswith(STOP):
        raise ValueError("No stop pattern.")
    body = modules[: -len(STOP)]
    values = [lookup[body[i : i + 6]] for i in range(0, len(body), 6)]
    *data, check = values
    if (data[0] + sum(p * v for p, v in enumerate(data[1:], start=1))) % 103 != check:
        raise ValueError("Check digit does not match.")
    out = []
    mode = {START_B: "B", START_C: "C"}[data[0]]
    for value in data[1:]:
        if value == CODE_B:
            mode = "B"
        elif value == CODE_C:
            mode = "C"
        elif mode == "C":
            out.append(f"{value:02d}")
        else:
            out.append(chr(value + 32))
    return "".join(out)
