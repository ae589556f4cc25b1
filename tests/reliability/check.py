#!/usr/bin/env python3
"""check.py — the reliability harness's checker.

Compares what a sink received with the changes sl_workload logged as committed
(one "txn k ver op" line each; a change's id is (k, ver, is-a-delete): a delete
carries its before image's version, see workload.c) and prints
one line of counts:

    changes=N lost=L dup=D phantom=P order=O state=same|differs:<n keys>

  lost     committed changes that never arrived
  dup      arrivals beyond the first of a change
  phantom  arrivals of changes that were never committed (a rolled-back transaction)
  order    changes whose first arrival came after the first arrival of a later
           version of the same key (per-key order violations)
  state    the final rows (k, ver) the receiver holds, rebuilt by applying the
           arrivals in order (streams) or read from the target (databases), against
           the source's final rows (--source-state)

What arrived, in arrival order, is one of:
  --jsonl FILE     the file sink's JSON Lines ({"topic","key","value"})
  --values FILE    one Debezium value JSON per line (e.g. kcat -f '%s\\n'); blank
                   lines (tombstones) are skipped
  --history FILE   "k ver op [tx]" lines, e.g. a target table's trigger log in apply
                   order; with tx (the target transaction that applied the row) it
                   also prints split=<source transactions applied in more than one
                   target transaction> (each must be atomic in a database target)
With --history, --target-state FILE gives the target's final rows ("k ver" lines).
"""
import argparse
import json
import sys


def read_state(path):
    state = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                k, ver = line.split()[:2]
                state[int(k)] = int(ver)
    return state


def arrivals_from_values(values):
    """(k, ver, op) per Debezium change value; other records are skipped."""
    for v in values:
        if not v or v.get("op") not in ("c", "r", "u", "d"):
            continue
        row = v["before"] if v["op"] == "d" else v["after"]
        if not row or "k" not in row or "ver" not in row:
            continue
        yield int(row["k"]), int(row["ver"]), "c" if v["op"] == "r" else v["op"]


def jsonl_values(path, table):
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("topic", "").endswith("." + table):
                yield r.get("value")


def plain_values(path):
    with open(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def history(path, target_tx):
    with open(path) as f:
        for line in f:
            if line.strip():
                k, ver, op, *tx = line.split()
                if tx:
                    target_tx[(int(k), int(ver), op == "d")] = tx[0]
                yield int(k), int(ver), op


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--jsonl")
    ap.add_argument("--values")
    ap.add_argument("--history")
    ap.add_argument("--table", default="rel_t")
    ap.add_argument("--source-state")
    ap.add_argument("--target-state")
    a = ap.parse_args()

    committed, source_tx = {}, {}
    with open(a.log) as f:
        for line in f:
            txn, k, ver, op = line.split()
            committed[(int(k), int(ver), op == "d")] = op
            source_tx[(int(k), int(ver), op == "d")] = txn

    target_tx = {}  # change id -> target transaction (history with tx only)
    if a.jsonl:
        arrived = list(arrivals_from_values(jsonl_values(a.jsonl, a.table)))
    elif a.values:
        arrived = list(arrivals_from_values(plain_values(a.values)))
    elif a.history:
        arrived = list(history(a.history, target_tx))
    else:
        sys.exit("check.py: give --jsonl, --values or --history")

    seen = {}
    dup = phantom = order = 0
    newest = {}  # k -> highest ver whose first arrival has been seen
    state = {}
    for k, ver, op in arrived:
        cid = (k, ver, op == "d")
        if cid not in committed:
            phantom += 1
            continue
        if cid in seen:
            dup += 1
        else:
            seen[cid] = True
            if ver < newest.get(k, 0):
                order += 1
            newest[k] = max(newest.get(k, 0), ver)
        # replaying in arrival order rebuilds the receiver's rows
        if op == "d":
            state.pop(k, None)
        else:
            state[k] = ver
    lost = sum(1 for cid in committed if cid not in seen)

    result = f"changes={len(committed)} lost={lost} dup={dup} phantom={phantom} order={order}"
    if target_tx:
        spans = {}
        for cid, tx in target_tx.items():
            if cid in source_tx:
                spans.setdefault(source_tx[cid], set()).add(tx)
        result += f" split={sum(1 for s in spans.values() if len(s) > 1)}"
    if a.source_state:
        src = read_state(a.source_state)
        tgt = read_state(a.target_state) if a.target_state else state
        differ = sum(1 for k in set(src) | set(tgt) if src.get(k) != tgt.get(k))
        result += " state=" + ("same" if differ == 0 else f"differs:{differ}")
    print(result)


if __name__ == "__main__":
    main()
