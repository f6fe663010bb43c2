"""Writing many rows fast, for the POS sync's one-transaction apply of a whole file (its
stock levels and movements in inventory, its variants' POS fields in catalog), and for the
intake's batch build (its order lines, timeline events, stock movements and levels); and
one row fast, for the intake log's insert on every webhook delivery.

A 50,000-item export over three locations sets 150,000 stock levels and writes as many
movements. Django's bulk_update builds a CASE per field with a branch per row, and
bulk_create builds a model instance per row; at this size both take minutes on a small
machine. On PostgreSQL (through psycopg2) these helpers use COPY instead: rows go in as text,
and updates join a temporary table in one UPDATE. Elsewhere (the embedded SQLite of
`make run`) they fall back to bulk_create and bulk_update, which are fine at its sizes.

Nothing here knows about stock or products: the callers keep their rules (a movement per
change, rows locked in id order) and send the domain signals.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Field, JSONField, Model
from django.utils import timezone

BATCH = 5000
# Up to this many rows, update_many sends them in the statement; beyond, through COPY.
VALUES_ROWS = 1000
_SPECIAL = re.compile(r"[\\\t\n\r]")


def _json(value: Any) -> str:
    try:
        return json.dumps(value)  # the C encoder, for plain data
    except TypeError:
        return json.dumps(value, cls=DjangoJSONEncoder)  # dates, Decimals ...


def copy_supported() -> bool:
    """PostgreSQL through psycopg2, whose cursors take COPY ... FROM STDIN."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return hasattr(cursor.cursor, "copy_expert")


def _line(row: Sequence[Any], datetimes: dict[datetime, str]) -> str:
    """One row in COPY's text format: tab-separated, backslash escapes, \\N for NULL."""
    if all(type(value) is int for value in row):  # the usual ledger row: ids and counts
        return "\t".join(map(str, row))
    parts = []
    for value in row:
        kind = type(value)
        if kind is int:
            parts.append(str(value))
        elif value is None:
            parts.append("\\N")
        elif kind is str:
            if _SPECIAL.search(value):
                value = (
                    value.replace("\\", "\\\\")
                    .replace("\t", "\\t")
                    .replace("\n", "\\n")
                    .replace("\r", "\\r")
                )
            parts.append(value)
        elif kind is bool:
            parts.append("t" if value else "f")
        elif kind is datetime:
            text = datetimes.get(value)
            if text is None:
                text = datetimes[value] = value.isoformat()
            parts.append(text)
        else:
            parts.append(str(value))
    return "\t".join(parts)


