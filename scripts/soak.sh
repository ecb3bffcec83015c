#!/usr/bin/env bash
# Soak run of the release devnet: `cairn devnet` (default 1,000 stakers, its workers: seeding,
# oracle reports, rewards, staker deposits, the vault and its keeper) plus N writers, each a loop
# of `cairn tx transfer` from its own funded key (the CLI signs; no wait, so each writer keeps a
# few transactions in the mempool). Every --interval seconds it samples the node's RSS (VmRSS of
# /proc/PID/status), the data directory's size on disk (du -sk) and the committed-transaction
# counter of /metrics, and writes them to a CSV; then scripts/soak_plot.py (Python standard
# library only: no matplotlib, no package index needed) draws a PNG and prints the summary: RSS
# after the warm-up (min, max, spread around its mean against the +-10% target), disk growth per
# committed transaction, mean tx/s. Not part of CI.
#
#   bash scripts/soak.sh                                          # 30 minutes, a sample every 10 s
#   bash scripts/soak.sh --duration 60 --interval 2 --warmup 20   # a one-minute smoke run
#
# Options (environment variable in brackets, default):
#   --duration S   seconds of sampling after the devnet answers  [SOAK_DURATION, 1800]
#   --interval S   seconds between samples                       [SOAK_INTERVAL, 10]
#   --warmup S     seconds left out of the RSS figures           [SOAK_WARMUP, 300, or a third of a run under 15 min]
#   --writers N    CLI writer loops beside the devnet's workers  [SOAK_WRITERS, 4]
#   --stakers N    the devnet's stakers                          [SOAK_STAKERS, 1000]
#   --out DIR      where runs go (git-ignored under target/)     [SOAK_OUT, target/soak]
#   --keep         keep the run's data directory
# Each run writes DIR/<date-time>/{soak.csv, soak.png, summary.txt, devnet.log, writers.log}.
# Exit status: 0 when the RSS after the warm-up stays within +-10% of its mean, 1 when it does
# not, 2 on a setup failure (build, devnet start, a devnet that dies during the run).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DURATION="${SOAK_DURATION:-1800}"
INTERVAL="${SOAK_INTERVAL:-10}"
WARMUP="${SOAK_WARMUP:-}"
WRITERS="${SOAK_WRITERS:-4}"
STAKERS="${SOAK_STAKERS:-1000}"
OUT="${SOAK_OUT:-$ROOT/target/soak}"
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --interval) INTERVAL="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --writers) WRITERS="$2"; shift 2 ;;
    --stakers) STAKERS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in DURATION INTERVAL WRITERS STAKERS; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -gt 0 ]] || { echo "soak.sh: $v must be a positive integer" >&2; exit 2; }
done
if [ -z "$WARMUP" ]; then WARMUP=$(( DURATION < 900 ? DURATION / 3 : 300 )); fi
[[ "$WARMUP" =~ ^[0-9]+$ && "$WARMUP" -lt "$DURATION" ]] || { echo "soak.sh: --warmup must be below --duration" >&2; exit 2; }

BIN="$ROOT/target/release/cairn"
(cd "$ROOT" && cargo build --release -q -p cairn-cli) || exit 2
RUN="$OUT/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN"
RUN="$(cd "$RUN" && pwd)"
DATA="$RUN/data"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
NODE_PID=""
WRITER_PIDS=()
cleanup() {
  for p in "${WRITER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${WRITER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$NODE_PID" ]; then kill "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; fi
  if [ "$KEEP" -eq 0 ]; then rm -rf "$DATA" "$RUN/keys"; fi
}
trap cleanup EXIT
metric() { curl -sf --max-time 5 "$BASE/metrics" | awk -v m="cairn_$1" '$1 == m { print $2 }' || true; }

# 1. The devnet.
"$BIN" devnet --data-dir "$DATA" --listen "127.0.0.1:$PORT" --stakers "$STAKERS" --exempt-ip 127.0.0.1 >"$RUN/devnet.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 240); do
  curl -sf "$BASE/health" >/dev/null && break
  kill -0 "$NODE_PID" 2>/dev/null || { cat "$RUN/devnet.log" >&2; echo "soak.sh: the devnet died" >&2; exit 2; }
  sleep 0.5
