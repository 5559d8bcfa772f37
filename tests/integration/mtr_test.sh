#!/usr/bin/env bash
# MariaDB's own regression tests through the proxy, the CI subset (tests/integration/mtr/ci_list.txt):
# each test is run with mysqltest directly against one server and through shardproxy in front of
# another (two servers: the tests drop and re-create database `test`), in text and --ps-protocol
# modes. A run that passes directly and fails through the proxy is a place where the proxy answers
# differently from the server: the test fails. The whole list is scripts/release-check.
#
# Usage: mtr_test.sh [LIST]   (SHARDPROXY_BIN overrides build/shardproxy; KEEP_WORK=1 keeps the work dir;
#        MTR_MIN_PERCENT (default 100): the share of the runs that pass directly that must pass through
#        the proxy; scripts/release-check runs the whole list with 99)
# Needs: mariadb-test (mysqltest and the main suite), mariadb-server/client (scripts/install-deps).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
list="${1:-$root/tests/integration/mtr/ci_list.txt}"
min_percent="${MTR_MIN_PERCENT:-100}"
work="$(mktemp -d /tmp/sp-mtr.XXXXXX)"
proxy_pid=""
failed=0
t_start=$SECONDS
TEST_NAME=mtr_test
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap cleanup_work EXIT
trap 'exit 130' INT TERM

command -v mysqltest >/dev/null || die "mysqltest is needed (apt-get install mariadb-test; scripts/install-deps)"
[[ -x "$bin" ]] || die "no proxy binary at $bin"
runner="$root/tests/integration/mtr/mtr_compat.sh"

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 2 --replicas 0 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
direct=$(field "$lines" 0 primary port)
behind=$(field "$lines" 1 primary port)
app_port=$(free_port)
admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done
"$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --backend "127.0.0.1:$behind" \
  --user app:secret --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw \
  --threads 2 --log-level warn >"$work/proxy.log" 2>&1 &
proxy_pid=$!
wait_admin_up
# The tests open extra connections as root without a password.
admin_all "CREATE USER 'root' IDENTIFIED BY ''"
pass "servers: direct 127.0.0.1:$direct, behind the proxy 127.0.0.1:$behind; proxy 127.0.0.1:$app_port"

step "mysqltest directly against the server"
bash "$runner" 127.0.0.1 "$direct" "$list" --both --user app --password secret -q >"$work/direct.txt" 2>&1
step "mysqltest through shardproxy"
bash "$runner" 127.0.0.1 "$app_port" "$list" --both --user app --password secret >"$work/proxy.txt" 2>&1
grep '^PASS' "$work/direct.txt" | awk '{ print $2, $3 }' | sort >"$work/pass-direct"
grep '^PASS' "$work/proxy.txt" | awk '{ print $2, $3 }' | sort >"$work/pass-proxy"
n_direct=$(wc -l <"$work/pass-direct")
n_both=$(comm -12 "$work/pass-direct" "$work/pass-proxy" | wc -l)
((n_direct > 0)) || fail "no test passed directly: mysqltest or the suite is broken ($(tail -3 "$work/direct.txt"))"
percent=$(awk -v a="$n_both" -v b="$n_direct" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }')
if ((n_direct > 0 && n_both * 100 >= n_direct * min_percent)); then
  pass "$n_both of the $n_direct runs that pass directly pass through the proxy ($percent%, text and --ps-protocol; at least $min_percent% needed)"
else
  fail "$n_both of the $n_direct runs that pass directly pass through the proxy ($percent%; at least $min_percent% needed)"
fi
if ((n_both < n_direct)); then
  echo "    failing through the proxy only:"
  comm -23 "$work/pass-direct" "$work/pass-proxy" | while read -r t mode; do
    # The FAIL line and its indented excerpt.
    awk -v head="FAIL $t $mode" 'index($0, head) == 1 { on = 1; print; next }
      on && /^    / { print; next } { on = 0 }' "$work/proxy.txt" | sed 's/^/    /'
  done
fi
kill -0 "$proxy_pid" 2>/dev/null && pass "the proxy kept running" || fail "the proxy died"
echo "$TEST_NAME: $([[ $failed == 0 ]] && echo PASSED || echo FAILED) in $((SECONDS - t_start)) s"
exit $failed
