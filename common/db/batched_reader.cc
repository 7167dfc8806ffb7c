#include "common/db/batched_reader.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace marketplace::common::db {

BatchedReader::BatchedReader(ConnectionPool* pool, Options options)
    : pool_(pool), options_(std::move(options)) {
  const int max_batch = std::max(1, options_.max_batch);
  for (int n = 1;; n *= 2) {
    const int size = std::min(n, max_batch);
    statements_.push_back({static_cast<size_t>(size),
                           absl::StrCat("SELECT ", options_.columns, " FROM ", options_.table,
                                        " WHERE ", options_.key_column, " IN (",
                                        PlaceholderList(static_cast<size_t>(size)), ")")});
    if (size == max_batch) break;
  }
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

BatchedReader::~BatchedReader() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void BatchedReader::Read(std::string key, Done done) {
  bool full = false;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ && static_cast<int>(queue_.size()) < options_.max_queue) {
      queue_.push_back({std::move(key), std::move(done)});
      return;
    }
    full = !stopping_;
  }
  if (full) {
    done(absl::ResourceExhaustedError(absl::StrCat(
        "server busy: ", options_.max_queue, " reads of ", options_.table, " already queued")));
  } else {
    done(absl::UnavailableError("server shutting down"));
  }
}

BatchedReader::Stats BatchedReader::GetStats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

const BatchedReader::Sized& BatchedReader::Statement(size_t keys) const {
  for (const Sized& s : statements_) {
    if (s.placeholders >= keys) return s;
  }
  return statements_.back();  // keys never exceed max_batch, the last size
}

void BatchedReader::Loop() {
  std::vector<Pending> batch;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping, and every read answered
      const size_t n = std::min(queue_.size(), static_cast<size_t>(std::max(1, options_.max_batch)));
      batch.clear();
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    RunBatch(batch);
  }
}

void BatchedReader::RunBatch(std::vector<Pending>& batch) {
  auto normal = [this](absl::string_view key) {
    return options_.ascii_case_insensitive ? absl::AsciiStrToLower(key) : std::string(key);
  };
  // The distinct keys, and who waits for each.
  absl::flat_hash_map<std::string, std::vector<size_t>> waiting;
  std::vector<SqlValue> params;
  for (size_t i = 0; i < batch.size(); ++i) {
    auto [it, inserted] = waiting.try_emplace(normal(batch[i].key));
    if (inserted) params.push_back(batch[i].key);
    it->second.push_back(i);
  }
  const Sized& statement = Statement(params.size());
  // Padded with the last key: the same row again, which IN returns once.
  while (params.size() < statement.placeholders) params.push_back(params.back());

  absl::StatusOr<std::vector<Row>> rows = pool_->Query(statement.sql, params);
  {
    absl::MutexLock lock(&mu_);
    stats_.reads += static_cast<int64_t>(batch.size());
    ++stats_.statements;
  }
  if (!rows.ok()) {
    for (Pending& p : batch) p.done(rows.status());
    return;
  }
  std::vector<bool> answered(batch.size(), false);
  for (Row& row : *rows) {
    absl::StatusOr<std::string> key = row.GetString(options_.key_column);
    if (!key.ok()) {
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!answered[i]) batch[i].done(key.status());
      }
      return;
    }
    auto it = waiting.find(normal(*key));
    if (it == waiting.end()) continue;
    std::vector<size_t>& readers = it->second;
    for (size_t k = 0; k < readers.size(); ++k) {
      const size_t i = readers[k];
      if (answered[i]) continue;  // a unique key has one row; the first one counts
      answered[i] = true;
      // The last reader of the key takes the row itself, the others a copy.
      batch[i].done(k + 1 == readers.size() ? std::optional<Row>(std::move(row))
                                            : std::optional<Row>(row));
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!answered[i]) batch[i].done(std::optional<Row>());
  }
}

}  // namespace marketplace::common::db
