"""The bounded retry of the stock services on serialization failures and deadlocks (R10).

Outside a test transaction on purpose: the retry only applies when the service owns it.
"""

import pytest
from django.db import OperationalError, transaction

from inventory.services import levels as levels_module


class _PgError(Exception):
    def __init__(self, pgcode: str) -> None:
        self.pgcode = pgcode


def _conflict(pgcode: str) -> OperationalError:
    exc = OperationalError("conflict")
    exc.__cause__ = _PgError(pgcode)
    return exc


def test_a_deadlock_is_tried_again_and_then_succeeds(monkeypatch):
    monkeypatch.setattr(levels_module.time, "sleep", lambda s: None)
    calls = []

    @levels_module.retry_on_conflict
    def work():
        calls.append(1)
        if len(calls) < 3:
            raise _conflict("40P01")
        return "done"

    assert work() == "done"
    assert len(calls) == 3


def test_retries_are_bounded_and_other_errors_are_not_retried(monkeypatch):
    monkeypatch.setattr(levels_module.time, "sleep", lambda s: None)
    calls = []

    @levels_module.retry_on_conflict
    def always_conflicts():
        calls.append(1)
        raise _conflict("40001")

    @levels_module.retry_on_conflict
    def broken():
        calls.append(2)
        raise _conflict("08006")

    with pytest.raises(OperationalError):
        always_conflicts()
    with pytest.raises(OperationalError):
        broken()
    assert calls.count(1) == levels_module.CONFLICT_ATTEMPTS
    assert calls.count(2) == 1


@pytest.mark.django_db
def test_inside_a_callers_transaction_it_runs_once():
    calls = []

    @levels_module.retry_on_conflict
    def work():
        calls.append(1)
        raise _conflict("40P01")

    with pytest.raises(OperationalError), transaction.atomic():
        work()
    assert calls == [1]
