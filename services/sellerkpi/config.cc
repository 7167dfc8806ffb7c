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
  flags.AddDuration("enforcement_interval", &c->enforcement_interval, absl::Seconds(5),
                    absl::Milliseconds(50), absl::Hours(1),
                    "How often the enforcement worker looks for due steps of enforcement "
                    "actions (a full pass starts the next at once).");
  flags.AddInt64("enforcement_batch", &c->enforcement_batch, 20, 1, 1000,
                 "Enforcement steps one worker pass claims at most.");
  flags.AddString("catalog_address", &c->catalog_address, "127.0.0.1:7002",
                  "catalog's gRPC address (host:port): moderation level, listings restored.");
  flags.AddString("payments_address", &c->payments_address, "127.0.0.1:7003",
                  "payments' gRPC address (host:port): hold policy.");
  // At most 15 s: a step, started within the first half (60 s) of its 2-minute lease, makes up
  // to three calls, which must end within the lease (enforcement_worker.h).
  flags.AddDuration("enforcement_call_timeout", &c->call_timeout, absl::Seconds(10),
                    absl::Milliseconds(100), absl::Seconds(15),
                    "Timeout of each call an enforcement step makes to identity, catalog or "
                    "payments (at most 15s, so that a step's calls end within its lease).");
  common::identity_client::AddIdentityClientFlags(flags, &c->identity);
}

absl::Status SellerKpiConfig::Validate() const {
  if (thresholds_file.empty()) {
    return absl::InvalidArgumentError("--thresholds_file: must name the seed thresholds file");
  }
  if (catalog_address.empty()) {
    return absl::InvalidArgumentError("--catalog_address: must be host:port");
  }
  if (payments_address.empty()) {
    return absl::InvalidArgumentError("--payments_address: must be host:port");
  }
  return absl::OkStatus();
}

}  // namespace marketplace::sellerkpi
