#!/usr/bin/env bash
# Memory of a streamed multi-shard merge: a local 4-shard cluster (one primary each), a table of
# 5,000,000 rows (~100-byte pad) spread over the shards, and one unbuffered client (`mariadb
# --quick`, mysql_use_result) reading `SELECT id, pad FROM t ORDER BY id` through shardproxy while
# the proxy's VmRSS (/proc/PID/status) is sampled every 100 ms. The k-way merge holds one row per
# shard and waits for the client (merge_engine.h), so the proxy's memory must not follow the
# result's size: PASS when max RSS during the query minus RSS before it is under 64 MiB, and every
# row arrives once, in id order, with its own pad.
# The rows are loaded on each shard directly with the SEQUENCE engine, shard s holding the ids
# 4*n + s: placement does not follow the hash (reads do not check it), and every row of the merge
# comes from a different shard than the one before it, the merge's busiest case.
# Not in run_all.sh: about 25 s on the idle 2-core VM (9 s of it loading), 50 s beside a build.
# Usage: merge_rss_test.sh [ROWS]   (default 5000000, a multiple of 4; SHARDPROXY_BIN overrides
#        build/shardproxy; KEEP_WORK=1 keeps the logs)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
rows="${1:-5000000}"
limit_mib=64
work="$(mktemp -d /tmp/sp-merge-rss.XXXXXX)"
proxy_pid=""
failed=0
started=$SECONDS
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap cleanup_work EXIT
trap 'exit 130' INT TERM
[[ $rows =~ ^[1-9][0-9]*$ && $((rows % 4)) == 0 ]] || die "ROWS must be a positive multiple of 4"
[[ -x $bin ]] || die "no shardproxy binary at $bin"

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 4 --replicas 0 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
for i in 0 1 2 3; do declare "p$i=$(field "$lines" $i primary port)"; done
pass "cluster up: 4 primaries $p0 $p1 $p2 $p3"

per=$((rows / 4))
t0=$SECONDS
pids=()
for s in 0 1 2 3; do
  port_var="p$s"
  # A buffer pool that holds the shard's rows keeps the load from writing pages out as it goes.
  mariadb -h127.0.0.1 -P"${!port_var}" -uroot -e "
    SET GLOBAL innodb_buffer_pool_size = 256 * 1024 * 1024;
    CREATE DATABASE IF NOT EXISTS shop; USE shop;
    CREATE TABLE t (id BIGINT PRIMARY KEY, pad VARCHAR(100) NOT NULL);
    INSERT INTO t SELECT seq * 4 + $s, RPAD(CONCAT(seq * 4 + $s, '-'), 100, 'p')
      FROM seq_0_to_$((per - 1));" >"$work/load$s.log" 2>&1 &
  pids+=($!)
done
for s in 0 1 2 3; do wait "${pids[$s]}" || { cat "$work/load$s.log"; die "loading shard $s failed"; }; done
pass "loaded $rows rows ($per per shard) in $((SECONDS - t0)) s"

app_port=$(free_port); admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done
"$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
  --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --health-user root: \
  --threads 2 >"$work/proxy.log" 2>&1 &
proxy_pid=$!
wait_admin_up
setup=("CREATE KEYSPACE shop SHARDED"
  "CREATE SHARD shop.\`-40\` PRIMARY '127.0.0.1:$p0'"
  "CREATE SHARD shop.\`40-80\` PRIMARY '127.0.0.1:$p1'"
  "CREATE SHARD shop.\`80-c0\` PRIMARY '127.0.0.1:$p2'"
  "CREATE SHARD shop.\`c0-\` PRIMARY '127.0.0.1:$p3'"
  "CREATE SHARDED TABLE shop.t SHARD KEY (id)")
admin_all "${setup[@]}"
plan=$(admin "EXPLAIN ROUTE IN shop SELECT id, pad FROM t ORDER BY id")
[[ $(grep -c $'^merge\t' <<<"$plan") == 4 ]] && pass "EXPLAIN ROUTE: a merge over 4 shards" \
  || die "EXPLAIN ROUTE: [$plan]"

# The client and the sampler: RSS before (the proxy idle, configured, no client connected), then
# every 100 ms until the client has read the last row; the reader checks each row as it arrives.
/usr/bin/python3 - "$proxy_pid" "$app_port" "$rows" "$limit_mib" "$work/rss.tsv" <<'EOF'
import subprocess, sys, threading, time

pid, port, rows, limit_mib, trace = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5]


def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


samples, done = [], threading.Event()


def sample():
    t0 = time.monotonic()
    while not done.is_set():
        samples.append((time.monotonic() - t0, rss_kib()))
        done.wait(0.1)
    samples.append((time.monotonic() - t0, rss_kib()))


before = rss_kib()
sampler = threading.Thread(target=sample)
sampler.start()
t0 = time.monotonic()
client = subprocess.Popen(["mariadb", "-h127.0.0.1", f"-P{port}", "-uapp", "-psecret", "--quick",
                           "-N", "-B", "shop", "-e", "SELECT id, pad FROM t ORDER BY id"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
# Row i (from 0) must be id i with pad "i-ppp...": count, order, no row lost, doubled or mixed.
check = subprocess.Popen(["awk", "-F\t", '''
    $1 != NR - 1 { if (!bad) first = NR; bad++ }
    index($2, $1 "-") != 1 || length($2) != 100 { padbad++ }
    END { print NR, bad + 0, padbad + 0, first + 0 }'''],
                         stdin=client.stdout, stdout=subprocess.PIPE, text=True)
client.stdout.close()
out = check.communicate()[0].split()
err = client.communicate()[1].decode().strip()
seconds = time.monotonic() - t0
done.set()
sampler.join()
with open(trace, "w") as f:
    f.writelines("%.2f\t%d\n" % s for s in samples)

failed = False


def verdict(ok, msg):
    global failed
    print(("PASS  " if ok else "FAIL  ") + msg)
    failed |= not ok


got, bad, padbad, first = map(int, out)
verdict(client.returncode == 0, f"client exit {client.returncode} {err}")
verdict(got == rows and bad == 0,
        f"{got} rows of {rows} in id order, first out of place at row {first}" if bad else
        f"{got} rows of {rows}, each id once, in order")
verdict(padbad == 0, f"every row's pad belongs to its id ({padbad} wrong)")
peak = max(r for _, r in samples)
growth = (peak - before) / 1024
print("      stream: %.1f s, %.0f rows/s; RSS before %.1f MiB, max %.1f MiB, after %.1f MiB; "
      "%d samples (trace %s)" % (seconds, rows / seconds, before / 1024, peak / 1024,
                                 samples[-1][1] / 1024, len(samples), trace))
verdict(growth < limit_mib, "proxy RSS growth during the query %.1f MiB (limit %d MiB)"
        % (growth, limit_mib))
sys.exit(1 if failed else 0)
EOF
[[ $? == 0 ]] || failed=1
kill -0 "$proxy_pid" 2>/dev/null && pass "shardproxy still running" || fail "shardproxy exited"
echo "runtime: $((SECONDS - started)) s"
exit $failed
