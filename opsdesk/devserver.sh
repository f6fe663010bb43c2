#!/usr/bin/env bash
# `make run`: migrate, load the demo store, then run the web server, a Celery worker and
# Celery beat together until Ctrl-C, which stops all three. If one of them stops, so do the
# others.
#
# With nothing configured this is the embedded default: DEBUG on, SQLite in var/, and Celery
# on its filesystem transport in var/celery/. DATABASE_URL, REDIS_URL and the rest are read
# as usual (from the environment or .env) when set. OPSDESK_ADDR changes the address.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=.venv/bin/python
CELERY=.venv/bin/celery
ADDR="${OPSDESK_ADDR:-127.0.0.1:8000}"
export DEBUG="${DEBUG:-true}"
export SITE_URL="${SITE_URL:-http://$ADDR}"
export PYTHONUNBUFFERED=1

mkdir -p var
"$PY" manage.py migrate --no-input
echo
echo "Loading the demo store:"
"$PY" manage.py seed_demo | tee var/demo-logins.txt
echo

pids=()
names=()
start() {
    # Each in a session of its own, so Ctrl-C reaches only this script, which stops them in
    # order, and so stopping one can reach its children (runserver's reloader runs the
    # server in a child). The line marker runs outside that session and ignores Ctrl-C,
    # so it logs to the end.
    local name="$1" out
    shift
    exec {out}> >(
        trap '' INT
        exec sed -u "s/^/[$name] /"
    )
    setsid "$@" </dev/null 1>&"$out" 2>&1 &
    pids+=("$!")
    names+=("$name")
    exec {out}>&-
}

any_alive() {
    local pid
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then return 0; fi
    done
    return 1
}

stopping=""
stop_all() {
    [ -n "$stopping" ] && return
    stopping=1
    echo
    echo "Stopping web, worker and beat..."
    local i
    for i in "${!pids[@]}"; do
        if [ "${names[$i]}" = web ]; then
            kill -TERM -- "-${pids[$i]}" 2>/dev/null || true
        else
            # Celery stops its own pool: the worker finishes the tasks in hand first.
            kill -TERM "${pids[$i]}" 2>/dev/null || true
        fi
    done
    for _ in $(seq 200); do
        any_alive || break
        sleep 0.1
    done
    for i in "${!pids[@]}"; do
        kill -KILL -- "-${pids[$i]}" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    echo "Stopped."
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

start web "$PY" manage.py runserver "$ADDR"
start worker "$CELERY" -A opsdesk worker --loglevel=INFO --concurrency=2
start beat "$CELERY" -A opsdesk beat --loglevel=INFO

host="${ADDR%:*}"
port="${ADDR##*:}"
for _ in $(seq 150); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
        cat <<EOF

  opsdesk is running at http://$ADDR/
  Demo logins: printed above by seed_demo, and kept in var/demo-logins.txt
  Web, worker and beat log here, each line marked. Ctrl-C stops all three.

EOF
        break
    fi
    kill -0 "${pids[0]}" 2>/dev/null || break
    sleep 0.2
done

# Returns when any of the three ends (or a signal arrives, handled by the trap).
status=0
wait -n "${pids[@]}" || status=$?
echo "A process stopped (status $status); stopping the others."
exit 1
