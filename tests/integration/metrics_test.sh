#!/usr/bin/env bash
# The HTTP endpoint (docs/observability.md) on a local cluster of 2 shards (primary + 1 replica
# each), keyspace shop sharded by id:
# - /metrics is valid Prometheus text (every sample under a # TYPE of its family, histogram buckets
#   cumulative and +Inf equal to _count) and counts what was done: point selects as single-shard
#   statements on the shard their key hashes to, a scatter select on both shards, statements by
#   kind, a backend's error by its code, a failed login as refused; pools and health per backend;
# - /healthz answers 200; /readyz 200, and 503 naming the keyspace once both primaries are down;
# - an unknown path is 404, a POST is 405; the proxy keeps serving clients meanwhile;
# - log lines (--log-format json) are JSON objects; a refused statement, a server's error and a
#   failed login carry conn, user, keyspace, shard and error code as members, health lines their
#   keyspace and shard.
# Usage: metrics_test.sh   (SHARDPROXY_BIN overrides build/shardproxy)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-metrics.XXXXXX)"
proxy_pid=""
failed=0
TEST_NAME=metrics_test
t_start=$SECONDS
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap cleanup_work EXIT
trap 'exit 130' INT TERM

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 2 --replicas 1 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
p0=$(field "$lines" 0 primary port); r0=$(field "$lines" 0 replica port)
p1=$(field "$lines" 1 primary port); r1=$(field "$lines" 1 replica port)
app_port=$(free_port); admin_port=$(free_port); http_port=$(free_port)
"$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
  --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --dba-user root: \
  --health-user root: --health-interval-ms 200 --http-listen "127.0.0.1:$http_port" \
  --slow-query-ms 300 --log-format json --log-statement-errors all --threads 2 \
  >>"$work/proxy.log" 2>&1 &
proxy_pid=$!
wait_admin_up
admin_all "CREATE KEYSPACE shop SHARDED" \
  "CREATE SHARD shop.\`-80\` PRIMARY '127.0.0.1:$p0' REPLICAS ('127.0.0.1:$r0')" \
  "CREATE SHARD shop.\`80-\` PRIMARY '127.0.0.1:$p1' REPLICAS ('127.0.0.1:$r1')" \
  "CREATE SHARDED TABLE shop.t SHARD KEY (id)"
app_sql() { mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B shop -e "$1" 2>&1; }
out=$(app_sql "CREATE TABLE t (id BIGINT PRIMARY KEY, v INT)") || die "create table: $out"
pass "cluster up (primaries $p0 $p1), keyspace shop, HTTP endpoint on $http_port"

code_of() { curl -s -o "$work/body" -w '%{http_code}' "$@"; }

step "endpoints"
[[ $(code_of "http://127.0.0.1:$http_port/healthz") == 200 ]] && pass "/healthz 200" \
  || fail "/healthz: $(cat "$work/body")"
ready=""
for _ in $(seq 50); do
  ready=$(code_of "http://127.0.0.1:$http_port/readyz")
  [[ $ready == 200 ]] && break
  sleep 0.1
done
[[ $ready == 200 ]] && pass "/readyz 200 once the health checks reached the primaries" \
  || fail "/readyz $ready: $(cat "$work/body")"
[[ $(code_of "http://127.0.0.1:$http_port/nope") == 404 ]] && pass "an unknown path is 404" \
  || fail "/nope did not answer 404"
[[ $(code_of -X POST "http://127.0.0.1:$http_port/metrics") == 405 ]] && pass "POST is 405" \
  || fail "POST /metrics did not answer 405"

