#!/usr/bin/env bash
# Installs what sluice needs to build and to run its test suite, from Debian 12's
# own package archive. Idempotent, and quick when everything is already there: it
# asks dpkg first and only runs apt-get (update + install) for what is missing.
#
#   scripts/install-deps.sh            # install what is missing
#   scripts/install-deps.sh --check    # only report; exit 1 if something is missing
#
# Runs apt-get directly as root, through sudo otherwise.
set -euo pipefail

# ---------------------------------------------------------------------------
# The package list. Add new needs here, one per line, with the reason.
# ---------------------------------------------------------------------------
PACKAGES=(
    build-essential       # gcc, make, libc headers
    cmake                 # the build
    pkg-config            # CMake finds libpq and cmocka through it
    clang                 # libFuzzer targets (make fuzz)
    libpq-dev             # PostgreSQL client library: queries and replication protocol
    libcmocka-dev         # unit tests
    postgresql-15         # test server: initdb, pg_ctl, postgres under /usr/lib/postgresql/15/bin
    postgresql-client-15  # psql, pg_recvlogical (reference tool for tests and benchmarks)
    time                  # /usr/bin/time -v (peak RSS in benchmarks)
    python3               # helpers in test and demo scripts
    librdkafka-dev        # Kafka sink (producer) and rdkafka_mock.h, the mock cluster the tests run
    kcat                  # a real Kafka client that consumes what the Kafka sink produced (tests)
    libjansson-dev        # JSON parsing: the jdbc sink reads event keys/values (schema + payload)
    libmariadb-dev        # MySQL/MariaDB source: client protocol and binlog API (mariadb_rpl_*)
    mariadb-server        # test server (10.11): mariadbd, mariadb-install-db
    mariadb-client        # mariadb, mariadb-binlog (reference tool for the binlog benchmark)
    libsqlite3-dev        # jdbc sink's SQLite target (jdbc:sqlite:/path/file.db)
    sqlite3               # sqlite3 CLI: the tests read the SQLite target with it
)
# Not yet (later parts): clickhouse, nats-server, redis-server.

export DEBIAN_FRONTEND=noninteractive

check_only=0
case "${1:-}" in
    --check) check_only=1 ;;
    "") ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

wanted=("${PACKAGES[@]}")

missing=()
for p in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    # "ii " = installed and configured; anything else (absent, half-configured) is missing.
    if [[ "$status" != ii* ]]; then
        missing+=("$p")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#wanted[@]} packages present"
    exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if [[ $check_only -eq 1 ]]; then
    exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo env DEBIAN_FRONTEND=noninteractive)
else
    echo "install-deps: not root and sudo is not installed; install as root: apt-get install ${missing[*]}" >&2
    exit 1
fi

# The tests start their own throwaway servers on free ports. Tell
# postgresql-common not to create (and start) the system-wide "main" cluster on
# port 5432 when PostgreSQL is installed here for the first time: it would only
# take memory on a CI machine. An existing installation is left as it is.
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [[ ! -d /etc/postgresql/15/main ]]; then
    conf=/etc/postgresql-common/createcluster.d/50-sluice-no-main-cluster.conf
    if [[ ! -e $conf ]]; then
        "${SUDO[@]}" mkdir -p "$(dirname "$conf")"
        echo "create_main_cluster = false" | "${SUDO[@]}" tee "$conf" >/dev/null
    fi
fi

"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

# Verify: a package that apt-get could not configure must not pass silently.
still=()
for p in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [[ "$status" == ii* ]] || still+=("$p")
done
if [[ ${#still[@]} -gt 0 ]]; then
    echo "install-deps: still missing after apt-get: ${still[*]}" >&2
    exit 1
fi
echo "install-deps: installed ${missing[*]}"
