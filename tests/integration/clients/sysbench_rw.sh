#!/usr/bin/env bash
# Real-client load check with sysbench oltp_read_write (transactions of point/range selects,
# updates, delete+insert): once with prepared statements (COM_STMT_*, sysbench's default) and
# once with --db-ps-mode=disable (COM_QUERY).
#
# Connection from SP_HOST, SP_PORT, SP_USER, SP_PASSWORD, SP_DB. Tunables: SB_TIME (seconds per
# run, default 10), SB_THREADS (4), SB_TABLES (2), SB_TABLE_SIZE (1000), SB_MAX_IGNORED_PCT (2).
#
# Fails when a run exits non-zero, prints FATAL, reports any reconnect, or reports more ignored
# errors than SB_MAX_IGNORED_PCT percent of its transactions. Only deadlocks (1213) are
# ignorable: any other error aborts sysbench and so fails the run. Deadlocks are normal here even
# against a plain mariadbd (about 0.3-0.5% of transactions with 4 threads on 2x1000 rows), so set
# SB_MAX_IGNORED_PCT=0 only with SB_THREADS=1. After the runs every table must still hold
# exactly ids 1..SB_TABLE_SIZE: each delete+insert pair is one transaction, so a lost rollback
# or a transaction split across backend connections shows up as missing or extra rows.
set -uo pipefail
export LC_ALL=C

NAME=sysbench_rw
fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
[[ -n ${SP_PORT:-} ]] || fail "environment variable SP_PORT is required"
[[ -n ${SP_DB:-} ]] || fail "environment variable SP_DB is required"
command -v sysbench >/dev/null || fail "sysbench not installed"
HOST=${SP_HOST:-127.0.0.1}
USER_=${SP_USER:-app}
PASS=${SP_PASSWORD-secret}
TIME=${SB_TIME:-10}
THREADS=${SB_THREADS:-4}
TABLES=${SB_TABLES:-2}
SIZE=${SB_TABLE_SIZE:-1000}
MAX_PCT=${SB_MAX_IGNORED_PCT:-2}

WORK=$(mktemp -d /tmp/sp-sysbench.XXXXXX)
COMMON=(oltp_read_write --db-driver=mysql --mysql-host="$HOST" --mysql-port="$SP_PORT"
        --mysql-user="$USER_" --mysql-password="$PASS" --mysql-db="$SP_DB"
        --tables="$TABLES" --table-size="$SIZE" --mysql-ignore-errors=1213)
cleanup() {
  sysbench "${COMMON[@]}" cleanup >"$WORK/cleanup.out" 2>&1 ||
    echo "$NAME: warning: cleanup failed: $(tail -3 "$WORK/cleanup.out")" >&2
  rm -rf "$WORK"
}
trap cleanup EXIT

T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# Drop leftovers of an earlier, interrupted run, then create and fill the tables.
sysbench "${COMMON[@]}" cleanup >"$WORK/pre-cleanup.out" 2>&1 ||
  fail "cleanup before prepare: $(tail -5 "$WORK/pre-cleanup.out")"
sysbench "${COMMON[@]}" prepare >"$WORK/prepare.out" 2>&1 ||
  fail "prepare: $(tail -5 "$WORK/prepare.out")"
echo "$NAME: ok prepare ($TABLES tables x $SIZE rows, $(since "$T0")s)"

for mode in auto disable; do
  label=$([[ $mode == auto ]] && echo "prepared statements" || echo "--db-ps-mode=disable")
  out="$WORK/run-$mode.out"
  t=$(date +%s.%N)
  rc=0
  timeout $((TIME + 60)) sysbench "${COMMON[@]}" --threads="$THREADS" --time="$TIME" \
    --db-ps-mode="$mode" --report-interval=0 run >"$out" 2>&1 || rc=$?
  if ((rc != 0)) || grep -q FATAL "$out"; then
    fail "$label: sysbench exit code $rc"$'\n'"$(grep -E 'FATAL|error' "$out" | head -10)"
  fi
  trx=$(awk '/^ *transactions:/ { print $2 }' "$out")
  queries=$(awk '/^ *queries:/ { print $2 }' "$out")
  ignored=$(awk '/^ *ignored errors:/ { print $3 }' "$out")
  reconnects=$(awk '/^ *reconnects:/ { print $2 }' "$out")
  [[ $trx =~ ^[0-9]+$ && $ignored =~ ^[0-9]+$ && $reconnects =~ ^[0-9]+$ ]] ||
    fail "$label: cannot parse sysbench output:"$'\n'"$(tail -30 "$out")"
  ((trx > 0)) || fail "$label: no transaction completed"
  ((reconnects == 0)) || fail "$label: $reconnects reconnects"
  if awk -v i="$ignored" -v t="$trx" -v p="$MAX_PCT" 'BEGIN { exit !(i > t * p / 100) }'; then
    fail "$label: $ignored ignored errors (deadlocks) in $trx transactions, over ${MAX_PCT}%"
  fi
  echo "$NAME: ok $label: $trx transactions, $queries queries, $ignored deadlocks retried," \
       "0 reconnects ($(since "$t")s)"
done

# Row-set invariant: oltp_read_write deletes and re-inserts the same id inside one transaction.
export MYSQL_PWD=$PASS
for ((i = 1; i <= TABLES; i++)); do
  got=$(mariadb --no-defaults --protocol=TCP -h "$HOST" -P "$SP_PORT" -u "$USER_" --batch \
        --skip-column-names -e "SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id) FROM sbtest$i" \
        "$SP_DB" 2>&1) || fail "check sbtest$i: $got"
  [[ $got == "$SIZE	$SIZE	1	$SIZE" ]] ||
    fail "sbtest$i after the runs: count/distinct/min/max = $got, want $SIZE/$SIZE/1/$SIZE"
done
echo "$NAME: ok tables still hold ids 1..$SIZE"
echo "$NAME: all checks passed ($(since "$T0")s)"
