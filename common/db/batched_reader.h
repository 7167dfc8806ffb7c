#ifndef MARKETPLACE_COMMON_DB_BATCHED_READER_H_
#define MARKETPLACE_COMMON_DB_BATCHED_READER_H_

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/db/connection_pool.h"
#include "common/db/sql_value.h"

namespace marketplace::common::db {

// Reads single rows by a unique key for many callers at once: the keys asked for while a
// batch is at the database are read together by the next batch, in one statement
//
//   SELECT <columns> FROM <table> WHERE <key_column> IN (?, ?, ...)
//
// on the reader's own threads, so N point reads in flight cost about one round trip and no
// blocked thread each. A read asked for while the database is idle goes at once, alone: the
// batching adds no wait. Results reach the caller through a callback.
//
// Rows are matched to keys by the key column's value; with `ascii_case_insensitive` set
// (a column in a _ci collation of ASCII text) 'ABC' finds the row 'abc' as `key = ?` would.
//
// Thread-safe. The destructor answers every queued read (they still run) and joins.
class BatchedReader {
 public:
  struct Options {
    std::string table;       // e.g. "listings"
    std::string columns;     // selected columns, comma-separated; must include key_column
    std::string key_column;  // a unique key of the table
    bool ascii_case_insensitive = false;
    int threads = 2;     // batches at the database at once (each holds a pool connection)
    int max_batch = 64;  // keys in one statement
    int max_queue = 4096;  // reads waiting beyond: answered RESOURCE_EXHAUSTED at once
  };

  // The row of the key, nullopt when there is none, or the statement's error.
  using Done = std::function<void(absl::StatusOr<std::optional<Row>>)>;

  // `pool` must outlive the reader.
  BatchedReader(ConnectionPool* pool, Options options);
  ~BatchedReader();

  BatchedReader(const BatchedReader&) = delete;
  BatchedReader& operator=(const BatchedReader&) = delete;

  // Calls `done` exactly once: from a reader thread, or before returning when the queue is
  // full (RESOURCE_EXHAUSTED) or the reader is shutting down (UNAVAILABLE).
  void Read(std::string key, Done done);

  struct Stats {
    int64_t reads = 0;       // reads answered from the database
    int64_t statements = 0;  // statements that answered them
  };
  Stats GetStats() const;

 private:
  struct Pending {
    std::string key;
    Done done;
  };

  void Loop();
  void RunBatch(std::vector<Pending>& batch);
  struct Sized {
    size_t placeholders;
    std::string sql;
  };
  // The smallest statement with room for `keys` keys.
  const Sized& Statement(size_t keys) const;

  ConnectionPool* const pool_;
  const Options options_;
  // SELECT ... IN (?) with 1, 2, 4, ... placeholders: a batch is padded to the next size, so
  // a connection prepares a handful of statements, not one per batch size.
  std::vector<Sized> statements_;

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace marketplace::common::db

#endif  // MARKETPLACE_COMMON_DB_BATCHED_READER_H_
