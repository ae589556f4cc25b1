#!/usr/bin/env bash
# scripts/demo.sh — `make demo`: a live change stream on your terminal.
#
# Starts a throwaway PostgreSQL 15 (tests/integration/lib.sh), creates the
# `inventory` database of Debezium's tutorial, runs `sluice run` against it with
# the stdout sink, and pretty-prints every event: first the snapshot, then what
# a few INSERT/UPDATE/DELETE statements produce. Then it stops sluice with
# SIGTERM and removes everything it started. Ctrl-C stops everything at any time.
#
#   DEMO_INTERACTIVE=1  after the scripted statements, keep running until Ctrl-C
#                       so you can type SQL in another terminal (command printed)
#   DEMO_PAUSE=1.5      seconds between the scripted statements
#   DEMO_RAW=0          don't print each event's raw JSON line (dimmed) under it
#   DEMO_LOGS=0         don't echo sluice's log (stderr) to the terminal
#   DEMO_OUT=dir        where sluice.log and events.jsonl are kept (build/demo)
#   SLUICE_BIN=path     the binary (default build/sluice)
#   NO_COLOR=1          plain output

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/lib.sh"

DEMO_INTERACTIVE=${DEMO_INTERACTIVE:-0}
DEMO_PAUSE=${DEMO_PAUSE:-1.5}
DEMO_RAW=${DEMO_RAW:-1}
DEMO_LOGS=${DEMO_LOGS:-1}
DEMO_OUT=${DEMO_OUT:-$SLUICE_BUILD/demo}

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
    COLOR=1 B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' Z=$'\e[0m'
else
    COLOR=0 B='' D='' G='' R='' Z=''
fi
export COLOR

say()  { printf '%s\n' "${B}$*${Z}"; }
note() { printf '%s\n' "${D}$*${Z}"; }
die()  { printf '%s\n' "${R}demo: $*${Z}" >&2; exit 1; }

# --------------------------------------------------------------- preflight

if [[ ! -x "$SLUICE_BIN" ]]; then
    die "sluice binary not found at $SLUICE_BIN
      build it first: make build   (or run make demo, which installs what is missing and builds)"
fi
command -v python3 >/dev/null || die "python3 is needed for the pretty-printer"
mkdir -p "$DEMO_OUT"
LOG=$DEMO_OUT/sluice.log
EVENTS=$DEMO_OUT/events.jsonl
: >"$LOG"
: >"$EVENTS"

# --------------------------------------------------------------- PostgreSQL

say "== starting a throwaway PostgreSQL 15"
pg_start
note "   127.0.0.1:$PGPORT, data in $PG_DATA (removed at the end)"

psql_c "CREATE DATABASE inventory"
PGDATABASE=inventory psql_c "$(cat <<'SQL'
-- The inventory database of Debezium's tutorial, trimmed to three tables.
CREATE TABLE customers (
    id         serial PRIMARY KEY,
    first_name varchar(255) NOT NULL,
    last_name  varchar(255) NOT NULL,
    email      varchar(255) NOT NULL UNIQUE
);
ALTER SEQUENCE customers_id_seq RESTART WITH 1001;
-- Full row images: UPDATE and DELETE events carry the whole "before" row.
ALTER TABLE customers REPLICA IDENTITY FULL;

CREATE TABLE products (
    id          serial PRIMARY KEY,
    name        varchar(255) NOT NULL,
    description varchar(512),
    weight      numeric(10,3)
);
ALTER SEQUENCE products_id_seq RESTART WITH 101;

CREATE TABLE orders (
    id         serial PRIMARY KEY,
    order_date date NOT NULL,
    purchaser  int NOT NULL REFERENCES customers (id),
    quantity   int NOT NULL,
    product_id int NOT NULL REFERENCES products (id)
);
ALTER SEQUENCE orders_id_seq RESTART WITH 10001;

INSERT INTO customers (first_name, last_name, email) VALUES
    ('Sally',  'Thomas',    'sally.thomas@acme.com'),
    ('George', 'Bailey',    'gbailey@foobar.com'),
    ('Edward', 'Walker',    'ed@walker.com'),
    ('Anne',   'Kretchmar', 'annek@noanswer.org');

INSERT INTO products (name, description, weight) VALUES
    ('scooter',            'Small 2-wheel scooter',                                  3.14),
    ('car battery',        '12V car battery',                                        8.1),
    ('12-pack drill bits', '12-pack of drill bits with sizes ranging from #40 to #3', 0.8),
    ('hammer',             '12oz carpenter''s hammer',                               0.75),
    ('hammer',             '14oz carpenter''s hammer',                               0.875),
    ('hammer',             '16oz carpenter''s hammer',                               1.0),
    ('rocks',              'box of assorted rocks',                                  5.3),
    ('jacket',             'water resistent black wind breaker',                     0.1),
    ('spare tire',         '24 inch spare tire',                                     22.2);

INSERT INTO orders (order_date, purchaser, quantity, product_id) VALUES
    ('2016-01-16', 1001, 1, 102),
    ('2016-01-17', 1002, 2, 105),
    ('2016-02-19', 1002, 2, 106),
    ('2016-02-21', 1003, 1, 107);
SQL
)"
snapshot_rows=$(PGDATABASE=inventory psql_c \
    "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM products) + (SELECT count(*) FROM orders)")
