#!/usr/bin/env bash
# The reliability harness, short: every scenario of tests/reliability/run.sh (kill -9,
# source restarts, a connection-dropping relay, a target outage, a full disk, on the
# PostgreSQL and MariaDB sources) once, at REL_SCALE=short. `make soak` runs the long
# version and writes RELIABILITY.md.
exec bash "$(dirname "$0")/../reliability/run.sh" all
