#!/usr/bin/env bash
# The whole suite in two passes, under tests/services.sh (make test):
#   1. every test not marked serial, on every core (pytest-xdist; each worker has its own
#      test database and Redis database, see opsdesk/settings_test.py);
#   2. the serial ones, one at a time (tests/conftest.py says which: they stop and start the
#      shared services, start Celery subprocesses, or bound how long something takes).
# Usage: tests/suite.sh PYTHON [pytest arguments, e.g. a file or -x]
set -u
python="$1"
shift
# One worker per core.
workers="${TEST_WORKERS:-$(nproc)}"

"$python" -m pytest -n "$workers" --dist loadfile -m "not serial" "$@"
first=$?
"$python" -m pytest -m serial "$@"
second=$?
# 5: no tests collected (arguments that select only one kind).
[ "$first" -eq 5 ] && first=0
[ "$second" -eq 5 ] && second=0
[ "$first" -eq 0 ] && [ "$second" -eq 0 ]
