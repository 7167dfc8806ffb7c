#include "services/payments/config.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace marketplace::payments {

void AddFlags(common::Flags& flags, PaymentsConfig* c) {
  flags.AddInt64("default_commission_bps", &c->default_commission_bps, 1000, 0, 10000,
                 "Platform commission of payments that name none, in basis points.");
  flags.AddDuration("default_hold_period", &c->default_hold_period, absl::Hours(14 * 24),
                    "Escrow hold before automatic release, for sellers without a policy.");
  flags.AddEnum("processor", &c->processor, "sandbox", {"sandbox"},
                "Payment processor; only the SANDBOX processor (no real money) exists.");
  common::identity_client::AddIdentityClientFlags(flags, &c->identity);
  common::outbox::AddRelayFlags(flags, &c->events, "sellerkpi=127.0.0.1:7005:payments.");
  flags.AddDuration("release_interval", &c->release_interval, absl::Seconds(30), absl::Seconds(1),
                    absl::InfiniteDuration(), "How often due payments are released automatically.");
  flags.AddInt64("release_batch", &c->release_batch, 20, 1, 1000,
                 "Payments claimed per automatic-release round.");
  flags.AddDuration("ledger_verify_interval", &c->ledger_verify_interval, absl::Hours(1),
                    absl::Minutes(1), absl::Hours(7 * 24),
                    "How often the ledger is verified (VerifyLedger) by one replica of all; "
                    "every replica exports the last result (payments_ledger_verification_ok).");
  flags.AddDuration("completion_interval", &c->completion_interval, absl::Seconds(5),
                    absl::Seconds(1), absl::InfiniteDuration(),
                    "How often refunds and payouts the processor has not confirmed are retried.");
  flags.AddDuration("processor_retry_initial_backoff", &c->retry_initial_backoff, absl::Seconds(10),
                    absl::Seconds(1), absl::InfiniteDuration(),
                    "Delay before retrying a refund or payout the processor did not confirm; "
                    "doubled after each failure.");
  flags.AddDuration("processor_retry_max_backoff", &c->retry_max_backoff, absl::Hours(1),
                    absl::Seconds(1), absl::InfiniteDuration(),
                    "Longest delay between retries of a refund or payout.");
  flags.AddDuration("abandoned_capture_refund_after", &c->abandoned_capture_refund_after,
                    absl::Hours(25), absl::Seconds(1), absl::InfiniteDuration(),
                    "A CreatePayment intent whose payment has not committed this long after it "
                    "was written is settled by the completion worker: its capture is refunded. "
                    "Keep it longer than the 24 h clients may retry a request_id.");
  flags.AddString("test_abort_after_capture_order", &c->test_abort_after_capture_order, "",
                  "TEST ONLY (crash tests): CreatePayment for this order id aborts the process "
                  "right after the processor captured. Never set it in production.");
  flags.AddInt64("write_batch_max", &c->write_batch_max, 16, 1, 256,
                 "Group commit: most CreatePayment (or ConfirmDelivery) calls written in one "
                 "database transaction (batches take 1, 2, 3, 4, 6, 8, 12, 16, 24, ... calls); 1 "
                 "writes each call in its own transaction.");
  flags.AddInt64("write_batches_in_flight", &c->write_batches_in_flight, 2, 1, 64,
                 "Group commit: such transactions at the database at once, per method.");
  flags.AddInt64("write_batch_overlap_min", &c->write_batch_overlap_min, 8, 1, 256,
                 "Group commit: calls that must be waiting before a transaction starts beside "
                 "one already at the database (fewer wait for it and go in a larger batch).");
}

absl::Status PaymentsConfig::Validate() const {
  if (absl::Status s = common::outbox::ParseSubscriberSpecs(events.subscribers).status();
      !s.ok()) {
    return s;
  }
  if (retry_max_backoff < retry_initial_backoff) {
    return common::InvalidField("processor_retry_max_backoff",
                                "must be at least processor_retry_initial_backoff");
  }
  return absl::OkStatus();
}

PaymentsOptions PaymentsConfig::DomainOptions() const {
  PaymentsOptions options;
  options.default_commission_bps = static_cast<int32_t>(default_commission_bps);
  options.default_hold = default_hold_period;
  options.retry_initial_backoff = retry_initial_backoff;
  options.retry_max_backoff = retry_max_backoff;
  options.write_batch_max = static_cast<size_t>(write_batch_max);
  options.write_batches_in_flight = static_cast<int>(write_batches_in_flight);
  options.write_batch_overlap_min = static_cast<size_t>(write_batch_overlap_min);
  options.abandoned_capture_refund_after = abandoned_capture_refund_after;
  options.test_abort_after_capture_order = test_abort_after_capture_order;
  return options;
}

ReleaseWorkerOptions PaymentsConfig::ReleaseOptions() const {
  return {.interval = release_interval, .batch_size = static_cast<int>(release_batch)};
}

LedgerVerifierOptions PaymentsConfig::VerifierOptions() const {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  LedgerVerifierOptions options;
  options.interval = ledger_verify_interval;
  options.tick = std::min(absl::Seconds(30), ledger_verify_interval);
  options.replica = absl::StrCat(host, ":", getpid());
  return options;
}

CompletionWorkerOptions PaymentsConfig::CompletionOptions() const {
  return {.interval = completion_interval};
}

}  // namespace marketplace::payments
