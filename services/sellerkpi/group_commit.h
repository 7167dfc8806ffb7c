#ifndef MARKETPLACE_SERVICES_SELLERKPI_GROUP_COMMIT_H_
#define MARKETPLACE_SERVICES_SELLERKPI_GROUP_COMMIT_H_

#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/group_commit.h"
#include "services/sellerkpi/kpi_store.h"

namespace marketplace::sellerkpi {

// Group commit of concurrent RecordEvents calls: small calls that arrive while the store is
// busy wait in a queue, and the next free caller records every waiting call's events in ONE store
// transaction (KpiStore::RecordEvents), then hands each call its own counts. A batch keeps
// its all-or-nothing rule: when the shared transaction fails (an event id conflict in one
// call, or the database), each call of the group is recorded alone, in arrival order, so a
// call fails only for its own events. The result of a call is the same as if the calls had
// been recorded one after the other in arrival order: an event id sent by two calls of a
// group is recorded by the first and a duplicate (or a conflict) for the second. The queue
// and the leading caller are common::GroupCommitter's, its items weighed by their events.
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
  GroupCommit(RecordFn record, Options options);

  // Records `events` (in a group with the calls waiting beside it); as KpiStore::RecordEvents.
  absl::StatusOr<RecordCounts> Record(const std::vector<EventRecord>& events);

  // Calls waiting for a group to take them.
  size_t Waiting() const { return calls_.Waiting(); }

 private:
  using Calls =
      common::GroupCommitter<const std::vector<EventRecord>*, absl::StatusOr<RecordCounts>>;

  // Records a group (the calls' events in one transaction) and returns each call's result.
  std::vector<absl::StatusOr<RecordCounts>> RecordGroup(
      const std::vector<const std::vector<EventRecord>*>& group);

  const RecordFn record_;
  const Options options_;
  Calls calls_;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_GROUP_COMMIT_H_
