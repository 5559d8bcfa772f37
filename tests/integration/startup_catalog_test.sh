#!/usr/bin/env bash
# The start-up trap (issue: a stale catalog never overrides the flags): a proxy started with
# --backend A records A in its catalog; started again on the same catalog with --backend B it must
# refuse to start, saying how to proceed, never serve A; --reset-catalog makes it serve B; the
# same flags again start normally.
# Usage: startup_catalog_test.sh   (SHARDPROXY_BIN overrides build/shardproxy)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-start.XXXXXX)"
proxy_pid=""
failed=0
TEST_NAME=startup_catalog_test
t_start=$SECONDS
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap cleanup_work EXIT
trap 'exit 130' INT TERM

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 2 --replicas 0 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
a=$(field "$lines" 0 primary port); b=$(field "$lines" 1 primary port)
app_port=$(free_port)
# start BACKEND_PORT [extra flags...]: shardproxy in the background on the one catalog file.
start() {
  local backend=$1
  shift
  "$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --backend "127.0.0.1:$backend" \
    --user app:secret --admin-listen off --threads 1 "$@" >>"$work/proxy.log" 2>&1 &
  proxy_pid=$!
}
port_through_proxy() {
  local out
  for _ in $(seq 50); do
    out=$(mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B -e "SELECT @@port" 2>/dev/null) \
      && { echo "$out"; return; }
    kill -0 "$proxy_pid" 2>/dev/null || return
    sleep 0.1
  done
}

start "$a"
got=$(port_through_proxy)
[[ $got == "$a" ]] && pass "--backend A: serves A ($a)" || fail "--backend A: got [$got]"
stop_pid "$proxy_pid"

start "$b"
for _ in $(seq 50); do kill -0 "$proxy_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$proxy_pid" 2>/dev/null; then
  fail "--backend B on A's catalog: still running (it serves $(port_through_proxy))"
  stop_pid "$proxy_pid"
else
  wait "$proxy_pid"; rc=$?
  msg=$(grep -m1 "holds another topology" "$work/proxy.log")
  if [[ $rc != 0 && $msg == *"127.0.0.1:$b"* && $msg == *--reset-catalog* && $msg == *"admin port"* ]]; then
    pass "--backend B on A's catalog: refused at once (exit $rc): ${msg:0:160}..."
  else
    fail "--backend B on A's catalog: exit $rc, message [$msg]"
  fi
fi

start "$b" --reset-catalog
got=$(port_through_proxy)
[[ $got == "$b" ]] && pass "--backend B --reset-catalog: serves B ($b)" || fail "--reset-catalog: got [$got]"
stop_pid "$proxy_pid"
start "$b"
got=$(port_through_proxy)
[[ $got == "$b" ]] && pass "--backend B again on its own catalog: starts and serves B" || fail "restart: got [$got]"
stop_pid "$proxy_pid"
echo "$TEST_NAME: $([[ $failed == 0 ]] && echo PASSED || echo FAILED) in $((SECONDS - t_start)) s"
exit $failed
