// One stream worker: the copy of one source shard's rows and the binlog catch-up from it, on its
// own thread, until the coordinator stops it.
//
// Correctness (docs/resharding.md, "Why nothing is lost"): the applier never writes a row image
// from the binlog. For each changed primary key at or below the table's copy cursor it re-reads
// the row on the source primary with a locking read (which waits for a transaction that is in the
// binlog but not yet committed in InnoDB) and writes what it finds — the row to the shard that
// owns it, a delete everywhere else. Each copy chunk is read in a consistent snapshot whose binlog
// position is at or after everything the applier has applied, so an event the applier skipped
// (its key was beyond the cursor) is inside the snapshot. A row deleted during the copy is either
// not in its chunk's snapshot, or deleted by the re-read of a later event: it never comes back.
// Every step is idempotent (REPLACE, DELETE by key), so resuming from the saved cursor and stream
// position after a crash repeats work but loses nothing.
#pragma once

#include <cstddef>

#include "run_context.h"

namespace shardproxy::migrations {

// Runs the worker for ctx.from[index] until ctx.stop; errors are retried after a pause (a source
// or target restarting is survived) and reported in the progress.
void runStreamWorker(RunContext& ctx, std::size_t index);

}  // namespace shardproxy::migrations
