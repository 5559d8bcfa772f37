-- Runs once per MySQL container, on first start with an empty data directory
-- (mounted at /docker-entrypoint-initdb.d), on primaries and replicas alike.
--
-- Not binlogged: every node creates these users itself, so the primaries' GTID history stays
-- empty and a replica that connects with SOURCE_AUTO_POSITION=1 does not replay CREATE USER
-- statements for users it already has.
SET SESSION sql_log_bin = 0;

-- Application user, used by clients through shardproxy and by shardproxy towards the shards.
-- Data and schema privileges only: no SUPER / CONNECTION_ADMIN, so read_only on the
-- replicas applies to it.
CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED WITH mysql_native_password BY 'secret';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, REFERENCES,
      CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW,
      CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER
  ON *.* TO 'app'@'%';

-- Replication user, used by the replicas (see docker/replica-setup.sh).
CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED WITH mysql_native_password BY 'replpass';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%';

SET SESSION sql_log_bin = 1;

-- The sharded keyspace's database on every shard (docker/shardproxy.json: keyspace shop).
CREATE DATABASE IF NOT EXISTS shop;
