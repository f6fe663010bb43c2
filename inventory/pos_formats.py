"""Reading the files a POS exports: Square's item library export, and a plain CSV.

Pure functions over bytes and text: nothing here touches the database. The caller passes
the names of the opsdesk locations; the result is one `PosItem` per SKU with its POS name,
price and a count per location. Anything wrong stops the whole file with a `PosFileError`
naming the row and the column, so that nothing of a bad file is ever applied.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first item row 2.

Square's item library export (Items → Actions → Export library → CSV) has, among others:

    Token, Item Name, Variation Name, SKU, Description, Category, GTIN,
    Square Online Item Visibility, Weight (lb), Price, Sellable, Stockable, Archived,
    Option Name 1, Option Value 1, ..., Default Unit Cost, Default Vendor Name,
    Default Vendor Code, then for each Square location L:
    Enabled L, Current Quantity L, New Quantity L, Stock Alert Enabled L, Stock Alert Count L,
    and the tax columns (Tax - <name> (<rate>)).

One row per item variation. "Current Quantity L" is the count at location L (empty when the
item is not tracked there); L must be the name of an opsdesk location. "Price" is empty or
"variable" for variable pricing. Only the columns read here matter; the rest are ignored
(the description, for one: the web owns it).

The plain CSV has the columns sku, location, quantity and, optionally, price and name; one
row per SKU and location.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ALLOWED_SUFFIXES = (".csv", ".txt")
SNIFF_BYTES = 8192

SQUARE = "square"
PLAIN = "plain"

SQUARE_SKU = "SKU"
SQUARE_ITEM_NAME = "Item Name"
SQUARE_VARIATION_NAME = "Variation Name"
SQUARE_PRICE = "Price"
SQUARE_GTIN = "GTIN"
SQUARE_ARCHIVED = "Archived"
SQUARE_QUANTITY_PREFIX = "Current Quantity "
SQUARE_REQUIRED = (SQUARE_SKU, SQUARE_ITEM_NAME, SQUARE_PRICE)

PLAIN_SKU = "sku"
PLAIN_LOCATION = "location"
PLAIN_QUANTITY = "quantity"
PLAIN_PRICE = "price"
PLAIN_NAME = "name"
PLAIN_REQUIRED = (PLAIN_SKU, PLAIN_LOCATION, PLAIN_QUANTITY)

SKU_MAX_LENGTH = 64
# A letter or digit first (so never a formula prefix), then the usual SKU punctuation.
SKU_RE = re.compile(r"[^\W_][\w.\-/#+:() ]*")
# Thousands separated by commas only in groups of three: "1,234" reads, "12,5" does not.
WHOLE = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
QUANTITY_RE = re.compile(WHOLE + r"(?:\.0*)?")
PRICE_RE = re.compile(WHOLE + r"(?:\.\d{1,2})?")
PRICE_MAX = Decimal("9999999999.99")
CURRENCY_SIGNS = "$£€¥"
TRUE_WORDS = {"y", "yes", "true", "1"}
FALSE_WORDS = {"n", "no", "false", "0", ""}
QUANTITY_LIMIT = 10_000_000

Progress = Callable[[int, int], None]


def first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


class PosFileError(Exception):
    """A file that cannot be applied: what is wrong, and where (row and column)."""

    def __init__(self, message: str, *, row: int | None = None, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column “{self.column}”")
        return f"{first_upper(', '.join(where))}: {self.message}" if where else self.message


@dataclass(slots=True)
class PosItem:
    """One SKU as the POS has it."""

    row: int
    sku: str
    name: str = ""
    price: Decimal | None = None
    archived: bool | None = None
    barcode: str = ""
    # opsdesk location name -> count there; a location missing here was not counted.
    quantities: dict[str, int] = field(default_factory=dict)
    # opsdesk location name -> the row its count came from, when not `row` (plain files
    # have a row per location).
    quantity_rows: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class PosFile:
    format: str
    items: list[PosItem]
    location_names: list[str]
    rows_total: int


# Before parsing ---------------------------------------------------------------------------


def pos_upload_check(*, name: str, size: int, head: bytes) -> None:
    """Refuse, before reading it, a file that is too big, empty, or not text."""
    if size > MAX_UPLOAD_BYTES:
        raise PosFileError(
            f"The file is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB. Export fewer items at a time, or split it."
        )
    if size == 0 or not head.strip():
        raise PosFileError("The file is empty.")
    lowered = name.lower()
    if head.startswith(b"PK\x03\x04") or lowered.endswith((".xlsx", ".xlsm", ".numbers")):
        raise PosFileError(
            "This is a spreadsheet workbook, not a CSV file. In Square, export the item "
            "library as CSV (or save the sheet as “CSV UTF-8”) and upload that."
        )
    if head.startswith(b"\xd0\xcf\x11\xe0") or lowered.endswith(".xls"):
        raise PosFileError("This is an old Excel (.xls) workbook. Save it as “CSV UTF-8”.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PosFileError(
            "This file is UTF-16 text (“Unicode text”). Save it as “CSV UTF-8” and upload again."
        )
    if any(byte < 9 or 13 < byte < 32 for byte in head):
        raise PosFileError(
            "This is not a text file (it holds binary data). Upload the CSV file the POS exports."
        )
    if not lowered.endswith(ALLOWED_SUFFIXES):
        raise PosFileError(
            "Upload a .csv file (a .txt file with comma-separated values works too)."
        )


def pos_file_decode(data: bytes) -> str:
    """The text of a UTF-8 file (with or without Excel's BOM), or an error naming where."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _encoding_error(data, exc) from None


def _encoding_error(data: bytes, exc: UnicodeDecodeError) -> PosFileError:
    # Parse the part that reads fine: its last record is where the bad byte sits.
    prefix = data[: exc.start].decode("utf-8-sig", errors="replace")
    records = list(csv.reader(io.StringIO(prefix))) or [[]]
    if prefix.endswith(("\n", "\r")):
        records.append([])
    row = len(records)
    index = max(len(records[-1]) - 1, 0)
    header = records[0] if row > 1 else []
    column = header[index].strip() if index < len(header) else ""
    return PosFileError(
        f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be read). "
        "Export it again as CSV with UTF-8 encoding (in Excel: “CSV UTF-8”).",
        row=row,
        column=column,
    )


