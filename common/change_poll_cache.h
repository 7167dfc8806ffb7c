#ifndef MARKETPLACE_COMMON_CHANGE_POLL_CACHE_H_
#define MARKETPLACE_COMMON_CHANGE_POLL_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/periodic.h"

namespace marketplace::common {

struct ChangePollCacheOptions {
  // Longest a value is kept. It bounds staleness only when the change poll cannot see a change
  // (a write committed more than `overlap` after its change time); zero: no cache at all.
  absl::Duration ttl = absl::ZeroDuration();
  // How often the source is asked which rows changed; a change made through another replica
  // shows in this replica's cache within about this long.
  absl::Duration poll_interval = absl::Milliseconds(200);
  // A poll asks for the rows changed since the previous poll began minus `recent_overlap`
  // (time between a write's change time and its commit, clock differences between replicas
  // and the database); every `full_poll_interval` a poll goes back `overlap` before the
  // previous such full poll instead, for writes that committed later still.
  absl::Duration recent_overlap = absl::Seconds(2);
  absl::Duration full_poll_interval = absl::Seconds(5);
  absl::Duration overlap = absl::Seconds(30);
  // Values are served only while the last successful poll began less than this long ago: a
  // replica that cannot poll (database unreachable) reads the database instead.
  absl::Duration max_poll_age = absl::Seconds(2);
  // Most values kept (the cache is emptied when full).
  size_t capacity = 200000;
};

// What a cache reports (hits, misses, evictions, failed polls); every method may be called
// from any thread.
class ChangePollCacheObserver {
 public:
  virtual ~ChangePollCacheObserver() = default;
  virtual void OnHit() {}
  virtual void OnMiss() {}
  virtual void OnEvictions(int64_t /*count*/) {}
  virtual void OnPollFailure() {}
};

// Values read from a database table, kept in memory and kept coherent with it across
// replicas: a poller asks the source for (key, change time) of the rows changed since its last
// poll (every write of a row moves its change time forward) and evicts them, and a replica's
// own writes evict their keys at once (Evict, after the commit). A value read while its row
// changed is not stored: each read carries a ticket taken before it, and an eviction newer
// than the ticket wins. Keys compare byte for byte (the column's collation must be binary).
// Thread-safe.
//
// This is the type-erased core; ChangePollCache<V> below is the typed face.
class ChangePollCacheCore {
 public:
  // The keys and change times of the rows changed at or after `from`.
  using ChangedSinceFn =
      std::function<absl::StatusOr<std::vector<std::pair<std::string, absl::Time>>>(
          absl::Time from)>;

  // `clock` must outlive the cache: it is the clock writes stamp the change times with.
  // `observer` may be null; otherwise it must outlive the cache.
  ChangePollCacheCore(ChangedSinceFn changed_since, const Clock* clock,
                      ChangePollCacheOptions options, ChangePollCacheObserver* observer);
  ~ChangePollCacheCore();  // stops polling
  ChangePollCacheCore(const ChangePollCacheCore&) = delete;
  ChangePollCacheCore& operator=(const ChangePollCacheCore&) = delete;

  bool enabled() const { return options_.ttl > absl::ZeroDuration(); }
  // Starts the poller thread (nothing when the cache is disabled).
  void StartPolling();

  struct Ticket {
    uint64_t epoch = 0;
    absl::Time taken;
  };
  // Taken before reading a row from the database; Put() needs it.
  Ticket BeginRead();

  // Evicts `key` now (this replica's write of it has committed).
  void Evict(absl::string_view key);

  // One poll: evicts the keys changed since the previous one.
  absl::Status Poll();

  struct Totals {
    int64_t hits = 0, misses = 0, evictions = 0, polls = 0, poll_failures = 0;
  };
  Totals totals() const;

 protected:
  std::shared_ptr<const void> FindErased(absl::string_view key);
  void PutErased(absl::string_view key, std::shared_ptr<const void> value, const Ticket& ticket);

 private:
  struct Entry {
    std::shared_ptr<const void> value;
    absl::Time expires_at;
  };
  struct Eviction {
    uint64_t epoch;
    absl::Time at;
  };

  // Records the eviction of `keys` under mu_ (a new epoch) and reports the count. Evictions
  // older than kEvictionMemory are forgotten by Poll.
  void EvictLocked(std::vector<std::string> keys, absl::Time at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ChangedSinceFn changed_since_;
  const Clock* clock_;
  const ChangePollCacheOptions options_;
  ChangePollCacheObserver* const observer_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  // Keys evicted lately, with the epoch of their eviction (reads with an older ticket do not
  // store them).
  absl::flat_hash_map<std::string, Eviction> evicted_ ABSL_GUARDED_BY(mu_);
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_poll_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t polls_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t poll_failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> hits_{0}, misses_{0};

  // The poller's own state: when the last successful poll and full poll began, and the change
  // time of each row seen in the overlap window (a row seen again unchanged is not evicted
  // again).
  absl::Mutex poll_mu_;
  absl::Time last_start_ ABSL_GUARDED_BY(poll_mu_);
  absl::Time last_full_start_ ABSL_GUARDED_BY(poll_mu_);
  absl::flat_hash_map<std::string, absl::Time> seen_ ABSL_GUARDED_BY(poll_mu_);

  PeriodicThread poller_;  // last: stopped first
};

template <typename V>
class ChangePollCache : public ChangePollCacheCore {
 public:
  using ChangePollCacheCore::ChangePollCacheCore;

  // The cached value of `key`, or nullptr (not cached, expired, or polls behind).
  std::shared_ptr<const V> Find(absl::string_view key) {
    return std::static_pointer_cast<const V>(FindErased(key));
  }
  // Stores `value`, read with `ticket`, unless `key` was evicted since the ticket was taken.
  void Put(absl::string_view key, V value, const Ticket& ticket) {
    if (!enabled()) return;  // no copy for a disabled cache
    PutErased(key, std::make_shared<const V>(std::move(value)), ticket);
  }
};

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_CHANGE_POLL_CACHE_H_
