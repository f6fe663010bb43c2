"""CSV files that spreadsheets open safely: every CSV export goes through here.

A text cell that starts with = + - @, a tab or a carriage return is read as a formula by
Excel, LibreOffice and Google Sheets ("CSV injection"). Such cells get a leading single
quote, which spreadsheets show as text and do not evaluate. Numbers, dates and Decimals are
written as they are: only text can carry a formula.
"""

import csv
from collections.abc import Iterable, Sequence
from io import StringIO
from typing import Any

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe_cell(value: Any) -> Any:
    """The value, with text that a spreadsheet would run as a formula made inert."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_safe_row(values: Iterable[Any]) -> list[Any]:
    return [csv_safe_cell(value) for value in values]


class SafeWriter:
    """csv.writer with every row neutralised; `writerow` and `writerows` as usual."""

    def __init__(self, stream, **kwargs: Any) -> None:
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(csv_safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_text(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    buffer = StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Iterable[Any]]
) -> HttpResponse:
    """A CSV download (UTF-8 with a BOM, so Excel reads accents right), neutralised."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = SafeWriter(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response
