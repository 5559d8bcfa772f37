# Shared by the resharding integration tests (reshard_test.sh, reshard_faults_test.sh): reporting,
# ports, the cluster's lines, and the admin/root SQL helpers. Sourced after the caller set
# TEST_NAME, t_start and failed; admin() reads $admin_port when it is called.
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1"; failed=1; }
die() {
  fail "$1"
  echo "$TEST_NAME: FAILED (after $((SECONDS - t_start)) s)"
  exit 1
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
root_sql() { mariadb --no-defaults -h127.0.0.1 -P"$1" -uroot -N -B -e "$2" 2>&1; }