# Parsing ----------------------------------------------------------------------------------


def _normal(name: str) -> str:
    return " ".join(name.split()).casefold()


def pos_format_detect(text: str) -> str:
    """Square when the header has Square's columns, plain otherwise."""
    first = next(csv.reader(io.StringIO(text[:65536])), [])
    names = {cell.strip() for cell in first}
    if SQUARE_ITEM_NAME in names or any(n.startswith(SQUARE_QUANTITY_PREFIX) for n in names):
        return SQUARE
    return PLAIN


def pos_file_parse(
    text: str,
    *,
    format: str,
    locations: Mapping[str, object],
    progress: Progress | None = None,
) -> PosFile:
    """Read and check a whole POS file; the first problem stops it (PosFileError)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = list(reader)
    except csv.Error as exc:
        raise PosFileError(
            f"The file is not valid CSV here ({exc}).", row=reader.line_num
        ) from None
    # Spreadsheets end files with blank rows at times; they are not items.
    while records and not any(cell.strip() for cell in records[-1]):
        records.pop()
    if not records:
        raise PosFileError("The file is empty.")
    known = {_normal(name): name for name in locations}
    parse = _parse_square if format == SQUARE else _parse_plain
    return parse(records, known, progress)


def _header(records: list[list[str]], required: tuple[str, ...], *, fold: bool) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(records[0]):
        name = cell.strip().lower() if fold else cell.strip()
        if not name:
            continue
        if name in columns:
            raise PosFileError("This column appears twice.", row=1, column=cell.strip())
        columns[name] = index
    for name in required:
        if name not in columns:
            raise PosFileError(
                f"The column “{name}” is missing. "
                f"Found: {', '.join(c.strip() for c in records[0])}.",
                row=1,
                column=name,
            )
    return columns


def _progress_step(total: int) -> int:
    return max(500, total // 50)


def _cell(record: list[str], index: int | None) -> str:
    if index is None or index >= len(record):
        return ""
    return record[index].strip()


def parse_sku(value: str, row: int, column: str) -> str:
    if not value:
        raise PosFileError("The SKU is empty; every item needs one.", row=row, column=column)
    if len(value) > SKU_MAX_LENGTH or not SKU_RE.fullmatch(value):
        shown = value[:40] + ("…" if len(value) > 40 else "")
        raise PosFileError(
            f"“{shown}” is not a usable SKU: up to {SKU_MAX_LENGTH} letters, digits, spaces and "
            ". - _ / # + : ( ), starting with a letter or digit.",
            row=row,
            column=column,
        )
    return value


def parse_quantity(value: str, row: int, column: str) -> int:
    text = value
    if text.startswith("-") and QUANTITY_RE.fullmatch(text[1:]):
        raise PosFileError(
            f"The quantity {value} is negative. Count the item in the POS, export again.",
            row=row,
            column=column,
        )
    if not QUANTITY_RE.fullmatch(text):
        raise PosFileError(
            f"“{value[:40]}” is not a quantity (a whole number of units).", row=row, column=column
        )
    if len(text) > 20:
        raise PosFileError(
            f"The quantity {value[:40]} is implausibly large.", row=row, column=column
        )
    quantity = int(text.split(".")[0].replace(",", ""))
    if quantity > QUANTITY_LIMIT:
        raise PosFileError(f"The quantity {value} is implausibly large.", row=row, column=column)
    return quantity


def parse_price(value: str, row: int, column: str) -> Decimal | None:
    if not value or value.casefold() == "variable":
        return None
    text = value.lstrip(CURRENCY_SIGNS).strip()
    if not PRICE_RE.fullmatch(text) or len(text) > 20:
        raise PosFileError(
            f"“{value[:40]}” is not a price (like 12.50, with at most two decimals, not negative).",
            row=row,
            column=column,
        )
    try:
        price = Decimal(text.replace(",", "")).quantize(Decimal("0.01"))
    except InvalidOperation:  # pragma: no cover - the pattern already refused it
        raise PosFileError(f"“{value}” is not a price.", row=row, column=column) from None
    if price > PRICE_MAX:
        raise PosFileError(f"The price {value} is implausibly large.", row=row, column=column)
    return price


def _yes_no(value: str, row: int, column: str) -> bool:
    word = value.casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise PosFileError(f"“{value[:40]}” is not Y or N.", row=row, column=column)


def gtin_valid(code: str) -> bool:
    """A GTIN-8, UPC-A (12), EAN-13 or GTIN-14 with a correct check digit (the catalog's rule)."""
    from django.core.exceptions import ValidationError

    from catalog.validators import validate_gtin

    if not code:
        return False
    try:
        validate_gtin(code)
    except ValidationError:
        return False
    return True


def _parse_square(
    records: list[list[str]], known: dict[str, str], progress: Progress | None
) -> PosFile:
    columns = _header(records, SQUARE_REQUIRED, fold=False)
    quantity_columns: list[tuple[int, str, str]] = []  # (index, header, opsdesk name)
    for header, index in columns.items():
        if not header.startswith(SQUARE_QUANTITY_PREFIX):
            continue
        square_name = header[len(SQUARE_QUANTITY_PREFIX) :]
        location = known.get(_normal(square_name))
        if location is None:
            raise PosFileError(
                f"“{square_name}” is not an opsdesk location. Name the location in opsdesk "
                f"exactly as in Square (known: {', '.join(sorted(known.values())) or 'none'}).",
                row=1,
                column=header,
            )
        quantity_columns.append((index, header, location))
    if not quantity_columns:
        raise PosFileError(
            "There is no “Current Quantity <location>” column. Export the library with "
            "inventory for your locations.",
            row=1,
            column=f"{SQUARE_QUANTITY_PREFIX}<location>",
        )
    sku_i, item_i = columns[SQUARE_SKU], columns[SQUARE_ITEM_NAME]
    variation_i = columns.get(SQUARE_VARIATION_NAME)
    price_i, gtin_i = columns[SQUARE_PRICE], columns.get(SQUARE_GTIN)
    archived_i = columns.get(SQUARE_ARCHIVED)

    total = len(records) - 1
    step = _progress_step(total)
    width = max(columns.values()) + 1
    seen: dict[str, int] = {}
    items: list[PosItem] = []
    for offset, record in enumerate(records[1:], start=1):
        row = offset + 1
        if progress is not None and offset % step == 0:
            progress(offset, total)
        if len(record) < width:
            record = record + [""] * (width - len(record))
        sku = record[sku_i].strip()
        if not sku and not any(cell.strip() for cell in record):
            continue
        sku = parse_sku(sku, row, SQUARE_SKU)
        first = seen.get(sku)
        if first is not None:
            raise PosFileError(
                f"The SKU {sku} is already on row {first}; each SKU once per file.",
                row=row,
                column=SQUARE_SKU,
            )
        seen[sku] = row
        item_name = record[item_i].strip()
        variation = _cell(record, variation_i)
        name = f"{item_name} - {variation}" if variation and variation != "Regular" else item_name
        gtin = _cell(record, gtin_i)
        quantities = {}
        for index, header, location in quantity_columns:
            value = record[index].strip()
            if not value:  # not tracked at that location
                continue
            if value.isdigit() and value.isascii() and len(value) < 9:
                quantities[location] = int(value)
            else:
                quantities[location] = parse_quantity(value, row, header)
        items.append(
            PosItem(
                row=row,
                sku=sku,
                name=name[:255],
                price=parse_price(record[price_i].strip(), row, SQUARE_PRICE),
                archived=(
                    _yes_no(record[archived_i].strip(), row, SQUARE_ARCHIVED)
                    if archived_i is not None
                    else None
                ),
                barcode=gtin if gtin and gtin_valid(gtin) else "",
                quantities=quantities,
            )
        )
    if progress is not None:
        progress(total, total)
    return PosFile(
        format=SQUARE,
        items=items,
        location_names=[location for _, _, location in quantity_columns],
        rows_total=total,
    )


def _parse_plain(
    records: list[list[str]], known: dict[str, str], progress: Progress | None
) -> PosFile:
    columns = _header(records, PLAIN_REQUIRED, fold=True)
    sku_i, location_i, quantity_i = (columns[c] for c in PLAIN_REQUIRED)
    price_i, name_i = columns.get(PLAIN_PRICE), columns.get(PLAIN_NAME)

    total = len(records) - 1
    step = _progress_step(total)
    by_sku: dict[str, PosItem] = {}
    price_rows: dict[str, int] = {}
    used: dict[str, None] = {}
    for offset, record in enumerate(records[1:], start=1):
        row = offset + 1
        if progress is not None and offset % step == 0:
            progress(offset, total)
        if not any(cell.strip() for cell in record):
            continue
        sku = parse_sku(_cell(record, sku_i), row, PLAIN_SKU)
        location_text = _cell(record, location_i)
        if not location_text:
            raise PosFileError("The location is empty.", row=row, column=PLAIN_LOCATION)
        location = known.get(_normal(location_text))
        if location is None:
            raise PosFileError(
                f"“{location_text[:60]}” is not an opsdesk location "
                f"(known: {', '.join(sorted(known.values())) or 'none'}).",
                row=row,
                column=PLAIN_LOCATION,
            )
        quantity_text = _cell(record, quantity_i)
        if not quantity_text:
            raise PosFileError("The quantity is empty.", row=row, column=PLAIN_QUANTITY)
        quantity = parse_quantity(quantity_text, row, PLAIN_QUANTITY)
        price = parse_price(_cell(record, price_i), row, PLAIN_PRICE)
        item = by_sku.get(sku)
        if item is None:
            item = by_sku[sku] = PosItem(row=row, sku=sku, name=_cell(record, name_i)[:255])
        elif location in item.quantities:
            raise PosFileError(
                f"The SKU {sku} is already on row {item.quantity_rows[location]} for "
                f"{location}; each SKU once per location.",
                row=row,
                column=PLAIN_SKU,
            )
        if price is not None:
            if item.price is not None and item.price != price:
                raise PosFileError(
                    f"The price {price} differs from {item.price} on row {price_rows[sku]} "
                    f"for the same SKU.",
                    row=row,
                    column=PLAIN_PRICE,
                )
            item.price = price
            price_rows.setdefault(sku, row)
        item.quantities[location] = quantity
        item.quantity_rows[location] = row
        used[location] = None
    if progress is not None:
        progress(total, total)
    return PosFile(
        format=PLAIN, items=list(by_sku.values()), location_names=list(used), rows_total=total
    )
