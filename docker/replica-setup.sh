#!/usr/bin/env bash
# One-shot replication setup for docker/docker-compose.yml (service "replica-setup").
# Arguments: PRIMARY:REPLICA host pairs, e.g. shard0-primary:shard0-replica.
# Runs after every MySQL service is healthy. Idempotent: a replica that already has a
# replication source is only (re)started, never reset.
set -euo pipefail

: "${MYSQL_ROOT_PASSWORD:?MYSQL_ROOT_PASSWORD must be set}"
REPL_USER="${REPL_USER:-repl}"
REPL_PASSWORD="${REPL_PASSWORD:-replpass}"
export MYSQL_PWD="$MYSQL_ROOT_PASSWORD"

sql() { # sql HOST STATEMENTS...
  local host="$1"; shift
  mysql --protocol=tcp -h"$host" -P3306 -uroot --batch --skip-column-names -e "$*"
}

replica_field() { # replica_field HOST FIELD -> value from SHOW REPLICA STATUS
  mysql --protocol=tcp -h"$1" -P3306 -uroot -e 'SHOW REPLICA STATUS\G' |
    awk -v f="$2" '{ k = $0; sub(/^ */, "", k); sub(/:.*/, "", k) }
                   k == f { print substr($0, index($0, ": ") + 2); exit }'
}

setup_pair() {
  local primary="$1" replica="$2"
  if [[ -n "$(replica_field "$replica" Source_Host)" ]]; then
    echo "replica-setup: $replica already replicates from $(replica_field "$replica" Source_Host)"
    sql "$replica" "START REPLICA"
  else
    echo "replica-setup: $replica <- $primary (GTID auto-position)"
    # A fresh replica must not carry GTIDs of its own (errant transactions).
    sql "$replica" "RESET MASTER;
      CHANGE REPLICATION SOURCE TO
        SOURCE_HOST='$primary', SOURCE_PORT=3306,
        SOURCE_USER='$REPL_USER', SOURCE_PASSWORD='$REPL_PASSWORD',
        SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=2;
      START REPLICA"
  fi

  local io sql_thread
  for _ in $(seq 1 60); do
    io="$(replica_field "$replica" Replica_IO_Running)"
    sql_thread="$(replica_field "$replica" Replica_SQL_Running)"
    if [[ "$io" == "Yes" && "$sql_thread" == "Yes" ]]; then
      echo "replica-setup: $replica replicating (IO=$io SQL=$sql_thread)"
      return 0
    fi
    sleep 1
  done
  echo "replica-setup: $replica not replicating (IO=$io SQL=$sql_thread)" >&2
  echo "  Last_IO_Error:  $(replica_field "$replica" Last_IO_Error)" >&2
  echo "  Last_SQL_Error: $(replica_field "$replica" Last_SQL_Error)" >&2
  return 1
}

(($# > 0)) || { echo "usage: $0 PRIMARY:REPLICA..." >&2; exit 2; }
for pair in "$@"; do
  setup_pair "${pair%%:*}" "${pair##*:}"
done
echo "replica-setup: done"
