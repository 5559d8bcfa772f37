#!/usr/bin/env bash
# kill -9 in the middle of catalog changes, again and again: after each kill the file must hold
# the last version the worker reported, or the one after it (committed, killed before printing),
# SQLite's integrity check must pass and every catalog invariant must hold.
#
#   tests/integration/catalog_kill9_test.sh          (CATALOG_STRESS_BIN, ROUNDS to override)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${CATALOG_STRESS_BIN:-$root/build/catalog_stress}"
rounds="${ROUNDS:-60}"
work="$(mktemp -d /tmp/catalog-kill9.XXXXXX)"
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
  if [[ "${KEEP_WORK:-0}" != 1 ]]; then rm -rf "$work"; else echo "work dir kept: $work"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; KEEP_WORK=1; exit 1; }

[[ -x "$bin" ]] || fail "no catalog_stress at $bin (build the catalog_stress target)"
db="$work/catalog.db"
baseline=0      # the version the file held after the previous kill
unprinted=0     # kills after the commit reached the WAL but before the printout (mostly in fsync)
start=$SECONDS
for round in $(seq "$rounds"); do
  "$bin" "$db" >"$work/out" 2>"$work/err" &
  pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % 300)))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
  [[ -s "$work/err" ]] && fail "round $round: worker wrote to stderr: $(cat "$work/err")"

  # Each commit is printed once, in order, continuing from what the file held.
  last=$baseline
  while read -r version; do
    [[ "$version" == "$((last + 1))" ]] ||
      fail "round $round: worker printed $version after $last"
    last=$version
  done <"$work/out"

  checked="$("$bin" --check "$db" 2>"$work/check_err")" ||
    fail "round $round: check failed: $(cat "$work/check_err")"
  if [[ "$checked" == "$((last + 1))" ]]; then
    unprinted=$((unprinted + 1))
  elif [[ "$checked" != "$last" ]]; then
    fail "round $round: the file holds version $checked; the worker last printed $last"
  fi
  baseline=$checked
done
(( baseline >= rounds )) || fail "only $baseline changes committed in $rounds rounds; kills came too early"
echo "ok: $rounds kills in $((SECONDS - start)) s, $baseline changes committed;" \
  "$((rounds - unprinted)) kills left the last printed version, $unprinted the one after it" \
  "(committed, not yet printed); integrity and invariants held after each"
