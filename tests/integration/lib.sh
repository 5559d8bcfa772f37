# Shared by the integration test scripts (reshard*, merge*, schema_drift): reporting, ports, the
# cluster's lines, the admin/root SQL helpers and the clean-up of a work dir. Sourced after the
# caller set failed (and, for die()'s summary, TEST_NAME and t_start); admin() reads $admin_port
# when it is called; cleanup_work reads $work, $proxy_pid and $failed.
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1"; failed=1; }
die() {
  fail "$1"
  [[ -n ${TEST_NAME:-} ]] && echo "$TEST_NAME: FAILED (after $((SECONDS - ${t_start:-0})) s)"
  exit 1
}
# Stops a background process the script started (a load generator, a probe), if still running.
stop_pid() {
  if [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
  fi
}
# The EXIT trap of a script that runs shardproxy ($proxy_pid) on a cluster in $work/cluster: stop
# both; when something failed keep the logs (not the datadirs), with KEEP_WORK=1 keep everything.
cleanup_work() {
  stop_pid "${proxy_pid:-}"
  "$root/scripts/cluster" down "$work/cluster" >/dev/null 2>&1 || true
  if [[ "${KEEP_WORK:-0}" == 1 ]]; then
    echo "work dir kept: $work (proxy log: $work/proxy.log)"
  elif [[ ${failed:-0} != 0 ]]; then
    rm -rf "$work/cluster/template" "$work"/cluster/*/data
    echo "logs kept: $work (proxy log: $work/proxy.log; KEEP_WORK=1 keeps the datadirs too)"
  else
    rm -rf "$work"
  fi
}
step() { echo "-- $1 (at $((SECONDS - t_start)) s)"; }
now() { date +%s.%N; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# field LINES SHARD ROLE NAME: NAME=value of one server in scripts/cluster's output
field() { awk -v s="$2" -v r="$3" -v f="$4" '$1 == "shard="s && $2 == "role="r {
  for (i = 1; i <= NF; i++) if (index($i, f"=") == 1) { print substr($i, length(f) + 2); exit } }' <<<"$1"; }
admin() { mariadb -h127.0.0.1 -P"$admin_port" -uadmin -padminpw -N -B -e "$1" 2>&1; }
# admin_ok STATEMENT: must succeed (no ERROR); silent unless it fails
admin_ok() {
  local out
  out=$(admin "$1")
  if [[ $? != 0 || $out == *ERROR* ]]; then fail "admin: $1: $(tr '\n' ' ' <<<"$out")"; return 1; fi
  return 0
}
# Waits (15 s at most) until the admin port of shardproxy ($proxy_pid) answers; dies with the end of
# its log if it exits or never answers.
wait_admin_up() {
  for _ in $(seq 150); do
    admin 'SHOW CATALOG VERSION' >/dev/null 2>&1 && return 0
    kill -0 "$proxy_pid" 2>/dev/null || { tail -30 "$work/proxy.log"; die "shardproxy exited at start"; }
    sleep 0.1
  done
  tail -30 "$work/proxy.log"
  die "admin port $admin_port does not answer"
}
# admin_all STATEMENT...: each must succeed, or the test dies naming it.
admin_all() {
  local s out
  for s in "$@"; do out=$(admin "$s") || die "admin: $s: $out"; done
}
root_sql() { mariadb --no-defaults -h127.0.0.1 -P"$1" -uroot -N -B -e "$2" 2>&1; }
# sysbench_run LABEL LOG ARGS...: runs `sysbench ARGS` (a `run`), appends its output to LOG and
# leaves it in $sb_out; passes with the transactions per second when sysbench reported 0 ignored
# errors and no FATAL, else fails showing its errors. With SB_RETRY_DEADLOCKS=1 the errors sysbench
# retries by default (deadlock 1213, lock wait timeout 1205, 1020) are allowed and reported; any
# other error is fatal.
sysbench_run() {
  local label=$1 log=$2 errors tps retry=()
  shift 2
  [[ ${SB_RETRY_DEADLOCKS:-0} == 1 ]] && retry=(--mysql-ignore-errors=1213,1205,1020)
  sb_out=$(sysbench "$@" "${retry[@]}" 2>&1)
  echo "$sb_out" >>"$log"
  errors=$(awk '$1 == "ignored" && $2 == "errors:" { print $3 }' <<<"$sb_out")
  tps=$(awk '$1 == "transactions:" { gsub(/[(]/, "", $3); print $2 " transactions, " $3 "/s" }' <<<"$sb_out")
  if [[ ${#retry[@]} -gt 0 && ${errors:-x} =~ ^[0-9]+$ && $sb_out != *FATAL* && -n $tps ]]; then
    pass "$label: 0 errors, $errors deadlock(s) / lock wait timeout(s) retried by sysbench ($tps)"
  elif [[ $errors == 0 && $sb_out != *FATAL* && -n $tps ]]; then
    pass "$label: 0 errors ($tps)"
  else
    fail "$label: errors [${errors:-?}]"
    grep -E 'FATAL|error' <<<"$sb_out" | head -5
  fi
}
