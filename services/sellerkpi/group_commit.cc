#include "services/sellerkpi/group_commit.h"

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

absl::StatusOr<RecordCounts> GroupCommit::Record(const std::vector<EventRecord>& events) {
  if (events.empty()) return RecordCounts{};
  if (events.size() >= static_cast<size_t>(options_.alone_from)) return record_(events);
  Call me{&events, RecordCounts{}};
  const Turn turn{this, &me};
  absl::MutexLock lock(&mu_);
  queue_.push_back(&me);
  while (true) {
    // Wait until this call is done, or a group may start (calls waiting, fewer than
    // max_in_flight groups running): then this caller leads one of the oldest calls.
    mu_.Await(absl::Condition(&turn, &Turn::Ready));
    if (me.done) break;
    // Lead: take the oldest calls (this one among them, or already taken by another leader).
    std::vector<Call*> group;
    size_t events_taken = 0;
    while (!queue_.empty()) {
      Call* next = queue_.front();
      const size_t n = next->events->size();
      if (!group.empty() && events_taken + n > static_cast<size_t>(options_.max_events)) break;
      group.push_back(next);
      events_taken += n;
      queue_.pop_front();
    }
    ++in_flight_;
    mu_.Unlock();
    RecordGroup(group);
    mu_.Lock();
    --in_flight_;
    for (Call* c : group) c->done = true;
  }
  return std::move(me.result);
}

size_t GroupCommit::Waiting() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void GroupCommit::RecordGroup(const std::vector<Call*>& group) {
  if (group.size() == 1) {
    group[0]->result = record_(*group[0]->events);
    return;
  }
  std::vector<EventRecord> all;
  for (const Call* c : group) all.insert(all.end(), c->events->begin(), c->events->end());
  absl::StatusOr<RecordCounts> shared = record_(all);
  if (shared.ok() && shared->recorded_each.size() == all.size()) {
    size_t at = 0;
    for (Call* c : group) {
      const size_t n = c->events->size();
      c->result = CountsOf(std::vector<bool>(shared->recorded_each.begin() + at,
                                             shared->recorded_each.begin() + at + n));
      at += n;
    }
    return;
  }
  // The shared transaction wrote nothing: each call alone, in arrival order.
  for (Call* c : group) c->result = record_(*c->events);
}

}  // namespace marketplace::sellerkpi
