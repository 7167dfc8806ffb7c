#include "services/sellerkpi/ingestion.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace marketplace::sellerkpi {

absl::StatusOr<RecordCounts> Ingestion::Record(const std::vector<pb::SellerEvent>& events,
                                               absl::string_view source, bool from_api) {
  const absl::Time now = clock_->Now();
  common::Violations violations;
  for (size_t i = 0; i < events.size(); ++i) {
    CheckEvent(events[i], absl::StrCat("events[", i, "]"), now, from_api, violations);
  }
  std::map<std::string, int64_t> by_type;
  for (const pb::SellerEvent& e : events) {
    const absl::string_view type = EventTypeName(e.payload_case());
    ++by_type[type.empty() ? "UNKNOWN" : std::string(type)];
  }
  auto report = [&](absl::string_view result) {
    for (const auto& [type, n] : by_type) observer_->EventsSeen(type, result, n);
  };
  if (absl::Status bad = violations.Status(); !bad.ok()) {
    report("invalid");
    return bad;
  }
  std::vector<EventRecord> records;
  records.reserve(events.size());
  for (const pb::SellerEvent& e : events) {
    absl::StatusOr<EventRecord> record = MakeRecord(e, source);
    if (!record.ok()) return record.status();
    records.push_back(*std::move(record));
  }
  absl::StatusOr<RecordCounts> counts = group_.Record(records);
  if (!counts.ok()) {
    if (counts.status().code() == absl::StatusCode::kAlreadyExists) report("conflict");
    return counts.status();
  }
  if (counts->duplicates == 0) {
    report("recorded");
  } else {
    observer_->EventsSeen("ANY", "recorded", counts->recorded);
    observer_->EventsSeen("ANY", "duplicate", counts->duplicates);
  }
  return counts;
}

}  // namespace marketplace::sellerkpi
