"""Reads compiled to SQL once per process, for the few that run on every request.

Django compiles a queryset to SQL each time it runs one: it resolves every selected column,
join and condition again. Usually that is a small part of a page; for the logged-in user
(read on every request) and the order page's reads it was 3.4 of the order page's 16.6 ms of
CPU, more than the database took to answer them.

A CompiledRead builds its queryset and compiles it once, with stand-in values for its
parameters. Each call then runs the same SQL with the call's values in the stand-ins' places,
and Django's own iterable builds the objects from the rows (select_related objects and
annotations included), exactly as the queryset would.

Only for querysets whose SQL does not change with the values: equality and comparisons on
ints and strings, fixed slices. Not for `__in` lists, None (which compiles to IS NULL), or
anything the stand-in cannot stand for; compiling refuses a parameter whose stand-in does not
reach the SQL's parameters. The queryset must depend on its parameters alone: a value it
computes (the time now) would be kept from the first call.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet

# Within the range of every integer column, and not a value any row or query uses.
_INT_STANDIN = -1_987_654_321


@dataclass(frozen=True)
class _Compiled:
    queryset: QuerySet
    compiler: Any  # the SQLCompiler that compiled it: its select list builds the objects
    sql: str
    params: tuple[Any, ...]
    slots: dict[str, tuple[int, ...]]  # parameter name: where its value goes in params


class CompiledRead:
    """`read = CompiledRead(lambda order_id: Line.objects.filter(order_id=order_id),
    order_id=int)`, then `read(order_id=5)` gives the list the queryset would."""

    def __init__(self, build: Callable[..., QuerySet], **kinds: type) -> None:
        unsupported = {name: kind for name, kind in kinds.items() if kind not in (int, str)}
        if unsupported:
            raise TypeError(f"CompiledRead takes int and str parameters, not {unsupported}")
        self.build = build
        self.kinds = kinds
        self._compiled: _Compiled | None = None
        self._lock = threading.Lock()

    def _standins(self) -> dict[str, int | str]:
        return {
            name: _INT_STANDIN - i if kind is int else f"\x1fstand-in {name}\x1f"
            for i, (name, kind) in enumerate(self.kinds.items())
        }

    def _compile(self) -> _Compiled:
        standins = self._standins()
        queryset = self.build(**standins)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        slots = {
            name: tuple(i for i, param in enumerate(params) if param == value)
            for name, value in standins.items()
        }
        lost = [name for name, where in slots.items() if not where]
        if lost:
            raise ValueError(f"The compiled SQL does not take {lost} as parameters: {sql}")
        return _Compiled(queryset, compiler, sql, tuple(params), slots)

    def compiled(self) -> _Compiled:
        if self._compiled is None:
            with self._lock:
                self._compiled = self._compiled or self._compile()
        return self._compiled

    def __call__(self, **values: int | str) -> list[Model]:
        if values.keys() != self.kinds.keys():
            raise TypeError(f"CompiledRead takes {sorted(self.kinds)}, got {sorted(values)}")
        compiled = self.compiled()
        params = list(compiled.params)
        for name, where in compiled.slots.items():
            value = values[name]
            if type(value) is not self.kinds[name]:
                raise TypeError(f"{name} must be {self.kinds[name].__name__}, not {value!r}")
            for i in where:
                params[i] = value
        # A copy of the compiler per call: its state from compiling (the select list, the
        # related objects) is read by the iterable, and answers with this call's values.
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connections[compiler.using]  # this thread's
        compiler.as_sql = lambda *args, **kwargs: (compiled.sql, params)
        queryset = compiled.queryset.all()
        queryset.query.get_compiler = lambda *args, **kwargs: compiler
        return list(queryset)
