#!/usr/bin/env bash
# A private Citus cluster for the Citus tests: a coordinator and two workers on
# loopback, started the way scripts/localpg.sh starts the private cluster.
#
#   scripts/citus.sh build   build Citus once per machine (needs the vendored source)
#   scripts/citus.sh start   build if needed, start the three nodes, create the
#                            database and the extension on each, register the
#                            workers; prints the coordinator's URL on stdout
#   scripts/citus.sh stop    stop the three nodes
#   scripts/citus.sh clean   stop them and delete their data directories
#   scripts/citus.sh url     print the coordinator's URL
#
# No registry reachable here packages Citus: the source is the vendored release
# (CITUS_SOURCE, default ../shared/vendor/citus-13.2.2.tar.gz beside the project, or
# beside the repository a clone was made from),
# built against Debian's PostgreSQL 15 (CITUS_PG_CONFIG). It is installed into a
# private prefix, never into the system's directories: a copy of the server's
# bin, lib and share directories with Citus added. PostgreSQL finds its lib and
# share directories relative to its own binary, so the copy loads Citus and the
# system's server stays as the package manager left it. The prefix (CITUS_PREFIX,
# default under /var/tmp) is kept between runs and clones: one build per machine.
#
# Installing the -dev packages can upgrade postgresql-15 under a running server,
# which then fails to load plpgsql. So the packages are installed first, and the
# script refuses to install them while a server from those binaries is running.
#
# Ports: CITUS_PORT (default 54331) for the coordinator, the next two for the
# workers. Data directories: .citus/{coordinator,worker1,worker2} in the project.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=13.2.2
source_tar=${CITUS_SOURCE:-$root/../shared/vendor/citus-$version.tar.gz}
# A clone made elsewhere (CI clones into a temporary directory) finds the source beside
# the repository it was cloned from, when that is a directory on this machine.
if [ -z "${CITUS_SOURCE:-}" ] && [ ! -f "$source_tar" ]; then
    origin=$(git -C "$root" remote get-url origin 2>/dev/null || true)
    # a relative origin is relative to the clone, wherever the script is run from
    if [ -n "$origin" ] && origin=$(cd "$root" && cd "$origin" 2>/dev/null && pwd); then
        source_tar=$origin/../shared/vendor/citus-$version.tar.gz
    fi