step "traffic"
# 40 rows, then one point select per id (each a single-shard statement on the shard of its id).
values=$(seq 1 40 | sed 's/.*/(&,&)/' | paste -sd,)
out=$(app_sql "INSERT INTO t VALUES $values") || fail "insert: $out"
script=""
for i in $(seq 1 40); do script+="SELECT v FROM t WHERE id = $i;"; done
out=$(app_sql "$script") || fail "point selects: $out"
out=$(app_sql "SELECT COUNT(*) FROM t")
[[ $out == 40 ]] && pass "40 rows; 40 point selects; one scatter COUNT(*)" || fail "count: $out"
out=$(app_sql "SELECT nosuch FROM t WHERE id = 1")
[[ $out == *1054* ]] && pass "a backend error (1054) reached the client" || fail "expected 1054: $out"
out=$(mariadb -h127.0.0.1 -P"$app_port" -uapp -pwrong -e "SELECT 1" 2>&1)
[[ $out == *1045* ]] && pass "a wrong password is refused (1045)" || fail "expected 1045: $out"

out=$(admin "SHOW NONSENSE")
[[ $out == *"ERROR 1064"* ]] && pass "a bad admin statement is refused (1064)" || fail "admin SHOW NONSENSE: $out"
out=$(mariadb -h127.0.0.1 -P"$admin_port" -uadmin -pwrong -e "SHOW KEYSPACES" 2>&1)
[[ $out == *1045* ]] && pass "a wrong admin password is refused (1045)" || fail "admin login: $out"

curl -s "http://127.0.0.1:$http_port/metrics" >"$work/metrics.txt"
/usr/bin/python3 - "$work/metrics.txt" "$p0" "$p1" "$r0" "$r1" <<'EOF' || failed=1
import re, sys
text = open(sys.argv[1]).read()
ports = sys.argv[2:6]
bad = []
types, samples = {}, []
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|\+Inf|NaN)$')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
for ln in text.splitlines():
    if ln.startswith("# TYPE "):
        _, _, name, kind = ln.split(" ", 3)
        if name in types: bad.append(f"family {name} typed twice")
        types[name] = kind
        continue
    if ln.startswith("# HELP ") or not ln:
        continue
    m = line_re.match(ln)
    if not m:
        bad.append(f"not a sample line: {ln!r}"); continue
    name, labels = m.group(1), dict(label_re.findall(m.group(3) or ""))
    base = re.sub(r'_(bucket|sum|count)$', '', name)
    if name not in types and base not in types:
        bad.append(f"sample before its # TYPE: {name}")
    samples.append((name, labels, float(m.group(4))))
def get(name, **want):
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in want.items()))
# Histograms: buckets cumulative, +Inf = _count.
for n, l, v in samples:
    if n.endswith("_count") and types.get(n[:-6]) == "histogram":
        key = {k: x for k, x in l.items()}
        buckets = [(x["le"], bv) for bn, x, bv in samples if bn == n[:-6] + "_bucket"
                   and all(x.get(k) == key[k] for k in key)]
        values = [bv for _, bv in buckets]
        if values != sorted(values): bad.append(f"{n} {key}: buckets not cumulative")
        if not buckets or buckets[-1][0] != "+Inf" or buckets[-1][1] != v:
            bad.append(f"{n} {key}: +Inf bucket differs from _count")
checks = []
def check(what, ok, got):
    checks.append((what, ok, got))
single = get("shardproxy_shard_statements_total", keyspace="shop", route="single")
check("single-shard statements >= 41 (40 point selects + the failing one)", single >= 41, single)
for s in ("-80", "80-"):
    sc = get("shardproxy_shard_statements_total", keyspace="shop", shard=s, route="scatter")
    check(f"shard {s}: scatter statements >= 1", sc >= 1, sc)
    one = get("shardproxy_shard_statements_total", keyspace="shop", shard=s, route="single")
    check(f"shard {s}: some point selects (keys spread over both)", one >= 5, one)
check("select statements >= 42", get("shardproxy_statements_total", listener="app", kind="select") >= 42,
      get("shardproxy_statements_total", listener="app", kind="select"))
check("insert statements = 1", get("shardproxy_statements_total", kind="insert") == 1,
      get("shardproxy_statements_total", kind="insert"))
check("ddl statements = 1", get("shardproxy_statements_total", kind="ddl") == 1,
      get("shardproxy_statements_total", kind="ddl"))
