#!/usr/bin/env bash
# The proxy's backend client against a caching_sha2_password server. MariaDB 10.11 has no
# caching_sha2 server plugin, so the server here is a second shardproxy started with
# --auth-plugin caching_sha2_password (in front of MariaDB): proxy A → proxy B → MariaDB.
#   first login from A to B: full authentication (RSA key exchange without TLS, cleartext with TLS)
#   later logins: the fast path (B caches the user after a full authentication)
# A and A2 also present caching_sha2_password, so the mariadb CLI's full authentication (over TLS,
# the CLI's default) gives them SHA256(pw) and the password — what B's two paths need.
# Usage: backend_auth_test.sh BACKEND_PORT   (a MariaDB primary with app:secret)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
backend_port="$1"
work="$(mktemp -d /tmp/sp-bauth.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_proxy() {  # name, port, args...
  local name="$1" port="$2"; shift 2
  "$bin" --listen "127.0.0.1:$port" --threads 1 --log-level warn --catalog "$work/$name.db" \
    --admin-listen off "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.1; done
  echo "FAIL: $name did not start"; cat "$work/$name.log"; exit 1
}
query() { mariadb -h127.0.0.1 -P"$1" -uapp -psecret -N -B -e "$2"; }
failed=0
check() {  # description, expected, actual
  if [[ "$2" == "$3" ]]; then echo "PASS  $1"; else echo "FAIL  $1: expected '$2', got '$3'"; failed=1; fi
}

for mode in rsa tls; do
  b_port="$(free_port)"; a_port="$(free_port)"
  start_proxy "b-$mode" "$b_port" --backend "127.0.0.1:$backend_port" --user app:secret \
    --auth-plugin caching_sha2_password
  extra=(); [[ "$mode" == tls ]] && extra=(--backend-tls)
  # --ping-after-idle-ms 0 and a fresh connection per query make every query a new B login.
  start_proxy "a-$mode" "$a_port" --backend "127.0.0.1:$b_port" --user app:secret \
    --pool-max 1 --auth-plugin caching_sha2_password "${extra[@]}"
  check "A→B ($mode): first login is a full authentication" "42" "$(query "$a_port" 'SELECT 42' 2>&1)"
  # A's pooled connection is reused; force new B logins by killing B's backend sessions via a new A.
  a2_port="$(free_port)"
  start_proxy "a2-$mode" "$a2_port" --backend "127.0.0.1:$b_port" --user app:secret \
    --auth-plugin caching_sha2_password "${extra[@]}"
  check "A2→B ($mode): second login takes the fast path" "43" "$(query "$a2_port" 'SELECT 43' 2>&1)"
  bad_port="$(free_port)"
  start_proxy "bad-$mode" "$bad_port" --backend "127.0.0.1:$b_port" --user app:wrong "${extra[@]}"
  out="$(mariadb -h127.0.0.1 -P"$bad_port" -uapp -pwrong -N -B -e 'SELECT 1' 2>&1 || true)"
  if [[ "$out" == *"1045"* && "$out" == *"127.0.0.1:$b_port"* ]]; then
    echo "PASS  wrong backend password ($mode) → 1045 naming the backend"
  else
    echo "FAIL  wrong backend password ($mode): $out"; failed=1
  fi
done
exit "$failed"
