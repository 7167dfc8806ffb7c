#ifndef MARKETPLACE_SERVICES_SELLERKPI_INGESTION_H_
#define MARKETPLACE_SERVICES_SELLERKPI_INGESTION_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"
#include "services/sellerkpi/group_commit.h"
#include "services/sellerkpi/kpi_store.h"
#include "services/sellerkpi/sellerkpi_observer.h"

namespace marketplace::sellerkpi {

// Both ways in: RecordSellerEvents (source "api") and the producers' events mapped to
// SellerEvents (source "payments", ...). Each batch is checked whole, then recorded all or
// nothing, in one transaction shared with the batches arriving at the same time (GroupCommit).
class Ingestion {
 public:
  // All must outlive the ingestion.
  Ingestion(KpiStore* store, const common::Clock* clock, KpiObserver* observer,
            GroupCommit::Options group = GroupCommit::Options())
      : clock_(clock),
        observer_(observer),
        group_([store](const std::vector<EventRecord>& events) {
          return store->RecordEvents(events);
        }, group) {}

  // INVALID_ARGUMENT naming every bad field as "events[i].<field>" (nothing recorded);
  // ALREADY_EXISTS EVENT_ID_CONFLICT; else the counts. `from_api` refuses the output-only
  // payloads.
  absl::StatusOr<RecordCounts> Record(const std::vector<pb::SellerEvent>& events,
                                      absl::string_view source, bool from_api);

 private:
  const common::Clock* const clock_;
  KpiObserver* const observer_;
  GroupCommit group_;
};

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_INGESTION_H_