check("errors{code=1054} = 1", get("shardproxy_errors_total", code="1054") == 1,
      get("shardproxy_errors_total", code="1054"))
check("refused connections >= 1", get("shardproxy_client_connections_refused_total", listener="app") >= 1,
      get("shardproxy_client_connections_refused_total", listener="app"))
check("accepted connections >= 5", get("shardproxy_client_connections_total", listener="app") >= 5,
      get("shardproxy_client_connections_total", listener="app"))
# The admin port is a listener of its own: its logins, refusals, statements and errors.
check("admin listener: >= 2 logins, 1 refused, >= 5 statements, 1 error",
      get("shardproxy_client_connections_total", listener="admin") >= 2
      and get("shardproxy_client_connections_refused_total", listener="admin") == 1
      and get("shardproxy_statements_total", listener="admin", kind="admin") >= 5
      and get("shardproxy_errors_total", listener="admin") == 1
      and get("shardproxy_errors_total", listener="app", code="1054") == 1,
      [get("shardproxy_client_connections_total", listener="admin"),
       get("shardproxy_client_connections_refused_total", listener="admin"),
       get("shardproxy_statements_total", listener="admin"), get("shardproxy_errors_total", listener="admin")])
check("connections open now per listener (app and admin gauges present)",
      any(n == "shardproxy_client_connections" and l.get("listener") == "admin" for n, l, v in samples)
      and any(n == "shardproxy_client_connections" and l.get("listener") == "app" for n, l, v in samples), "")
# Reads go to the replicas, writes to the primaries: count over all four.
errs = sum(get("shardproxy_backend_errors_total", backend=f"127.0.0.1:{p}") for p in ports)
check("a backend counted the 1054", errs == 1, errs)
lat = sum(get("shardproxy_backend_statement_seconds_count", backend=f"127.0.0.1:{p}") for p in ports)
check("latency observations (single-backend statements) >= 41", lat >= 41, lat)
for p in ports:
    up = get("shardproxy_backend_up", backend=f"127.0.0.1:{p}")
    check(f"backend {p} up", up == 1, up)
    info = get("shardproxy_backend_info", backend=f"127.0.0.1:{p}", keyspace="shop")
    check(f"backend {p} info", info == 1, info)
pool = sum(get("shardproxy_pool_connections", backend=f"127.0.0.1:{p}", state="open") for p in ports[:2])
check("pool connections open to the primaries >= 2", pool >= 2, pool)
check("no thread missing", get("shardproxy_scrape_threads_missing") == 0,
      get("shardproxy_scrape_threads_missing"))
for b in bad:
    print("FAIL  /metrics format: " + b)
for what, ok, got in checks:
    shown = f"{got:g}" if isinstance(got, (int, float)) else str(got)
    print(("PASS  " if ok else "FAIL  ") + f"/metrics: {what} (got {shown})")
print(f"PASS  /metrics: {len(samples)} samples in {len(types)} families" if not bad else "")
sys.exit(1 if bad or not all(ok for _, ok, _ in checks) else 0)
EOF

step "query digests and shard-key advice (admin port)"
script=""
for i in $(seq 1 10); do script+="select id from t where v = $i;"; done
out=$(app_sql "$script") || fail "selects by v: $out"
out=$(admin "SHOW QUERY DIGEST ORDER BY count LIMIT 1")
# digest keyspace text count total avg min max p99 rows errors single scatter avg_shards evicted
IFS=$'\t' read -r _ ks text count _ _ _ _ _ rows errors single scatter _ _ <<<"$out"
if [[ $text == "SELECT v FROM t WHERE id = ?" && $count == 40 && $single == 40 && $scatter == 0 &&
      $rows == 40 && $errors == 0 && $ks == shop ]]; then
  pass "SHOW QUERY DIGEST: the 40 point selects are one digest, 40 single-shard executions, 40 rows"
else
  fail "SHOW QUERY DIGEST ORDER BY count LIMIT 1: $out"
