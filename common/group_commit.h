#ifndef MARKETPLACE_COMMON_GROUP_COMMIT_H_
#define MARKETPLACE_COMMON_GROUP_COMMIT_H_

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace marketplace::common {

// Group commit: callers that arrive while a batch is at the database go together in the next
// batch, so that N concurrent callers share one transaction (its round trips, its multi-row
// statements, its log flush) or one read statement instead of running N. It has no thread of
// its own: a waiting caller that finds a free batch slot runs the next batch for everybody in
// it, and every caller returns once its own item has been run.
//
// A batch takes, in arrival order, the largest number of waiting items in the series 1, 2, 3,
// 4, 6, 8, 12, 16, 24, ... (powers of two and 1.5 times them) up to max_batch, so that the
// multi-row statements a batch sends come in a handful of shapes that the connections keep
// prepared, while a queue is rarely split (7 waiting go as 6 + 1, not 4 + 2 + 1). `run` gets the
// batch's items and returns one result per item in the same order; it decides what a failing batch
// means for its items (typically: run each on its own, so that one bad item does not fail the
// others).
//
// Items may also have a weight (`Options::weight`, e.g. the events a call carries): a batch
// then takes, in arrival order, only the items whose weights sum to at most `max_weight` (the
// first item always, however heavy), before the series applies.
//
// Thread-safe. `run` is called without the committer's lock held, from a caller's thread.
template <typename Item, typename Result>
class GroupCommitter {
 public:
  struct Options {
    size_t max_batch = 16;          // batches take at most the largest size of the series <= this
    int max_batches_in_flight = 2;  // batches at the database at once
    // A batch starts while others are at the database only when at least this many items
    // wait; fewer wait for a batch to finish. Larger batches cost the database less per item
    // (one commit, fewer statements), while the first slot keeps a lone item from waiting.
    size_t min_items_to_overlap = 1;
    // When set with max_weight > 0: a batch's items weigh at most max_weight together.
    std::function<size_t(const Item&)> weight;
    size_t max_weight = 0;
    // false: a batch takes every item waiting that fits (max_batch, max_weight) instead of the
    // series' size, when the statements' shapes do not matter.
    bool sizes_in_series = true;
  };
  using RunFn = std::function<std::vector<Result>(std::vector<Item>& items)>;

  GroupCommitter(RunFn run, Options options) : run_(std::move(run)), options_(options) {}
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Runs `item` in some batch and returns its result.
  Result Submit(Item item) {
    Pending me{std::move(item)};
    absl::MutexLock lock(&mu_);
    queue_.push_back(&me);
    while (!me.result.has_value()) {
      if (!me.taken && MayStartBatch()) {
        RunOneBatch();
        continue;
      }
      struct Ready {
        const Pending* me;
        const GroupCommitter* self;
        bool operator()() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
          return me->result.has_value() || (!me->taken && self->MayStartBatch());
        }
      } ready{&me, this};
      mu_.Await(absl::Condition(&ready));
    }
    return std::move(*me.result);
  }

  // The largest size of the series 1, 2, 3, 4, 6, 8, 12, ... that is <= both arguments (>= 1).
  static size_t BatchSize(size_t waiting, size_t max_batch) {
    const size_t limit = std::min(waiting, max_batch);
    size_t n = 1;
    for (size_t power = 2; power <= limit; power *= 2) {
      n = power;
      if (power + power / 2 <= limit) n = power + power / 2;
    }
    return n;
  }

  // Items waiting for a batch to take them.
  size_t Waiting() const {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

  // Items per batch so far, for metrics and benchmarks: {batches, items}.
  std::pair<int64_t, int64_t> Totals() const {
    absl::MutexLock lock(&mu_);
    return {batches_, items_};
  }

 private:
  struct Pending {
    Item item;
    std::optional<Result> result;
    bool taken = false;  // in a batch that is running
  };

  bool MayStartBatch() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ == 0 || (in_flight_ < options_.max_batches_in_flight &&
                               queue_.size() >= options_.min_items_to_overlap);
  }

  // How many of the oldest waiting items weigh at most max_weight together (>= 1).
  size_t FittingByWeight() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!options_.weight || options_.max_weight == 0) return queue_.size();
    size_t n = 0;
    size_t total = 0;
    for (const Pending* p : queue_) {
      const size_t w = options_.weight(p->item);
      if (n > 0 && total + w > options_.max_weight) break;
      total += w;
      ++n;
    }
    return n;
  }

  // Takes the next batch from the front of the queue and runs it, the lock released meanwhile.
  void RunOneBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const size_t fit = FittingByWeight();
    const size_t n = options_.sizes_in_series
                         ? BatchSize(fit, options_.max_batch)
                         : std::max<size_t>(1, std::min(fit, options_.max_batch));
    std::vector<Pending*> batch(queue_.begin(), queue_.begin() + n);
    queue_.erase(queue_.begin(), queue_.begin() + n);
    std::vector<Item> items;
    items.reserve(n);
    for (Pending* p : batch) {
      p->taken = true;
      items.push_back(std::move(p->item));
    }
    ++in_flight_;
    ++batches_;
    items_ += static_cast<int64_t>(n);
    mu_.Unlock();
    std::vector<Result> results = run_(items);
    mu_.Lock();
    --in_flight_;
    for (size_t i = 0; i < n; ++i) batch[i]->result.emplace(std::move(results.at(i)));
  }

  const RunFn run_;
  const Options options_;
  mutable absl::Mutex mu_;
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t batches_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t items_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_GROUP_COMMIT_H_
