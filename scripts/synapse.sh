#!/usr/bin/env bash
# A throwaway Matrix homeserver (Synapse, from PyPI) on 127.0.0.1 for pantau's Matrix end-to-end
# test (tests/matrix.rs). Nothing is installed outside the repository and nothing listens beyond
# loopback; the server never federates or calls out.
#
#   scripts/synapse.sh install          venv + matrix-synapse in $PANTAU_SYNAPSE_DIR (idempotent)
#   eval "$(scripts/synapse.sh start)"  start one in a fresh temp dir; prints `export` lines for
#                                       PANTAU_SYNAPSE_URL, PANTAU_SYNAPSE_CONFIG,
#                                       PANTAU_SYNAPSE_PID and PANTAU_SYNAPSE_DIR
#   scripts/synapse.sh stop PID         stop it and remove its temp dir
#
# In a `set -e` script, assign first so that a failed start stops the script (`eval "$(…)"`
# alone would swallow the failure):
#   env=$(scripts/synapse.sh start) && eval "$env"
#   trap 'scripts/synapse.sh stop "$PANTAU_SYNAPSE_PID"' EXIT
#
# Environment:
#   PANTAU_SYNAPSE_DIR            the venv (default: <repo>/target/synapse)
#   PANTAU_SYNAPSE_START_TIMEOUT  seconds to wait for the server to answer (default 60)
#   PANTAU_SYNAPSE_KEEP=1         `stop` keeps the data dir (homeserver.log) for a post-mortem
#   PYTHON                        the interpreter that creates the venv (default python3, >= 3.10)
#
# Messages go to stderr; `start` prints only the export lines on stdout.
set -euo pipefail

SYNAPSE_VERSION=1.163.2

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
venv=${PANTAU_SYNAPSE_DIR:-$repo/target/synapse}
py=$venv/bin/python
marker=$venv/.pantau-synapse-$SYNAPSE_VERSION