fi
out=$(admin "SHOW QUERY DIGEST ORDER BY scatter LIMIT 1")
IFS=$'\t' read -r _ _ text count _ _ _ _ _ rows _ single scatter avg _ <<<"$out"
[[ $text == "SELECT id FROM t WHERE v = ?" && $count == 10 && $scatter == 10 && $avg == 2.00 &&
   $rows == 10 ]] \
  && pass "the 10 selects by v (lower case, other literals) are one digest, 10 scatters over 2 shards, 10 rows" \
  || fail "SHOW QUERY DIGEST ORDER BY scatter LIMIT 1: $out"
out=$(admin "SHOW SHARD KEY ADVICE FOR shop")
IFS=$'\t' read -r ks table column current saved _ _ _ _ <<<"$(head -1 <<<"$out")"
[[ $table == t && $column == v && $current == id && $saved == 10 ]] \
  && pass "SHOW SHARD KEY ADVICE: t.v would make the 10 scatter selects single-shard" \
  || fail "SHOW SHARD KEY ADVICE FOR shop: $out"
out=$(admin "SHOW SHARD KEY ADVICE FOR nosuch")
[[ $out == *1146* ]] && pass "advice for an unknown keyspace: 1146" || fail "advice nosuch: $out"
admin_ok "RESET QUERY DIGEST"
out=$(admin "SHOW QUERY DIGEST")
[[ -z $out ]] && pass "RESET QUERY DIGEST empties them" || fail "after RESET QUERY DIGEST: $out"
# Prepared statements (COM_STMT_PREPARE / EXECUTE, DBD::MariaDB with server-side prepare) count
# under their statement's digest, like the same text sent as COM_QUERY.
perl -MDBI -e '
  my $dbh = DBI->connect("DBI:MariaDB:database=shop;host=127.0.0.1;port=$ARGV[0];mariadb_server_prepare=1",
                         "app", "secret", {RaiseError => 1});
  my $sth = $dbh->prepare("SELECT v FROM t WHERE id = ?");
  for my $i (1 .. 5) { $sth->execute($i); $sth->fetchall_arrayref(); }
  $dbh->do("SELECT v FROM t WHERE id = 9");' "$app_port" >"$work/perl.log" 2>&1 \
  || fail "DBD::MariaDB: $(cat "$work/perl.log")"
out=$(admin "SHOW QUERY DIGEST ORDER BY count LIMIT 1")
IFS=$'\t' read -r _ _ text count _ _ _ _ _ rows _ single _ _ _ <<<"$out"
[[ $text == "SELECT v FROM t WHERE id = ?" && $count == 6 && $single == 6 && $rows == 6 ]] \
  && pass "after the reset: 5 prepared executions and 1 text query of one shape, one digest (6)" \
  || fail "prepared executions' digest: $out"

step "the slow-statement log and the Grafana dashboard's queries"
out=$(app_sql "SELECT SLEEP(0.5), v FROM t WHERE id = 3")
sleep 0.2
line=$(grep '"module":"slow"' "$work/proxy.log" | tail -1)
/usr/bin/python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["keyspace"] == "shop" and d["shards"] == 1 and d["rows"] == 1 and d["ms"] >= 300, d
assert d["shard"] in ("-80", "80-") and d["conn"] > 0, d
assert d["text"] == "SELECT SLEEP(?), v FROM t WHERE id = ?" and d["error"] == 0 and d["user"] == "app", d
' "$line" 2>"$work/slow.err" \
  && pass "--slow-query-ms 300: one JSON line for a 0.5 s statement (conn, fingerprint, keyspace, shard, rows, ms)" \
  || fail "slow log: [$line] $(tail -1 "$work/slow.err")"
[[ $(grep -c '"module":"slow"' "$work/proxy.log") == 1 ]] && pass "faster statements are not logged as slow" \
  || fail "slow lines: $(grep -c '"module":"slow"' "$work/proxy.log")"
