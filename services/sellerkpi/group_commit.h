#ifndef MARKETPLACE_SERVICES_SELLERKPI_GROUP_COMMIT_H_
#define MARKETPLACE_SERVICES_SELLERKPI_GROUP_COMMIT_H_

#include <deque>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/sellerkpi/kpi_store.h"

namespace marketplace::sellerkpi {

// Group commit of concurrent RecordEvents calls: small calls that arrive while the store is
// busy wait in a queue, and the next free caller records every waiting call's events in ONE store
// transaction (KpiStore::RecordEvents), then hands each call its own counts. A batch keeps
// its all-or-nothing rule: when the shared transaction fails (an event id conflict in one
// call, or the database), each call of the group is recorded alone, in arrival order, so a
// call fails only for its own events. The result of a call is the same as if the calls had
// been recorded one after the other in arrival order: an event id sent by two calls of a
// group is recorded by the first and a duplicate (or a conflict) for the second.
class GroupCommit {
 public:
  struct Options {
    // Events of one shared transaction: calls are taken whole while the group stays under it
    // (a call larger than it goes alone). Larger groups cost the database more per event
    // (bench/sellerkpi_bench.sh: 800-event groups were several times slower per event).
    int max_events = 200;
    // Shared transactions running at once. One: concurrent batches of sellerkpi's events
    // lock the same counter and seller rows, so they wait for each other anyway; one at a
    // time, every caller's events join the next group instead.
    int max_in_flight = 1;
    // A call of at least this many events is recorded at once, in its own transaction,
    // beside the groups: a large batch gains nothing from company, and large batches from
    // several callers then run concurrently (bench/sellerkpi_bench.sh: batches of 100 went
    // from about 1.6 to about 2 times the minimal write rate).
    int alone_from = 50;
  };

  // Records events in one transaction, all or nothing: KpiStore::RecordEvents.
  using RecordFn = std::function<absl::StatusOr<RecordCounts>(const std::vector<EventRecord>&)>;

  explicit GroupCommit(RecordFn record) : GroupCommit(std::move(record), Options()) {}
  GroupCommit(RecordFn record, Options options)
      : record_(std::move(record)), options_(options) {}

  // Records `events` (in a group with the calls waiting beside it); as KpiStore::RecordEvents.
  absl::StatusOr<RecordCounts> Record(const std::vector<EventRecord>& events);

  // Calls waiting for a group to take them.
  size_t Waiting() const;

 private:
  struct Call {
    const std::vector<EventRecord>* events;
    absl::StatusOr<RecordCounts> result;
    bool done = false;
  };

  // A caller's wait: its call is done, or it may lead a group.
  struct Turn {
    GroupCommit* self;
    const Call* call;
    bool Ready() const ABSL_NO_THREAD_SAFETY_ANALYSIS {  // called with self->mu_ held
      return call->done ||
             (!self->queue_.empty() && self->in_flight_ < self->options_.max_in_flight);
    }
  };

  // Records `group` (taken from the queue) and fills each call's result. Without the lock.
  void RecordGroup(const std::vector<Call*>& group);

  const RecordFn record_;
  const Options options_;
  mutable absl::Mutex mu_;
  std::deque<Call*> queue_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_GROUP_COMMIT_H_