say() { printf 'synapse.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

installed() {
    [[ -f $marker && -x $py ]] &&
        "$py" -c "import sys, synapse, importlib.metadata as m; sys.exit(m.version('matrix-synapse') != '$SYNAPSE_VERSION')" \
            2>/dev/null
}

# Debian's python3 ships without ensurepip (python3-venv), so `python3 -m venv` fails there.
can_venv() { command -v "$1" >/dev/null && "$1" -c 'import venv, ensurepip' 2>/dev/null; }

ensure_python() {
    local python=${PYTHON:-python3} need=(python3-venv)
    command -v "$python" >/dev/null || need=(python3 python3-venv)
    if ! can_venv "$python"; then
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            say "$python cannot create a venv; installing ${need[*]} with apt-get"
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
        fi
        can_venv "$python" || die "$python cannot create a venv (no venv/ensurepip module); install it, on" \
            "Debian/Ubuntu: sudo apt-get install ${need[*]} (for a python3.X other than the default: python3.X-venv)"
    fi
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
        die "matrix-synapse $SYNAPSE_VERSION needs Python >= 3.10; $python is $("$python" -V 2>&1)"
}

cmd_install() {
    if installed; then
        say "matrix-synapse $SYNAPSE_VERSION already installed in $venv"
        return
    fi
    ensure_python
    if [[ -e $venv ]]; then
        # Only ever delete what looks like a venv (a half-finished install, another version).
        [[ -f $venv/pyvenv.cfg || -z $(ls -A "$venv") ]] ||
            die "$venv exists and is not a Python venv; remove it or set PANTAU_SYNAPSE_DIR"
        rm -rf "$venv"
    fi
    say "installing matrix-synapse $SYNAPSE_VERSION into $venv"
    "${PYTHON:-python3}" -m venv "$venv"
    # Versions pinned by the constraints file; each has a wheel for x86_64 Linux, so no compiler.
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input --prefer-binary \
        --constraint "$here/synapse/constraints.txt" "matrix-synapse==$SYNAPSE_VERSION" >&2
    "$py" -c "import synapse.app.homeserver" || die "matrix-synapse installed but does not import"
    touch "$marker"
    say "installed matrix-synapse $SYNAPSE_VERSION"
}

# A homeserver.yaml for tests: loopback client API only, no federation, no outbound calls,
# generous rate limits, sqlite, quiet logs.
write_config() {
    local data=$1 port=$2 cfg=$1/homeserver.yaml
    local rate='{per_second: 1000, burst_count: 10000}'
    secret() { "$py" -c 'import secrets; print(secrets.token_hex(32))'; }
    cat >"$cfg" <<YAML
# Written by scripts/synapse.sh for pantau's tests; thrown away by \`scripts/synapse.sh stop\`.
server_name: localhost
public_baseurl: 'http://127.0.0.1:$port/'
pid_file: '$data/homeserver.pid'
signing_key_path: '$data/localhost.signing.key'
media_store_path: '$data/media'
log_config: '$data/log.yaml'
database:
  name: sqlite3
  args:
    database: '$data/homeserver.db'
listeners:
  - port: $port
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
report_stats: false
enable_metrics: false
registration_shared_secret: '$(secret)'
macaroon_secret_key: '$(secret)'
form_secret: '$(secret)'
enable_registration: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
presence:
  enabled: false
url_preview_enabled: false
rc_message: $rate
rc_registration: $rate
rc_login:
  address: $rate
  account: $rate
  failed_attempts: $rate
rc_joins:
  local: $rate
  remote: $rate
rc_joins_per_room: $rate
rc_invites:
  per_room: $rate
  per_user: $rate
  per_issuer: $rate
rc_room_creation: $rate
rc_admin_redaction: $rate
YAML
    cat >"$data/log.yaml" <<YAML
version: 1
formatters:
  plain:
    format: '%(asctime)s %(levelname)s %(name)s: %(message)s'
handlers:
  file:
    class: logging.FileHandler
    filename: '$data/homeserver.log'
    formatter: plain
    encoding: utf8
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
YAML
}

# 0 when GET /_matrix/client/versions on 127.0.0.1:$1 answers 200 (bash's /dev/tcp: no curl).
answers() {
    local status
    { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    printf 'GET /_matrix/client/versions HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$1" >&3
    IFS= read -r -t 5 status <&3 || status=
    exec 3<&-
    [[ $status == "HTTP/1."[01]" 200"* ]]
}

cmd_start() {
    installed || die "matrix-synapse $SYNAPSE_VERSION is not installed in $venv; run: $0 install"
    local data port pid timeout=${PANTAU_SYNAPSE_START_TIMEOUT:-60}
    data=$(mktemp -d "${TMPDIR:-/tmp}/pantau-synapse.XXXXXX")
    [[ $data != *"'"* ]] || die "temp dir path contains a quote: $data"
    touch "$data/.pantau-synapse-data"
    port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    write_config "$data" "$port"
    # The server's ed25519 signing key, as `--generate-keys` would write it (without its 3 s start-up).
    (umask 077 && "$py" -c 'import secrets, sys, signedjson.key as k
k.write_signing_keys(sys.stdout, [k.generate_signing_key("a_" + secrets.token_hex(2))])' \
        >"$data/localhost.signing.key")
    (cd "$data" && exec "$py" -m synapse.app.homeserver --config-path "$data/homeserver.yaml" \
        </dev/null >"$data/stdout.log" 2>&1) &
    pid=$!
    local start=$SECONDS
    until answers "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$data/stdout.log" "$data/homeserver.log" >&2 2>/dev/null || true
            die "synapse exited during start-up (logs in $data)"
        fi
        if ((SECONDS - start >= timeout)); then
            kill "$pid" 2>/dev/null || true
            tail -n 30 "$data/stdout.log" "$data/homeserver.log" >&2 2>/dev/null || true
            die "synapse did not answer on 127.0.0.1:$port within ${timeout}s (logs in $data)"
        fi
        sleep 0.3
    done
    say "synapse $SYNAPSE_VERSION (pid $pid) answers on http://127.0.0.1:$port after $((SECONDS - start))s; data in $data"
    printf 'export PANTAU_SYNAPSE_URL=%q\n' "http://127.0.0.1:$port"
    printf 'export PANTAU_SYNAPSE_CONFIG=%q\n' "$data/homeserver.yaml"
    printf 'export PANTAU_SYNAPSE_PID=%q\n' "$pid"
    printf 'export PANTAU_SYNAPSE_DIR=%q\n' "$venv"
}

cmd_stop() {
    local pid=${1:-} data='' arg prev=''
    [[ $pid =~ ^[0-9]+$ ]] || die "usage: $0 stop PID"
    if [[ -r /proc/$pid/cmdline ]]; then
        # Refuse to signal anything that is not a homeserver this script could have started.
        local -a argv
        mapfile -d '' argv <"/proc/$pid/cmdline"
        [[ " ${argv[*]} " == *" synapse.app.homeserver "* ]] ||
            die "process $pid is not a synapse homeserver: ${argv[*]}"
        for arg in "${argv[@]}"; do
            [[ $prev == --config-path ]] && data=$(dirname "$arg")
            prev=$arg
        done
        kill -TERM "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 150; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "synapse (pid $pid) ignored SIGTERM for 30s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        say "stopped synapse (pid $pid)"
    else
        say "no process $pid; nothing to stop"
        [[ -n ${PANTAU_SYNAPSE_CONFIG:-} ]] && data=$(dirname "$PANTAU_SYNAPSE_CONFIG")
    fi
    if [[ -n $data && -f $data/.pantau-synapse-data ]]; then
        if [[ ${PANTAU_SYNAPSE_KEEP:-} == 1 ]]; then
            say "kept $data"
        else
            rm -rf "$data"
        fi
    fi
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
*)
    printf 'usage: %s install | start | stop PID\n' "$0" >&2
    exit 2
    ;;
esac
