#ifndef MARKETPLACE_SERVICES_PAYMENTS_CONFIG_H_
#define MARKETPLACE_SERVICES_PAYMENTS_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/identity_client/identity_connection.h"
#include "common/outbox/subscribers.h"
#include "services/payments/ledger_verifier.h"
#include "services/payments/payments_context.h"
#include "services/payments/release_worker.h"

namespace marketplace::payments {

// The options of payments_server (README "Configuration"): flag --name, environment MP_NAME.
struct PaymentsConfig {
  int64_t default_commission_bps = 1000;
  absl::Duration default_hold_period = absl::Hours(14 * 24);
  std::string processor = "sandbox";
  common::identity_client::IdentityClientConfig identity;
  common::outbox::RelayConfig events;  // --event_subscribers, --event_max_refusals
  absl::Duration release_interval = absl::Seconds(30);
  int64_t release_batch = 20;
  absl::Duration completion_interval = absl::Seconds(5);
  absl::Duration ledger_verify_interval = absl::Hours(1);
  absl::Duration retry_initial_backoff = absl::Seconds(10);
  absl::Duration retry_max_backoff = absl::Hours(1);
  int64_t write_batch_max = 16;
  int64_t write_batches_in_flight = 2;
  int64_t write_batch_overlap_min = 8;
  absl::Duration abandoned_capture_refund_after = absl::Hours(25);
  std::string test_abort_after_capture_order;

  // What Flags cannot check alone: the options against each other.
  [[nodiscard]] absl::Status Validate() const;

  // The domain's, the release worker's and the completion worker's options.
  PaymentsOptions DomainOptions() const;
  ReleaseWorkerOptions ReleaseOptions() const;
  CompletionWorkerOptions CompletionOptions() const;
  // The scheduled ledger verification's options, this replica named by host name and pid.
  LedgerVerifierOptions VerifierOptions() const;
};

// Declares every option of `config` (names, defaults, bounds, help) on `flags`.
void AddFlags(common::Flags& flags, PaymentsConfig* config);

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_CONFIG_H_