done
curl -sf "$BASE/health" >/dev/null || { echo "soak.sh: the devnet did not answer in 120 s" >&2; exit 2; }

# 2. Writers: a fresh key each, funded with 1 stETH by the sequencer service (whose key the
# workers use once an hour), then transfers of 1 wei back, each signed and submitted by the CLI.
read -r FUNDER_ADDR FUNDER_KEY < <(awk '$1 == "service/sequencer" { print $2, $3 }' "$RUN/devnet.log")
[ -n "$FUNDER_KEY" ] || { echo "soak.sh: no service/sequencer key in devnet.log" >&2; exit 2; }
KEYS="$RUN/keys"
for i in $(seq "$WRITERS"); do
  addr="$("$BIN" keys create "w$i" --keys-dir "$KEYS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')"
  "$BIN" tx transfer asset=1 "to=$addr" amount=1e18 --key "$FUNDER_KEY" --node "$BASE" --wait --json >/dev/null
done
for i in $(seq "$WRITERS"); do
  (
    trap 'exit 0' TERM
    while :; do
      "$BIN" tx transfer asset=1 "to=$FUNDER_ADDR" amount=1 --key "w$i" --keys-dir "$KEYS" --node "$BASE" --json \
        >/dev/null 2>>"$RUN/writers.log" || sleep 0.5
    done
  ) &
  WRITER_PIDS+=($!)
done
echo "soak: devnet pid $NODE_PID at $BASE with $STAKERS stakers and $WRITERS CLI writers;" \
  "${DURATION} s, a sample every ${INTERVAL} s, warm-up ${WARMUP} s; output in $RUN"

# 3. Samples.
CSV="$RUN/soak.csv"
echo "t_s,rss_mb,disk_mb,committed,tx_per_s,height" >"$CSV"
START=$(date +%s.%N)
PREV_T=0
PREV_C=$(metric txs_committed_total)
[ -t 1 ] && EOL='\r' || EOL='\n'
while :; do
  sleep "$INTERVAL"
  kill -0 "$NODE_PID" 2>/dev/null || { tail -20 "$RUN/devnet.log" >&2; echo "soak.sh: the devnet died" >&2; exit 2; }
  T=$(python3 -c "import time; print(round(time.time() - $START, 2))")
  RSS_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$NODE_PID/status")
  DISK_KB=$(du -sk "$DATA" | cut -f1)
  C=$(metric txs_committed_total)
  H=$(metric height)
  [ -n "$C" ] && [ -n "$H" ] || { echo "soak.sh: /metrics did not answer" >&2; exit 2; }
  python3 - "$T" "$RSS_KB" "$DISK_KB" "$C" "$H" "$PREV_T" "$PREV_C" >>"$CSV" <<'PY'
import sys
t, rss, disk, c, h, pt, pc = (float(x) for x in sys.argv[1:])
print(f"{t:.2f},{rss / 1024:.2f},{disk / 1024:.2f},{int(c)},{(c - pc) / (t - pt):.1f},{int(h)}")
PY
  printf "  t=%6.0f s  rss=%5d MB  disk=%6d MB  committed=%9d  height=%7d$EOL" \
    "$T" "$(( RSS_KB / 1024 ))" "$(( DISK_KB / 1024 ))" "$C" "$H"
  PREV_T=$T
  PREV_C=$C
  python3 -c "import sys; sys.exit(0 if $T >= $DURATION else 1)" && break
done
[ -t 1 ] && echo

# 4. Plot and summary (exit 1 if the RSS after the warm-up is not within +-10% of its mean).
REFUSED=$(grep -c . "$RUN/writers.log" 2>/dev/null || true)
RC=0
python3 "$ROOT/scripts/soak_plot.py" "$CSV" "$RUN/soak.png" --warmup "$WARMUP" >"$RUN/summary.txt" || RC=$?
echo "writer_refusals=${REFUSED:-0}" >>"$RUN/summary.txt"
echo "command=scripts/soak.sh --duration $DURATION --interval $INTERVAL --warmup $WARMUP --writers $WRITERS --stakers $STAKERS" >>"$RUN/summary.txt"
cat "$RUN/summary.txt"
echo "soak: CSV $CSV, plot $RUN/soak.png"
exit "$RC"
