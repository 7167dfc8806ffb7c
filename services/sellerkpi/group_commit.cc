#include "services/sellerkpi/group_commit.h"

#include <algorithm>
#include <utility>

namespace marketplace::sellerkpi {
namespace {

RecordCounts CountsOf(const std::vector<bool>& recorded_each) {
  RecordCounts counts;
  for (bool recorded : recorded_each) {
    ++(recorded ? counts.recorded : counts.duplicates);
  }
  counts.recorded_each = recorded_each;
  return counts;
}

}  // namespace

GroupCommit::GroupCommit(RecordFn record, Options options)
    : record_(std::move(record)),
      options_(options),
      calls_(
          [this](std::vector<const std::vector<EventRecord>*>& group) {
            return RecordGroup(group);
          },
          [&options] {
            Calls::Options o;
            // Every call carries at least one event: max_events calls at the most.
            o.max_batch = static_cast<size_t>(std::max(1, options.max_events));
            o.max_batches_in_flight = std::max(1, options.max_in_flight);
            o.weight = [](const std::vector<EventRecord>* const& events) { return events->size(); };
            o.max_weight = o.max_batch;
            o.sizes_in_series = false;
            return o;
          }()) {}

absl::StatusOr<RecordCounts> GroupCommit::Record(const std::vector<EventRecord>& events) {
  if (events.empty()) return RecordCounts{};
  if (events.size() >= static_cast<size_t>(options_.alone_from)) return record_(events);
  return calls_.Submit(&events);
}

std::vector<absl::StatusOr<RecordCounts>> GroupCommit::RecordGroup(
    const std::vector<const std::vector<EventRecord>*>& group) {
  std::vector<absl::StatusOr<RecordCounts>> results;
  results.reserve(group.size());
  if (group.size() == 1) {
    results.push_back(record_(*group[0]));
    return results;
  }
  std::vector<EventRecord> all;
  for (const std::vector<EventRecord>* events : group) {
    all.insert(all.end(), events->begin(), events->end());
  }
  absl::StatusOr<RecordCounts> shared = record_(all);
  if (shared.ok() && shared->recorded_each.size() == all.size()) {
    size_t at = 0;
    for (const std::vector<EventRecord>* events : group) {
      const size_t n = events->size();
      results.push_back(CountsOf(std::vector<bool>(shared->recorded_each.begin() + at,
                                                   shared->recorded_each.begin() + at + n)));
      at += n;
    }
    return results;
  }
  // The shared transaction wrote nothing (or, after a connection lost during its COMMIT, maybe
  // everything: its events then answer as duplicates): each call alone, in arrival order.
  for (const std::vector<EventRecord>* events : group) results.push_back(record_(*events));
  return results;
}

}  // namespace marketplace::sellerkpi
