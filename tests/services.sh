#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL and Redis of its own, then remove both.
#
#   bash tests/services.sh COMMAND [ARG...]     # make test: .venv/bin/python -m pytest ...
#
# Both listen on free ports on 127.0.0.1, keep their files in one temporary folder, and are
# stopped and removed when the command ends, however it ends; the exit status is the command's.
# The command gets:
#   DATABASE_URL, REDIS_URL           what opsdesk.settings reads
#   REDIS_SERVER_BIN, REDIS_PORT,     for fault tests that stop and start Redis:
#   REDIS_CONF                          "$REDIS_SERVER_BIN" "$REDIS_CONF" starts it again as it was
#   TEST_PG_CTL, TEST_PG_DATA,        for fault tests that stop and start PostgreSQL:
#   TEST_PG_RUNAS, TEST_PG_PORT,        [runuser -u "$TEST_PG_RUNAS" --] "$TEST_PG_CTL" -D "$TEST_PG_DATA" ...
#   TEST_PG_LOG                         (TEST_PG_RUNAS is empty when not running as root)
# Missing redis-server, Chromium (for the browser tests) or PostgreSQL are installed with
# apt-get when running as root; otherwise the script stops and says what to install.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

PYTHON="${PYTHON:-python3}"
is_root() { [ "$(id -u)" -eq 0 ]; }

pg_bin_dir() {
    local initdb
    if initdb="$(command -v initdb)"; then
        dirname "$(readlink -f "$initdb")"
        return
    fi
    initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$initdb" ] && dirname "$initdb"
}

# -- what the tests need from the system ----------------------------------------------------
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
pg_bin_dir >/dev/null || missing+=(postgresql)
if [ "${#missing[@]}" -gt 0 ]; then
    if is_root && command -v apt-get >/dev/null; then
        echo "Installing ${missing[*]} with apt-get"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    else
        echo "The tests need ${missing[*]}, which this machine lacks." >&2
        echo "Install them (on Debian: sudo apt-get install ${missing[*]}) and run again." >&2
        exit 1
    fi
fi
PG_BIN="$(pg_bin_dir)"
REDIS_SERVER_BIN="$(command -v redis-server)"

free_port() {
    "$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# -- one temporary folder for both ----------------------------------------------------------
workdir="$(mktemp -d "${TMPDIR:-/tmp}/opsdesk-test.XXXXXX")"
chmod 755 "$workdir"
pgdir="$workdir/pg"
redisdir="$workdir/redis"
mkdir -p "$pgdir" "$redisdir"

# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
if is_root; then
    TEST_PG_RUNAS=postgres
    chown postgres: "$pgdir"
else
    TEST_PG_RUNAS=""
fi
as_pg() {
    if [ -n "$TEST_PG_RUNAS" ]; then
        (cd "$pgdir" && runuser -u "$TEST_PG_RUNAS" -- "$@")
    else
        "$@"
    fi
}

redis_port=""
redis_pid=""
pg_started=""

redis_command() (
    # One command to Redis without redis-cli: $1 port, $2 command. Prints the reply line.
    # A subshell, so a refused connection cannot end the script.
    reply=""
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf '%s\r\n' "$2" >&3
    read -r -t 2 reply <&3 || true
    exec 3>&-
    printf '%s\n' "${reply%$'\r'}"
)

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$redis_port" ]; then
        # By port as well as by pid: a fault test may have restarted it.
        redis_command "$redis_port" "SHUTDOWN NOSAVE" >/dev/null 2>&1 || true
        if [ -n "$redis_pid" ]; then
            kill "$redis_pid" 2>/dev/null || true
            wait "$redis_pid" 2>/dev/null || true
        fi
    fi
    if [ -n "$pg_started" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -- PostgreSQL -----------------------------------------------------------------------------
pg_port="$(free_port)"
as_pg "$PG_BIN/initdb" -D "$pgdir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale \
    --no-sync --no-instructions >"$pgdir/initdb.log" 2>&1 || {
    cat "$pgdir/initdb.log" >&2
    exit 1
}
# In postgresql.conf rather than on pg_ctl's command line, so a plain `pg_ctl start` by a
# fault test brings it back the same.
cat >>"$pgdir/data/postgresql.conf" <<EOF

# opsdesk tests: a throwaway cluster
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$pgdir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
pg_started=1
if ! as_pg "$PG_BIN/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w -t 60 start >/dev/null; then
    cat "$pgdir/postgres.log" >&2
    exit 1
fi
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres opsdesk

# -- Redis ----------------------------------------------------------------------------------
redis_port="$(free_port)"
cat >"$redisdir/redis.conf" <<EOF
port $redis_port
bind 127.0.0.1
protected-mode yes
save ""
appendonly no
dir $redisdir
logfile $redisdir/redis.log
daemonize no
EOF
"$REDIS_SERVER_BIN" "$redisdir/redis.conf" </dev/null &
redis_pid=$!
for _ in $(seq 100); do
    [ "$(redis_command "$redis_port" PING 2>/dev/null)" = "+PONG" ] && break
    sleep 0.1
done
if [ "$(redis_command "$redis_port" PING 2>/dev/null)" != "+PONG" ]; then
    echo "redis-server did not start:" >&2
    cat "$redisdir/redis.log" >&2 || true
    exit 1
fi

export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/opsdesk"
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
export REDIS_SERVER_BIN REDIS_PORT="$redis_port" REDIS_CONF="$redisdir/redis.conf"
export TEST_PG_CTL="$PG_BIN/pg_ctl" TEST_PG_DATA="$pgdir/data" TEST_PG_RUNAS
export TEST_PG_PORT="$pg_port" TEST_PG_LOG="$pgdir/postgres.log"
echo "Test services: PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port"

status=0
"$@" || status=$?
exit "$status"
