#ifndef MARKETPLACE_SERVICES_SUPPORT_CONFIG_H_
#define MARKETPLACE_SERVICES_SUPPORT_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/change_poll_cache.h"
#include "common/config.h"
#include "common/identity_client/identity_connection.h"
#include "common/outbox/subscribers.h"
#include "protos/marketplace/support/v1/sla.pb.h"
#include "services/support/refund_worker.h"
#include "services/support/sla_scanner.h"
#include "services/support/ticket_closer.h"
#include "services/support/tickets.h"

namespace marketplace::support {

// The options of support_server (README "Configuration"): flag --name, environment MP_NAME.
struct SupportConfig {
  common::identity_client::IdentityClientConfig identity;
  common::outbox::RelayConfig events;  // --event_subscribers, --event_max_refusals
  std::string payments_address = "127.0.0.1:7003";
  absl::Duration payments_timeout = absl::Seconds(5);
  absl::Duration l1_window = absl::Hours(48);
  absl::Duration rating_window = absl::Hours(28 * 24);
  absl::Duration l2_first_reply_target = absl::Hours(24);
  absl::Duration refund_interval = absl::Seconds(5);
  int64_t refund_batch = 20;
  absl::Duration refund_retry_initial_backoff = absl::Seconds(10);
  absl::Duration refund_retry_max_backoff = absl::Hours(1);
  // The SLA policy a new database is seeded with (text format); empty: the compiled-in
  // services/support/sla/default_sla_policy.textproto.
  std::string sla_policy_file;
  absl::Duration sla_scan_interval = absl::Seconds(15);
  int64_t sla_scan_batch = 200;
  absl::Duration close_interval = absl::Minutes(1);
  absl::Duration ticket_cache_ttl = absl::Minutes(1);
  absl::Duration ticket_cache_poll = absl::Milliseconds(200);

  // What Flags cannot check alone.
  [[nodiscard]] absl::Status Validate() const;
  TicketOptions TicketRules() const;
  // The refund worker's lease follows payments_timeout (RefundLeaseFor), the timeout of each
  // of its payments calls.
  RefundWorkerOptions RefundOptions() const;
  SlaScannerOptions ScannerOptions() const;
  TicketCloserOptions CloserOptions() const;
  // GetTicket's cache of ticket rows (MySqlTicketStore).
  common::ChangePollCacheOptions TicketCache() const;
  // The seed policy: --sla_policy_file read and validated, else the compiled-in default.
  [[nodiscard]] absl::StatusOr<v1::SlaPolicy> SeedSlaPolicy() const;
};

// Declares every option of `config` (names, defaults, bounds, help) on `flags`.
void AddFlags(common::Flags& flags, SupportConfig* config);

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_CONFIG_H_
