#!/usr/bin/env bash
# The crash loop at 200 kills, by hand (the test suite runs 20): the release `cairn devnet`
# (64 stakers, 50 ms blocks, its workers running) is SIGKILLed at random, seeded points 50-400 ms
# into a load of 12 writers posting signed transfers over HTTP (8 waiting for the commit, 4 only
# submitting), restarted on the same data directory, and checked after every restart: every
# transaction acknowledged as committed is still committed at the same (height, index), every
# block hash served before a kill is unchanged, and, at the end, the node's full state hash
# equals a replay of all its blocks from genesis. Pending acknowledgements must come back
# pending, committed or dropped with a reason (the mempool is journaled). It is the test
# `node::crash::the_node_survives_a_crash_loop_of_sigkills_under_load` (tests/it/node/crash.rs)
# in release mode with CAIRN_CRASH_KILLS and CAIRN_CRASH_BIN set.
#
#   bash scripts/crash-loop.sh                       # 200 kills of the release cairn devnet
#   bash scripts/crash-loop.sh --kills 50 --seed 42  # repeat a run's kill points with its seed
#   bash scripts/crash-loop.sh --child test          # the node in the test binary (no workers)
#
# Options (environment variable in brackets, default):
#   --kills N          SIGKILLs                         [CAIRN_CRASH_KILLS, 200]
#   --seed S           kill points (printed every run)  [CAIRN_CRASH_SEED, from the clock]
#   --child devnet|test                                  [devnet]
# Exit status: the test's (0 when every check held). 200 kills took 15 minutes on a 2-core VM
# before restarts stopped replaying the chain (each check still reads every block), plus the
# release build the first time.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
KILLS="${CAIRN_CRASH_KILLS:-200}"
SEED="${CAIRN_CRASH_SEED:-}"
CHILD=devnet
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) KILLS="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --child) CHILD="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "crash-loop.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$KILLS" =~ ^[0-9]+$ && "$KILLS" -gt 0 ]] || { echo "crash-loop.sh: --kills must be a positive integer" >&2; exit 2; }
cd "$ROOT"
export CAIRN_CRASH_KILLS="$KILLS"
[ -n "$SEED" ] && export CAIRN_CRASH_SEED="$SEED"
case "$CHILD" in
  devnet) cargo build --release -p cairn-cli; export CAIRN_CRASH_BIN="$ROOT/target/release/cairn" ;;
  test) unset CAIRN_CRASH_BIN ;;
  *) echo "crash-loop.sh: --child is devnet or test" >&2; exit 2 ;;
esac
exec cargo test --release -p cairn-tests --test it -- --exact \
  node::crash::the_node_survives_a_crash_loop_of_sigkills_under_load --nocapture