curl -s "http://127.0.0.1:$http_port/metrics" >"$work/metrics2.txt"
/usr/bin/python3 - "$root/docker/grafana/dashboards/shardproxy.json" "$work/metrics2.txt" <<'PY' || failed=1
import json, re, sys
dash = json.load(open(sys.argv[1]))
scrape = open(sys.argv[2]).read()
families = set(re.findall(r"^# TYPE (\S+) ", scrape, re.M))
used = set()
for p in dash["panels"]:
    for t in p.get("targets", []):
        used.update(re.findall(r"shardproxy_[a-z_]+", t["expr"]))
missing = sorted(n for n in used if n not in families and re.sub(r"_(bucket|sum|count)$", "", n) not in families)
print(("PASS  " if not missing else "FAIL  ") +
      f"the Grafana dashboard's {len(dash['panels'])} panels query {len(used)} metrics, all exported"
      + (f" (missing: {missing})" if missing else ""))
sys.exit(1 if missing else 0)
PY

step "structured log lines"
out=$(app_sql "SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM t")
[[ $out == *1235* ]] && pass "a scatter window function is refused (1235)" || fail "expected 1235: $out"
sleep 0.2
/usr/bin/python3 - "$work/proxy.log" <<'PY' || failed=1
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
docs, bad = [], []
for l in lines:
    try:
        docs.append(json.loads(l))
    except ValueError:
        bad.append(l)
def one(pred, what):
    hits = [d for d in docs if pred(d)]
    ok = bool(hits)
    print(("PASS  " if ok else "FAIL  ") + what + ("" if ok else f" (no such line among {len(docs)})"))
    return ok
ok = not bad
print(("PASS  " if ok else "FAIL  ") + f"all {len(lines)} log lines are JSON objects" + ("" if ok else f": {bad[:2]}"))
ok &= one(lambda d: d.get("error") == 1235 and d.get("keyspace") == "shop" and d.get("conn", 0) > 0
          and d.get("user") == "app" and d.get("host") == "127.0.0.1" and "shard" not in d
          and "window" in d["msg"].lower(),
          "the refused statement: conn, user, host, keyspace shop, error 1235, no single shard")
ok &= one(lambda d: d.get("error") == 1054 and d.get("keyspace") == "shop"
          and d.get("shard") in ("-80", "80-") and d.get("conn", 0) > 0,
          "the server's 1054 (--log-statement-errors all): keyspace shop and the shard it ran on")
ok &= one(lambda d: d.get("error") == 1045 and d.get("user") == "app" and d.get("conn", 0) > 0,
          "the failed login: conn, user, error 1045")
sys.exit(0 if ok else 1)
PY

step "readiness when the primaries are gone"
"$root/scripts/cluster" kill "$work/cluster" shard0-primary >/dev/null 2>&1
"$root/scripts/cluster" kill "$work/cluster" shard1-primary >/dev/null 2>&1
ready=""
for _ in $(seq 100); do
  ready=$(code_of "http://127.0.0.1:$http_port/readyz")
  [[ $ready == 503 ]] && break
  sleep 0.1
done
if [[ $ready == 503 && $(cat "$work/body") == *"keyspace shop"* ]]; then
  pass "/readyz 503 naming keyspace shop once both primaries stopped"
else
  fail "/readyz $ready: $(cat "$work/body")"
fi
[[ $(code_of "http://127.0.0.1:$http_port/healthz") == 200 ]] && pass "/healthz still 200" \
  || fail "/healthz after the primaries stopped"
/usr/bin/python3 - "$work/proxy.log" <<'PY' && pass "the health checker's 'primary is down' lines name keyspace shop and their shard" || fail "no structured health line: $(grep 'is down' "$work/proxy.log" | head -2)"
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
down = {d.get("shard") for d in docs if "is down" in d.get("msg", "") and d.get("keyspace") == "shop"}
sys.exit(0 if down == {"-80", "80-"} else 1)
PY
kill -0 "$proxy_pid" 2>/dev/null && pass "the proxy kept running" || fail "the proxy died"
echo "$TEST_NAME: $([[ $failed == 0 ]] && echo PASSED || echo FAILED) in $((SECONDS - t_start)) s"
exit $failed
