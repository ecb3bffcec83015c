#!/usr/bin/env bash
# Mutation testing of the restaking core with cargo-mutants: each mutant (an operator swapped, a
# function body replaced by a default, a `!` deleted...) of the files below must make some test
# fail. A "missed" mutant is a change no test notices: a gap to close with a test that fails on
# it. Not run in CI: the default set takes about an hour on 2 cores. Scores: docs/mutants.md.
#
#   bash scripts/mutants.sh                                  # the default files, one job
#   bash scripts/mutants.sh crates/primitives/src/math.rs    # only these files
#   MUTANTS_JOBS=2 bash scripts/mutants.sh                   # two builds at once (more RAM, disk)
#   MUTANTS_IN_PLACE=1 bash scripts/mutants.sh FILE          # mutate this tree, reuse target/
#
# Options (environment):
#   MUTANTS_JOBS      parallel build/test jobs (copies of the tree)              [1]
#   MUTANTS_TIMEOUT   seconds per test run before a mutant counts as a timeout   [300]
#   MUTANTS_OUT       directory that receives mutants.out/                       [target/mutants]
#   MUTANTS_IN_PLACE  1: mutate the working tree itself and reuse target/ (much faster, but do
#                     not edit or build in this tree meanwhile; an interrupted run may leave a
#                     mutated file: check `git status`). Default: cargo-mutants copies the tree
#                     (without target/) and builds the copy from scratch once.
# Each mutant is tested with the tests of the package it is in (`cargo test -p <package>`): the
# state machine's unit tests for crates/state, the math tests for crates/primitives. Installs
# cargo-mutants (`cargo install --locked cargo-mutants`) if it is missing.
# Output: MUTANTS_OUT/mutants.out/{caught,missed,timeout,unviable}.txt and outcomes.json, then a
# table per file: caught, missed, timeout, unviable, and the score caught / (caught + missed +
# timeout) over the viable mutants. Exit status: cargo-mutants' (0 all caught, 2 some missed, 3
# some timed out, 4 the unmutated tree fails its tests).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
JOBS="${MUTANTS_JOBS:-1}"
TIMEOUT="${MUTANTS_TIMEOUT:-300}"
OUT="${MUTANTS_OUT:-target/mutants}"

if [ "$#" -gt 0 ]; then
  FILES=("$@")
else
  FILES=(
    crates/state/src/slashing.rs
    crates/state/src/withdrawals.rs
    crates/state/src/allocations.rs
    crates/state/src/delegation.rs
    crates/state/src/stakers.rs
    crates/primitives/src/math.rs
  )
fi

if ! cargo mutants --version >/dev/null 2>&1; then
  echo "mutants.sh: installing cargo-mutants" >&2
  cargo install --locked cargo-mutants
fi

args=(--no-shuffle --timeout "$TIMEOUT" --output "$OUT")
for f in "${FILES[@]}"; do
  [ -f "$f" ] || { echo "mutants.sh: no such file: $f" >&2; exit 2; }
  args+=(--file "$f")
done
if [ "${MUTANTS_IN_PLACE:-0}" = 1 ]; then
  args+=(--in-place) # one tree, so one job
else
  args+=(--jobs "$JOBS")
fi

# A property test that fails on a mutant must not write a proptest-regressions/ file into the
# tree (an in-place run would leave the mutant's counterexample beside the real ones), and a
# fixed seed makes a score repeatable.
export PROPTEST_DISABLE_FAILURE_PERSISTENCE=1
export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-1306}"

status=0
cargo mutants "${args[@]}" || status=$?

# Per-file summary from the outcome lists ("path:line:col: description").
dir="$OUT/mutants.out"
printf '%-36s %7s %7s %7s %9s %7s\n' file caught missed timeout unviable score
for f in "${FILES[@]}"; do
  count() { grep -c "^$f:" "$dir/$1.txt" 2>/dev/null || true; }
  c=$(count caught); m=$(count missed); t=$(count timeout); u=$(count unviable)
  c=${c:-0}; m=${m:-0}; t=${t:-0}; u=${u:-0}
  viable=$((c + m + t))
  score="-"
  [ "$viable" -gt 0 ] && score="$((100 * c / viable))%"
  printf '%-36s %7s %7s %7s %9s %7s\n' "$f" "$c" "$m" "$t" "$u" "$score"
done
[ -s "$dir/missed.txt" ] && { echo; echo "missed:"; cat "$dir/missed.txt"; }
exit "$status"
