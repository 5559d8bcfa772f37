#!/usr/bin/env bash
# The web dashboard end to end (docs/observability.md, "Dashboard"): a local cluster of 2 shards
# (primary + 1 replica each), keyspace shop sharded by id, traffic on both shards, and a
# migration recorded (RESHARD of shard 80- into 80-c0 / c0- on a spare pair of servers); then
# headless Chromium (Debian's `chromium`) loads http://127.0.0.1:<http port>/ and, after the page's
# scripts ran, the DOM must show:
# - the shard map: keyspace shop with a range bar per shard (-80, 80-, and the migration's
#   NOT SERVING 80-c0 and c0-) and every backend with its role and "up";
# - the chart: one line per shard that received statements (shop/-80, shop/80-), drawn from at
#   least 2 points;
# - the top statements table with the point select's fingerprint;
# - the migration with its phase and a progress bar.
# Screenshots are kept in $ARTIFACTS (default /tmp/shardproxy-dashboard) for a human to look at.
# Usage: dashboard_test.sh   (SHARDPROXY_BIN overrides build/shardproxy)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-dashboard.XXXXXX)"
artifacts="${ARTIFACTS:-/tmp/shardproxy-dashboard}"
proxy_pid=""
load_pid=""
failed=0
TEST_NAME=dashboard_test
t_start=$SECONDS
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap 'stop_pid "$load_pid"; cleanup_work' EXIT
trap 'exit 130' INT TERM

browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n $browser ]] || die "chromium is needed (apt-get install chromium; scripts/install-deps)"
mkdir -p "$artifacts"

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 4 --replicas 1 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
for i in 0 1 2 3; do
  declare "p$i=$(field "$lines" $i primary port)"
  declare "r$i=$(field "$lines" $i replica port)"
done
app_port=$(free_port); admin_port=$(free_port); http_port=$(free_port)
"$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
  --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --dba-user root: \
  --health-user root: --health-interval-ms 300 --http-listen "127.0.0.1:$http_port" \
  --threads 2 >>"$work/proxy.log" 2>&1 &
proxy_pid=$!
wait_admin_up
admin_all "CREATE KEYSPACE shop SHARDED" \
  "CREATE SHARD shop.\`-80\` PRIMARY '127.0.0.1:$p0' REPLICAS ('127.0.0.1:$r0')" \
  "CREATE SHARD shop.\`80-\` PRIMARY '127.0.0.1:$p1' REPLICAS ('127.0.0.1:$r1')" \
  "CREATE SHARD shop.\`80-c0\` PRIMARY '127.0.0.1:$p2' REPLICAS ('127.0.0.1:$r2') NOT SERVING" \
  "CREATE SHARD shop.\`c0-\` PRIMARY '127.0.0.1:$p3' REPLICAS ('127.0.0.1:$r3') NOT SERVING" \
  "CREATE SHARDED TABLE shop.t SHARD KEY (id)"
app_sql() { mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B shop -e "$1" 2>&1; }
out=$(app_sql "CREATE TABLE t (id BIGINT PRIMARY KEY, v INT)") || die "create table: $out"
out=$(app_sql "INSERT INTO t VALUES $(seq 1 200 | sed 's/.*/(&,&)/' | paste -sd,)") || die "insert: $out"
pass "cluster: shop on -80 and 80- (serving), 80-c0 and c0- (not serving); 200 rows"

# Traffic for the chart: point selects over both shards, for the whole test.
/usr/bin/python3 - "$app_port" <<'EOF' >"$work/load.log" 2>&1 &
import sys, time, pymysql
c = pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user="app", password="secret", database="shop")
cur = c.cursor()
i = 0
while True:
    cur.execute("SELECT v FROM t WHERE id = %d" % (i % 200 + 1)); cur.fetchall()
    i += 1
    time.sleep(0.002)
EOF
load_pid=$!
for p in "$p2" "$p3"; do
  root_sql "$p" "CREATE DATABASE IF NOT EXISTS shop" >/dev/null
done
out=$(admin "RESHARD KEYSPACE shop FROM (\`80-\`) TO (\`80-c0\`, \`c0-\`) THROTTLE 20 ROWS")
mig_id=$out
[[ $out =~ ^[0-9]+$ ]] && pass "a migration is recorded (id $out, throttled so it is still copying)" \
  || fail "RESHARD: $out"
sleep 6  # a few 2 s samples of the traffic

step "headless Chromium loads the dashboard"
url="http://127.0.0.1:$http_port/"
timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --user-data-dir="$work/chromium" --virtual-time-budget=8000 --dump-dom "$url" \
  >"$work/dom.html" 2>"$work/chromium.log" || fail "chromium --dump-dom: $(tail -3 "$work/chromium.log")"
timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --user-data-dir="$work/chromium" --virtual-time-budget=8000 --window-size=1280,1700 \
  --screenshot="$artifacts/dashboard.png" "$url" >>"$work/chromium.log" 2>&1 \
  || fail "chromium --screenshot: $(tail -3 "$work/chromium.log")"
cp "$work/dom.html" "$artifacts/dashboard.html" 2>/dev/null
[[ -s $artifacts/dashboard.png ]] && pass "screenshot: $artifacts/dashboard.png ($(stat -c %s "$artifacts/dashboard.png") bytes)" \
  || fail "no screenshot"

/usr/bin/python3 - "$work/dom.html" "$p0" "$p1" "$r0" "$r1" <<'EOF' || failed=1
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
ports = sys.argv[2:]
checks = []
def check(what, ok): checks.append((what, ok))
check("the page's scripts ran (data-loaded)", 'data-loaded="1"' in dom)
check("keyspace shop on the shard map", 'data-keyspace="shop"' in dom)
for s in ["-80", "80-", "80-c0", "c0-"]:
    check(f"a range bar for shard {s}", f'<rect x="' in dom and f'data-shard="{s}"' in dom)
for p in ports:
    row = re.search(r'<tr data-backend="127\.0\.0\.1:%s">(.*?)</tr>' % p, dom)
    check(f"backend {p} listed as up", bool(row) and "pill up" in row.group(1))
series = re.search(r'<svg id="chart"[^>]*data-series="([^"]*)"', dom)
names = series.group(1).split(",") if series else []
check(f"chart series include shop/-80 and shop/80- (got {names})", "shop/-80" in names and "shop/80-" in names)
points = re.search(r'data-points="(\d+)"', dom)
check(f"chart drawn from >= 2 points (got {points.group(1) if points else None})", bool(points) and int(points.group(1)) >= 2)
for s in ["shop/-80", "shop/80-"]:
    check(f"a line for {s}", re.search(r'<path d="M[^"]+"[^>]*data-shard="%s"' % re.escape(s), dom) is not None)
check("top statements show the point select's fingerprint", "SELECT v FROM t WHERE id = ?" in dom)
check("the migration is listed with its phase and a progress bar", re.search(r'data-migration="\d+".*?class="bar"', dom, re.S) is not None)
for what, ok in checks:
    print(("PASS  " if ok else "FAIL  ") + "dashboard: " + what)
sys.exit(0 if all(ok for _, ok in checks) else 1)
EOF

step "the JSON API"
out=$(curl -s "http://127.0.0.1:$http_port/api/shardmap")
/usr/bin/python3 -c 'import json,sys; m=json.loads(sys.argv[1]); ks=m["keyspaces"][0]; s={x["name"]:(x["start"],x["end"]) for x in ks["shards"]}; assert s["-80"]==(0.0,0.5) and s["80-c0"]==(0.5,0.75) and s["c0-"]==(0.75,1.0), s' "$out" \
  && pass "/api/shardmap: ranges as fractions of the keyspace-ID space" || fail "/api/shardmap: $out"
# The same migration in /metrics: its phase, rows copied of the estimate, progress, and the
# catch-up lag once it replicates (or the ETA while it copies).
curl -s "http://127.0.0.1:$http_port/metrics" >"$work/metrics.txt"
if python3 - "$mig_id" "$work/metrics.txt"; then
  pass "/metrics: migration $mig_id's phase, rows copied, progress and lag or ETA"
else
  fail "/metrics: migration $mig_id's families missing or wrong"
fi <<'PY'
import re, sys
mid = sys.argv[1]
text = open(sys.argv[2]).read()
def val(name):
    m = re.search(r'^%s\{id="%s"\} (\S+)$' % (name, mid), text, re.M)
    return float(m.group(1)) if m else None
info = re.search(r'^shardproxy_migration_info\{id="%s",keyspace="shop",phase="(\w+)"\} 1$' % mid, text, re.M)
copied, est, prog = (val("shardproxy_migration_rows_copied"), val("shardproxy_migration_rows_estimated"),
                     val("shardproxy_migration_progress_ratio"))
lag, eta = val("shardproxy_migration_catchup_lag_seconds"), val("shardproxy_migration_eta_seconds")
print("      phase %s, copied %s of %s, progress %s, lag %s s, eta %s s" %
      (info and info.group(1), copied, est, prog, lag, eta))
ok = bool(info) and copied is not None and copied > 0 and est and 0 < prog <= 1
ok = ok and (lag is not None or eta is not None)
sys.exit(0 if ok else 1)
PY
kill -0 "$proxy_pid" 2>/dev/null && pass "the proxy kept running" || fail "the proxy died"
echo "$TEST_NAME: $([[ $failed == 0 ]] && echo PASSED || echo FAILED) in $((SECONDS - t_start)) s"
exit $failed
