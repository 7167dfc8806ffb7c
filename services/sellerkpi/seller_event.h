#ifndef MARKETPLACE_SERVICES_SELLERKPI_SELLER_EVENT_H_
#define MARKETPLACE_SERVICES_SELLERKPI_SELLER_EVENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"

namespace marketplace::sellerkpi {

namespace pb = ::marketplace::sellerkpi::v1;

// Limits of the API (sellerkpi.proto).
inline constexpr int kMaxBatch = 500;
inline constexpr absl::Duration kMaxFuture = absl::Minutes(5);
inline constexpr absl::Duration kMaxPast = absl::Hours(24 * 400);
inline constexpr size_t kMaxIdLength = 128;

// "ORDER_PLACED", ...: the stored type name of a payload; "" when none is set.
absl::string_view EventTypeName(pb::SellerEvent::PayloadCase payload);

// UTC day of `t`.
absl::CivilDay DayOf(absl::Time t);

// An event checked and ready to store: its content hash, day and the KPIs it is evidence for.
struct EventRecord {
  pb::SellerEvent event;  // source set, excluded false
  std::string type;       // EventTypeName
  std::string content_hash;
  absl::Time occurred_at;
  int64_t kpi_mask = 0;  // bit k: evidence of pb::Kpi k
};

// The ids of the exclusions ExcludeSellerEvent logs start with it; events from producers
// may not.
inline constexpr absl::string_view kExclusionIdPrefix = "excluded:";

// Checks `event` as RecordSellerEvents receives it (`from_api`: the output-only payloads are
// refused) or as mapped from a producer's event, adding violations named under `prefix`
// ("events[3]" gives "events[3].occurred_at"). `now` bounds occurred_at.
void CheckEvent(const pb::SellerEvent& event, absl::string_view prefix, absl::Time now,
                bool from_api, common::Violations& violations);

// The record of a checked event, from `source` ("api", "payments", ...).
absl::StatusOr<EventRecord> MakeRecord(const pb::SellerEvent& event, absl::string_view source);

// The (seller, order) row: what makes an order count, whichever source reports it and in
// whatever order its events arrive.
struct OrderState {
  std::optional<absl::CivilDay> order_day;  // earliest ORDER_PLACED
  bool low_rating = false;
  bool claim_counts = false;
  std::optional<absl::Time> claim_at;  // the latest claim event applied
  std::string claim_event_id;
  bool disputed = false;
  bool seller_cancelled = false;
  std::optional<absl::Time> first_defect_at;
  std::string first_defect_event_id;

  bool defective() const { return low_rating || claim_counts || disputed; }
};

struct CounterDelta {
  absl::CivilDay day;
  std::string counter;
  int64_t delta = 0;
};

// Whether `record` changes its order's row (it needs the row read and locked first).
bool TouchesOrder(const EventRecord& record);

// The counter changes of one newly recorded event, and its order's new row in `order` (only
// read and written when TouchesOrder). Order counters move with the row: the old row's
// indicators come off its day, the new row's go on its day, so any arrival order ends with the
// same counters.
std::vector<CounterDelta> ApplyEvent(const EventRecord& record, OrderState* order);

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_SELLER_EVENT_H_
