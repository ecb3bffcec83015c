#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the indexer's tests and for trying `cairn index`.
#
#   bash scripts/postgres.sh install      # Debian's postgresql, through apt, only if missing
#   bash scripts/postgres.sh start DIR    # initdb in DIR, start on a free loopback port, print the URL
#   bash scripts/postgres.sh stop DIR     # fast shutdown, then remove DIR
#
# The cluster trusts local connections and listens on 127.0.0.1 only; it is for tests, never for
# data worth keeping. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
set -euo pipefail

bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
    done
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir; return 0
    fi
    return 1
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    else
        # No python: a random high port (the start is retried if it is taken).
        echo $((20000 + RANDOM % 40000))
    fi
}

case "${1:-}" in
install)
    if bindir >/dev/null; then exit 0; fi
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq postgresql >/dev/null
    bindir >/dev/null || { echo "postgresql installed but initdb not found" >&2; exit 1; }
    ;;
start)
    dir="${2:?usage: postgres.sh start DIR}"
    bin="$(bindir)" || { echo "PostgreSQL is not installed: run bash scripts/postgres.sh install" >&2; exit 1; }
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # Three tries: another process may take the free port between the probe and the bind.
    for _ in 1 2 3; do
        port="$(free_port)"
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -c unix_socket_directories= -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null; then
            echo "postgres://postgres@127.0.0.1:$port/postgres"
            exit 0
        fi
    done
    cat "$dir/server.log" >&2
    exit 1
    ;;
stop)
    dir="${2:?usage: postgres.sh stop DIR}"
    if [ -f "$dir/data/postmaster.pid" ] && bin="$(bindir)"; then
        # Fast shutdown; if that fails, immediate: never delete the files under a running server.
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || {
            echo "postgres.sh: the server in $dir/data does not stop; leaving its files" >&2
            exit 1
        }
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: postgres.sh install | start DIR | stop DIR" >&2
    exit 2
    ;;
esac