fi
pg_config=${CITUS_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
port=${CITUS_PORT:-54331}
dbname=backtest_store
url="postgresql://postgres@127.0.0.1:${port}/${dbname}"
packages="postgresql-server-dev-15 liblz4-dev libzstd-dev libkrb5-dev libssl-dev libselinux1-dev
libxslt1-dev libpam0g-dev libreadline-dev zlib1g-dev make gcc"

say() { echo "citus: $*" >&2; }
die() { say "$*"; exit 1; }

server_version() { "$pg_config" --version | awk '{print $2}'; }
prefix() { echo "${CITUS_PREFIX:-/var/tmp/backtest-store-citus/citus-$version-pg$(server_version)}"; }
# The copied server's binaries, inside the prefix at the same relative places.
bindir() { echo "$(prefix)/root$("$pg_config" --bindir)"; }

missing_packages() {
    local p
    for p in $packages; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

install_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 0   # not Debian: the build says what is missing
    local missing
    missing=$(missing_packages | tr '\n' ' ')
    [ -z "${missing// /}" ] && return 0
    [ "$(id -u)" = 0 ] || die "packages missing: $missing(install them as root)"
    # The project's private cluster is stopped for the install and started again after;
    # any other server of the system's binaries is the operator's to stop.
    local ours=""
    if [ -f "$root/.pgdata/postmaster.pid" ]; then
        ours=1
        "$root/scripts/localpg.sh" stop
    fi
    if pgrep -f "^/usr/lib/postgresql/[0-9]+/bin/postgres" >/dev/null 2>&1; then
        die "packages missing: $missing
  Installing them can upgrade postgresql-15 under the running server (it then fails to load
  plpgsql). Stop it first, then run: scripts/citus.sh build"
    fi
    say "installing $missing"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >&2 \
        || die "apt-get install failed"
    if [ -n "$ours" ]; then "$root/scripts/localpg.sh" start >/dev/null; fi
}

cmd_build() {
    install_packages
    [ -x "$pg_config" ] || die "no pg_config at $pg_config (set CITUS_PG_CONFIG)"
    local dest stamp
    dest=$(prefix)
    stamp="$dest/.built"
    if [ -f "$stamp" ] && [ -f "$(bindir)/postgres" ]; then
        say "already built in $dest"
        return
    fi
    [ -f "$source_tar" ] || die "no Citus source at $source_tar (set CITUS_SOURCE, or CITUS_URL to a running cluster)"
    say "building Citus $version against PostgreSQL $(server_version) in $dest (about 3 minutes on 2 cores)"
    rm -rf "$dest" && mkdir -p "$dest/src" "$dest/root"
    tar -xzf "$source_tar" -C "$dest/src" --strip-components=1
    local patch header
    patch="$(dirname "$source_tar")/citus-$version-pg15.20.patch"
    header="$("$pg_config" --includedir-server)/commands/dbcommands.h"
    if grep -q have_createdb_privilege "$header" 2>/dev/null; then
        [ -f "$patch" ] || die "$header declares have_createdb_privilege(): the build needs $patch"
        say "applying $(basename "$patch") (the headers declare have_createdb_privilege)"
        (cd "$dest/src" && patch -s -p1 <"$patch")
    fi
    local log="$dest/build.log"
    # Without LLVM bitcode: the JIT is not needed, and it doubles the build time.
    (cd "$dest/src" && ./configure --without-libcurl PG_CONFIG="$pg_config" \
        && make -j"$(nproc)" with_llvm=no) >"$log" 2>&1 \
        || { tail -n 30 "$log" >&2; die "the build failed; see $log"; }
    # The private prefix: the server's own directories, copied, then Citus added to them.
    local d
    for d in "$("$pg_config" --bindir)" "$("$pg_config" --pkglibdir)" "$("$pg_config" --sharedir)"; do
        mkdir -p "$dest/root$(dirname "$d")"
        cp -a "$d" "$dest/root$(dirname "$d")/"
    done
    (cd "$dest/src" && make install with_llvm=no DESTDIR="$dest/root") >>"$log" 2>&1 \
        || { tail -n 30 "$log" >&2; die "make install failed; see $log"; }
    chmod -R a+rX "$dest"
    chmod a+x "$(dirname "$dest")"
    echo "$version" >"$stamp"
    say "built; the server with Citus is $(bindir)/postgres"
}

node() {  # node NAME PORT ARGS...: scripts/localpg.sh on the private prefix's server
    local name=$1 nport=$2
    shift 2
    PG_BINDIR=$(bindir) LOCAL_PG_NAME=.citus/$name LOCAL_PG_PORT=$nport \
        LOCAL_PG_CONF="shared_preload_libraries = 'citus'" "$root/scripts/localpg.sh" "$@"
}

psql_at() {  # psql_at PORT SQL
    "$(bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "$dbname" -Atc "$2"
}

cmd_start() {
    cmd_build
    mkdir -p "$root/.citus"
    local p
    for p in 0 1 2; do
        local name=coordinator
        [ "$p" = 0 ] || name=worker$p
        node "$name" $((port + p)) start >/dev/null
        psql_at $((port + p)) "CREATE EXTENSION IF NOT EXISTS citus"
    done
    psql_at "$port" "SELECT citus_set_coordinator_host('127.0.0.1', $port)" >/dev/null
    for p in 1 2; do
        if [ -z "$(psql_at "$port" "SELECT 1 FROM pg_dist_node WHERE nodeport = $((port + p))")" ]; then
            psql_at "$port" "SELECT citus_add_node('127.0.0.1', $((port + p)))" >/dev/null
            say "worker on port $((port + p)) added"
        fi
    done
    say "coordinator on port $port, workers on $((port + 1)) and $((port + 2))"
    echo "$url"
}

cmd_each() {  # stop or clean every node
    local p
    for p in 2 1 0; do
        local name=coordinator
        [ "$p" = 0 ] || name=worker$p
        if [ -e "$root/.citus/$name" ] || [ -L "$root/.citus/$name" ]; then node "$name" $((port + p)) "$1"; fi
    done
}

case "${1:-}" in
    build) cmd_build ;;
    start) cmd_start ;;
    stop) cmd_each stop ;;
    clean) cmd_each clean; rm -rf "$root/.citus" ;;
    url) echo "$url" ;;
    *) echo "usage: $0 build|start|stop|clean|url" >&2; exit 2 ;;
esac