note "   database inventory: customers, products, orders ($snapshot_rows rows)"

# --------------------------------------------------------------- configuration

PROPS=$TEST_TMP/application.properties
(umask 077; : >"$PROPS") # holds a password: readable by its owner only
cat >"$PROPS" <<EOF
debezium.source.connector.class=io.debezium.connector.postgresql.PostgresConnector
debezium.source.database.hostname=127.0.0.1
debezium.source.database.port=$PGPORT
debezium.source.database.user=postgres
debezium.source.database.password=postgres
debezium.source.database.dbname=inventory
debezium.source.topic.prefix=inventory
debezium.source.plugin.name=pgoutput
debezium.source.slot.name=sluice_demo
debezium.source.publication.name=sluice_demo
debezium.source.offset.storage.file.filename=$TEST_TMP/offsets.dat
debezium.sink.type=stdout
debezium.format.value.schemas.enable=false
debezium.format.key.schemas.enable=false
EOF
cp "$PROPS" "$DEMO_OUT/application.properties"
say "== configuration ($DEMO_OUT/application.properties)"
sed "s/^/   /" "$PROPS" | while IFS= read -r line; do note "$line"; done

# --------------------------------------------------------------- printers

# Each stdout line of sluice is {"topic":..., "key":..., "value":...}. Print it as
#   topic  op  key -> after
# (before -> after for updates, before for deletes), the raw line dimmed below
# it, and keep the raw line in events.jsonl.
PRETTY=$(cat <<'PY'
import json, os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C: keep printing until sluice is done
color = os.environ.get("COLOR") == "1"
raw = os.environ.get("DEMO_RAW", "1") == "1"
keep = open(sys.argv[1], "a", buffering=1)
def c(code, s):
    return f"\033[{code}m{s}\033[0m" if color else s
OPS = {"r": ("read", "36"), "c": ("create", "32"), "u": ("update", "33"),
       "d": ("delete", "31"), "t": ("truncate", "35"), "m": ("message", "35")}
def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)
for line in sys.stdin:
    line = line.rstrip("\n")
    keep.write(line + "\n")
    try:
        rec = json.loads(line)
        topic, key, value = rec["topic"], rec.get("key"), rec.get("value")
    except Exception:
        print(line, flush=True)         # not an event: show as it is
        continue
    if isinstance(key, dict) and "payload" in key and "schema" in key:
        key = key["payload"]
    if isinstance(value, dict) and "payload" in value and "schema" in value:
        value = value["payload"]
    if value is None:
        text = f"{topic}  {c('2', 'tombstone')}  {compact(key)}"
    else:
        op = value.get("op", "?")
        name, code = OPS.get(op, (op, "0"))
        if op == "u":
            body = f"{compact(value.get('before'))} -> {compact(value.get('after'))}"
        elif op == "d":
            body = f"{compact(value.get('before'))} -> null"
        else:
            body = f"-> {compact(value.get('after'))}"
        text = f"{topic}  {c(code + ';1', op)}  {compact(key)} {body}"
    print(text, flush=True)
    if raw:
        print(c("2", "   " + line), flush=True)
PY
)
# sluice's log lines: dimmed on the terminal (unless DEMO_LOGS=0), all in sluice.log.
DIM=$(cat <<'PY'
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
color = os.environ.get("COLOR") == "1"
show = os.environ.get("DEMO_LOGS", "1") == "1"
keep = open(sys.argv[1], "a", buffering=1)
for line in sys.stdin:
    keep.write(line)
    if show:
        line = line.rstrip("\n")
        sys.stderr.write((f"\033[2m[sluice] {line}\033[0m" if color else f"[sluice] {line}") + "\n")
        sys.stderr.flush()
PY
)

