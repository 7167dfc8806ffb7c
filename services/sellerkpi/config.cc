#include "services/sellerkpi/config.h"

namespace marketplace::sellerkpi {

void AddFlags(common::Flags& flags, SellerKpiConfig* c) {
  flags.AddString("thresholds_file", &c->thresholds_file,
                  "services/sellerkpi/data/thresholds.textproto",
                  "Thresholds stored as version 1 when the database has none (text format of "
                  "marketplace.sellerkpi.v1.Thresholds; README \"Thresholds\").");
  flags.AddDuration("evaluation_interval", &c->evaluation_interval, absl::Minutes(1),
                    absl::Milliseconds(100), absl::Hours(24),
                    "How often the evaluator looks for sellers with new events (and, once a "
                    "UTC day, every seller).");
  flags.AddInt64("evaluation_batch", &c->evaluation_batch, 500, 1, 100000,
                 "Sellers one evaluation pass takes at most; a full pass starts the next at "
                 "once.");
  common::identity_client::AddIdentityClientFlags(flags, &c->identity);
}

absl::Status SellerKpiConfig::Validate() const {
  if (thresholds_file.empty()) {
    return absl::InvalidArgumentError("--thresholds_file: must name the seed thresholds file");
  }
  return absl::OkStatus();
}

}  // namespace marketplace::sellerkpi