def _copy_lines(table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
    qn = connection.ops.quote_name
    buffer = io.StringIO()
    for text in lines:
        buffer.write(text)
        buffer.write("\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN", buffer
        )


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows (one value per column) into a table. PostgreSQL only (copy_supported)."""
    datetimes: dict[datetime, str] = {}
    _copy_lines(table, columns, (_line(row, datetimes) for row in rows))


def insert_many(
    model: type[Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    same: dict[str, Any] | None = None,
) -> None:
    """Insert rows of `model`: each row gives the `fields` (attnames) in order, `same` the
    values every row shares. Any other field gets its default as Model() would give it
    (auto_now dates now, a callable default called per row). No ids come back."""
    same = dict(same or {})
    concrete = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    per_row = []
    per_row_names = []
    now = timezone.now()
    for name, f in concrete.items():
        if name in fields or name in same:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            same[name] = now
        elif f.has_default() and callable(f.default):
            per_row.append(f.default)
            per_row_names.append(name)
        else:
            same[name] = f.get_default()
    json_names = {n for n, f in concrete.items() if isinstance(f, JSONField)}

    if not copy_supported():
        objects = []
        for row in rows:
            values = dict(zip(fields, row, strict=True))
            objects.append(model(**values, **same))
        model._default_manager.bulk_create(objects, batch_size=500)
        return

    def prepared(name: str, value: Any) -> Any:
        return _json(value) if name in json_names else value

    varying = [*fields, *per_row_names]
    json_at = [i for i, name in enumerate(varying) if name in json_names]
    tail = "\t" + _line([prepared(n, v) for n, v in same.items()], {}) if same else ""
    datetimes: dict[datetime, str] = {}

    def lines() -> Iterator[str]:
        for row in rows:
            if per_row or json_at:
                row = [*row, *(make() for make in per_row)]
                for i in json_at:
                    row[i] = _json(row[i])
            yield _line(row, datetimes) + tail

    columns = [concrete[name].column for name in [*varying, *same]]
    _copy_lines(model._meta.db_table, columns, lines())


def objects_insert(objects: Sequence[Model]) -> None:
    """bulk_create for new instances of one model whose ids nobody reads afterwards (timeline
    events, ledger movements): on PostgreSQL one COPY, without the per-field preparation
    that makes bulk_create slow. The instances get no pk; auto_now dates are now. Foreign
    keys are read as the instances hold them (order_id): a related object saved after the
    instance was made must be assigned again."""
    if not objects:
        return
    model = type(objects[0])
    fields = [
        f.attname
        for f in model._meta.concrete_fields
        if not (f.primary_key or getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))
    ]
    insert_many(model, fields, [[getattr(obj, name) for name in fields] for obj in objects])


@cache
def _insert_statement(model: type[Model]) -> tuple[str, tuple[Field, ...]]:
    meta = model._meta
    fields = tuple(
        f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values})"  # noqa: S608 - names from the model
    sql += f" RETURNING {quote(meta.pk.column)}"
    return sql, fields


def insert_one(instance: Model) -> Model:
    """Insert a new instance and set its id, as save() would, with a statement compiled once
    per model. save() compiles its INSERT on every call, which costs about 0.3 ms of CPU:
    a tenth of a webhook delivery's. Sends no pre_save or post_save signal, so it is only for
    models nobody listens to (and without parent models); a unique constraint refuses as it
    would in save()."""
    sql, fields = _insert_statement(type(instance))
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def update_many(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    same: dict[str, Any] | None = None,
) -> None:
    """UPDATE rows of `model` by primary key: each row is (pk, one value per field); `same`
    sets fields every row shares (updated_at, say). A few rows go in one UPDATE ... FROM
    (VALUES ...); more go through COPY into a temporary table."""
    if not rows:
        return
    same = same or {}
    if not copy_supported():
        objects = [
            model(pk=row[0], **dict(zip(fields, row[1:], strict=True)), **same) for row in rows
        ]
        model._default_manager.bulk_update(objects, [*fields, *same], batch_size=500)
        return
    meta = model._meta
    qn = connection.ops.quote_name
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    names = ", ".join(qn(c.column) for c in columns)
    assignments = [f"{qn(c.column)} = v.{qn(c.column)}" for c in columns[1:]]
    same_params = []
    for name, value in same.items():
        assignments.append(f"{qn(meta.get_field(name).column)} = %s")
        same_params.append(value)
    pk = qn(meta.pk.column)
    update = f"UPDATE {qn(meta.db_table)} AS t SET {', '.join(assignments)} FROM"  # noqa: S608 - names from the model
    if len(rows) <= VALUES_ROWS:
        row = "(" + ", ".join(f"%s::{c.db_type(connection)}" for c in columns) + ")"
        with connection.cursor() as cursor:
            cursor.execute(
                f"{update} (VALUES {', '.join([row] * len(rows))}) AS v ({names}) "
                f"WHERE t.{pk} = v.{pk}",
                [*same_params, *(value for values in rows for value in values)],
            )
        return
    temp = f"bulk_{meta.db_table}"
    definition = ", ".join(f"{qn(c.column)} {c.db_type(connection)}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {qn(temp)} ({definition}) ON COMMIT DROP")
    copy_rows(temp, [c.column for c in columns], rows)
    with connection.cursor() as cursor:
        # Without statistics the planner guesses the temporary table's size.
        cursor.execute(f"ANALYZE {qn(temp)}")
        cursor.execute(f"{update} {qn(temp)} AS v WHERE t.{pk} = v.{pk}", same_params)
        cursor.execute(f"DROP TABLE {qn(temp)}")
