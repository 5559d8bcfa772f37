#!/usr/bin/env bash
# Multibyte character sets whose two-byte characters can end in '\' (sjis, cp932, big5, gbk):
# shardproxy must read statements in them as the server does. A 2-shard keyspace (lexdb) and a
# reference database on a third server; charset_lexing.py sends random strings through both
# (differential: same acceptance, same error, same stored bytes), then fixed checks: the issue's
# INSERT of 'ソ' in sjis on a sharded keyspace, SET NAMES switching the lexer.
# Usage: charset_lexing_test.sh [SEED] [COUNT]   (SHARDPROXY_BIN overrides build/shardproxy)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${SHARDPROXY_BIN:-$root/build/shardproxy}"
work="$(mktemp -d /tmp/sp-lex.XXXXXX)"
proxy_pid=""
failed=0
TEST_NAME=charset_lexing_test
t_start=$SECONDS
# shellcheck source=tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
trap cleanup_work EXIT
trap 'exit 130' INT TERM

lines="$("$root/scripts/cluster" up "$work/cluster" --shards 3 --replicas 0 2>"$work/cluster.log")" \
  || { cat "$work/cluster.log"; die "scripts/cluster up failed"; }
p0=$(field "$lines" 0 primary port); p1=$(field "$lines" 1 primary port); p2=$(field "$lines" 2 primary port)
app_port=$(free_port); admin_port=$(free_port)
while [[ $admin_port == "$app_port" ]]; do admin_port=$(free_port); done
"$bin" --catalog "$work/catalog.db" --listen "127.0.0.1:$app_port" --user app:secret \
  --admin-listen "127.0.0.1:$admin_port" --admin-user admin:adminpw --threads 2 >"$work/proxy.log" 2>&1 &
proxy_pid=$!
wait_admin_up
admin_all "CREATE KEYSPACE lexdb SHARDED" \
  "CREATE SHARD lexdb.\`-80\` PRIMARY '127.0.0.1:$p0'" \
  "CREATE SHARD lexdb.\`80-\` PRIMARY '127.0.0.1:$p1'" \
  "CREATE SHARDED TABLE lexdb.lx SHARD KEY (id)"
table="CREATE TABLE lx (id INT PRIMARY KEY, cs VARCHAR(8), s VARBINARY(200))"
for p in $p0 $p1; do root_sql "$p" "CREATE DATABASE lexdb; USE lexdb; $table" >/dev/null || die "lexdb on $p"; done
root_sql "$p2" "CREATE DATABASE lexref; USE lexref; $table" >/dev/null || die "lexref"
pass "keyspace lexdb on 2 shards, reference database lexref on $p2"

/usr/bin/python3 "$root/tests/integration/charset_lexing.py" "$app_port" "$p2" "${1:-20261205}" "${2:-400}" \
  || failed=1

# The issue's case: 'ソ' (0x83 0x5C) in sjis into a sharded table.
out=$(printf "SET NAMES sjis; INSERT INTO lx (id, cs, s) VALUES (900001, 'sjis', '\x83\x5c'); SELECT HEX(s) FROM lx WHERE id = 900001;" \
  | mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B lexdb 2>&1)
[[ $out == 835C ]] && pass "INSERT ... 'ソ' in sjis on a sharded keyspace is accepted and stored as 835C" \
  || fail "sjis 'ソ': [$out]"
# After SET NAMES utf8mb4 the same bytes are no longer one character: the proxy reads the
# backslash as the server does (here: an escaped quote, so the string is unterminated → 1064).
out=$(printf "SET NAMES latin1; INSERT INTO lx (id, cs, s) VALUES (900002, 'latin1', '\x83\x5c');" \
  | mariadb -h127.0.0.1 -P"$app_port" -uapp -psecret -N -B lexdb 2>&1)
[[ $out == *1064* ]] && pass "after SET NAMES latin1 the same bytes are read as an escape, as the server reads them (1064)" \
  || fail "latin1: [$out]"
echo "$TEST_NAME: $([[ $failed == 0 ]] && echo PASSED || echo FAILED) in $((SECONDS - t_start)) s"
exit $failed
