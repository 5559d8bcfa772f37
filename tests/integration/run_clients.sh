#!/usr/bin/env bash
# Runs the real-client integration tests in tests/integration/clients/ against one MySQL
# endpoint (a mariadbd, or the proxy in front of a cluster) and prints PASS/FAIL per client.
#
#   SP_HOST=127.0.0.1 SP_PORT=3307 SP_USER=app SP_PASSWORD=secret SP_DB=app \
#     tests/integration/run_clients.sh [CLIENT...]
#
# CLIENT is any of: mariadb_cli pymysql node_mysql2 perl_dbd sysbench_rw (default: all).
# SP_HOST/SP_USER/SP_PASSWORD default to 127.0.0.1/app/secret; SP_PORT and SP_DB are required.
# Each client's full output goes to $SP_LOG_DIR/<client>.log (default: a new /tmp directory),
# and the tail of a failing one is printed. Exits 1 when any client failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=$here/clients
[[ -n ${SP_PORT:-} && -n ${SP_DB:-} ]] || { echo "run_clients: set SP_PORT and SP_DB (and SP_HOST, SP_USER, SP_PASSWORD)" >&2; exit 2; }
export SP_HOST=${SP_HOST:-127.0.0.1} SP_USER=${SP_USER:-app} SP_PASSWORD=${SP_PASSWORD-secret} SP_PORT SP_DB
logs=${SP_LOG_DIR:-$(mktemp -d /tmp/sp-clients.XXXXXX)}
mkdir -p "$logs"
timeout_s=${SP_CLIENT_TIMEOUT:-300}

declare -A cmd=(
  [mariadb_cli]="bash $dir/mariadb_cli.sh"
  [pymysql]="/usr/bin/python3 $dir/pymysql_test.py"
  [node_mysql2]="node $dir/node_mysql2_test.js"
  [perl_dbd]="perl $dir/perl_dbd_test.pl"
  [sysbench_rw]="bash $dir/sysbench_rw.sh"
)
all=(mariadb_cli pymysql node_mysql2 perl_dbd sysbench_rw)
selected=("$@")
((${#selected[@]})) || selected=("${all[@]}")
for c in "${selected[@]}"; do
  [[ -n ${cmd[$c]:-} ]] || { echo "run_clients: unknown client '$c' (known: ${all[*]})" >&2; exit 2; }
done

echo "run_clients: $SP_USER@$SP_HOST:$SP_PORT/$SP_DB, logs in $logs"
passed=0 failed=0 failed_names=()
for c in "${selected[@]}"; do
  t0=$(date +%s.%N)
  rc=0
  # shellcheck disable=SC2086  # cmd entries are "interpreter path"
  timeout "$timeout_s" ${cmd[$c]} </dev/null >"$logs/$c.log" 2>&1 || rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if ((rc == 0)); then
    printf 'PASS  %-12s %6ss\n' "$c" "$secs"
    ((passed++))
  else
    why=$([[ $rc == 124 ]] && echo " (timed out after ${timeout_s}s)" || echo " (exit $rc)")
    printf 'FAIL  %-12s %6ss%s\n' "$c" "$secs" "$why"
    tail -n 15 "$logs/$c.log" | sed 's/^/      | /'
    ((failed++))
    failed_names+=("$c")
  fi
done
((failed == 0)) || echo "run_clients: failed: ${failed_names[*]}"
echo "clients: $passed passed, $failed failed"
((failed == 0))