mkfifo "$TEST_TMP/stdout" "$TEST_TMP/stderr"
DEMO_RAW=$DEMO_RAW python3 -u -c "$PRETTY" "$EVENTS" <"$TEST_TMP/stdout" &
pretty_pid=$!
register_pid "$pretty_pid"
DEMO_LOGS=$DEMO_LOGS python3 -u -c "$DIM" "$LOG" <"$TEST_TMP/stderr" &
dim_pid=$!
register_pid "$dim_pid"

# --------------------------------------------------------------- sluice

say "== $SLUICE_BIN run -c application.properties"
note "   log: $LOG"
note "   events: $EVENTS"
# In a session of its own (setsid; a script's background job is no process
# group leader, so setsid execs in place and $! is sluice): Ctrl-C reaches only
# this script, which then stops sluice with SIGTERM before PostgreSQL goes.
setsid "$SLUICE_BIN" run -c "$PROPS" >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" &
sluice_pid=$!
register_pid "$sluice_pid"

event_count() { wc -l <"$EVENTS" | tr -d ' '; }

# If sluice stops on its own, say why and end (the EXIT trap cleans up).
check_sluice()
{
    if ! pid_alive "$sluice_pid"; then
        local rc=0
        wait "$sluice_pid" 2>/dev/null || rc=$?
        unregister_pid "$sluice_pid"
        sleep 0.2   # let the printers drain
        if [[ "$DEMO_LOGS" != 1 ]]; then
            tail -n 15 "$LOG" | sed 's/^/      /' >&2
        fi
        die "sluice exited with status $rc before the demo was over; its log: $LOG"
    fi
}

# The snapshot: one "r" event per row.
deadline=$((SECONDS + 30))
while [[ $(event_count) -lt $snapshot_rows ]]; do
    check_sluice
    if [[ $SECONDS -ge $deadline ]]; then
        note "   (only $(event_count) of $snapshot_rows snapshot events after 30 s; going on)"
        break
    fi
    sleep 0.1
done
sleep 0.5
check_sluice
say "== snapshot: $(event_count) events. Now some changes:"

# --------------------------------------------------------------- changes

step()
{
    echo
    say "-- $1"
    PGDATABASE=inventory psql_c "$1" >/dev/null
    local n
    n=$(event_count)
    # Give the event a moment to arrive, then the viewer a moment to read it.
    wait_for "[[ \$(wc -l <'$EVENTS') -gt $n ]]" 5 2>/dev/null || true
    sleep "$DEMO_PAUSE"
    check_sluice
}

step "INSERT INTO customers (first_name, last_name, email) VALUES ('Sarah', 'Thompson', 'kitt@acme.com')"
step "UPDATE customers SET email = 'sally.t@acme.com' WHERE id = 1001"
step "UPDATE products SET weight = 5.18 WHERE id = 107"
step "BEGIN; INSERT INTO orders (order_date, purchaser, quantity, product_id) VALUES (current_date, 1005, 3, 109); UPDATE products SET description = '24 inch spare tire (last one)' WHERE id = 109; COMMIT"
step "DELETE FROM orders WHERE id = 10004"
step "DELETE FROM customers WHERE email = 'annek@noanswer.org'"

# --------------------------------------------------------------- interactive

if [[ "$DEMO_INTERACTIVE" == 1 ]]; then
    echo
    say "== sluice keeps streaming. In another terminal:"
    echo "     psql -h 127.0.0.1 -p $PGPORT -U postgres inventory"
    note "   (ends when you press Ctrl-C here)"
    stop_requested=0
    trap 'stop_requested=1' INT
    while [[ $stop_requested -eq 0 ]]; do
        check_sluice
        sleep 0.2 || true
    done
    trap 'exit 130' INT
    echo
fi

# --------------------------------------------------------------- stop

say "== stopping sluice (SIGTERM)"
rc=0
stop_pid "$sluice_pid" TERM 20 || rc=$?
# The printers end when sluice closes their pipes.
stop_pid "$pretty_pid" - 5 || true
stop_pid "$dim_pid" - 5 || true
if [[ $rc -eq 0 ]]; then
    printf '%s\n' "${G}sluice stopped cleanly (status 0)${Z}"
else
    printf '%s\n' "${R}sluice exited with status $rc; log: $LOG${Z}"
fi
say "== $(event_count) events; kept in $EVENTS (log: $LOG)"
pg_stop
note "   PostgreSQL stopped and removed"
exit "$rc"
