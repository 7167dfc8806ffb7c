#include "services/support/config.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "services/support/sla/policy.h"

namespace marketplace::support {

void AddFlags(common::Flags& flags, SupportConfig* c) {
  common::identity_client::AddIdentityClientFlags(flags, &c->identity);
  common::outbox::AddRelayFlags(flags, &c->events, "sellerkpi=127.0.0.1:7005:support.");
  flags.AddString("payments_address", &c->payments_address, "127.0.0.1:7003",
                  "host:port of payments' gRPC server (orders and their payments).");
  flags.AddDuration("payments_timeout", &c->payments_timeout, absl::Seconds(5),
                    absl::Milliseconds(100), absl::Minutes(1),
                    "Longest wait for one payments call (the caller's deadline wins).");
  flags.AddDuration("l1_window", &c->l1_window, absl::Hours(48), absl::Minutes(1),
                    absl::Hours(90 * 24),
                    "The seller's level-1 window: the buyer may escalate without a public "
                    "seller reply once it has passed (escalation_allowed_at).");
  flags.AddDuration("rating_window", &c->rating_window, absl::Hours(28 * 24), absl::Hours(1),
                    absl::Hours(365 * 24), "The buyer may rate a ticket this long after SOLVED.");
  flags.AddDuration("l2_first_reply_target", &c->l2_first_reply_target, absl::Hours(24),
                    absl::Minutes(1), absl::Hours(90 * 24),
                    "Level 2: an agent's first public reply within this is within_sla in "
                    "support.first_response.");
  flags.AddDuration("refund_interval", &c->refund_interval, absl::Seconds(5), absl::Seconds(1),
                    absl::InfiniteDuration(),
                    "How often recorded refund commands are sent to payments.");
  flags.AddInt64("refund_batch", &c->refund_batch, 20, 1, 1000,
                 "Refund commands claimed per pass.");
  flags.AddDuration("refund_retry_initial_backoff", &c->refund_retry_initial_backoff,
                    absl::Seconds(10), absl::Seconds(1), absl::InfiniteDuration(),
                    "Delay before retrying a refund payments did not answer; doubled per "
                    "attempt.");
  flags.AddDuration("refund_retry_max_backoff", &c->refund_retry_max_backoff, absl::Hours(1),
                    absl::Seconds(1), absl::InfiniteDuration(),
                    "Longest delay between two attempts of a refund.");
  flags.AddString("sla_policy_file", &c->sla_policy_file, "",
                  "SLA policy (protobuf text format, marketplace.support.v1.SlaPolicy) stored as "
                  "version 1 when the database has none; empty: the compiled-in default "
                  "(services/support/sla/default_sla_policy.textproto). Ignored once a policy "
                  "is stored (UpdateSlaPolicy changes it).");
  flags.AddDuration("sla_scan_interval", &c->sla_scan_interval, absl::Seconds(15),
                    absl::Milliseconds(100), absl::Hours(1),
                    "How often the SLA scanner looks for clocks due a warning or a breach (a "
                    "full batch goes on at once).");
  flags.AddInt64("sla_scan_batch", &c->sla_scan_batch, 200, 1, 10000,
                 "SLA clocks read per scanner batch, earliest due first.");
  flags.AddDuration("close_interval", &c->close_interval, absl::Minutes(1),
                    absl::Milliseconds(100), absl::Hours(1),
                    "How often SOLVED tickets are looked at: CLOSED at closes_at (the SLA "
                    "policy's close_after), "
                    "satisfaction request after the SLA policy's csat_delay.");
  flags.AddDuration("ticket_cache_ttl", &c->ticket_cache_ttl, absl::Minutes(1),
                    "Longest GetTicket keeps a ticket's row in memory. A row is dropped when this "
                    "replica changes the ticket, and when a poll of the tickets table (every "
                    "--ticket_cache_poll) finds it changed by any replica; the TTL bounds "
                    "staleness only for a write that committed more than 30s after it was "
                    "made. 0s: no cache (every GetTicket reads the database).");
  flags.AddDuration("ticket_cache_poll", &c->ticket_cache_poll, absl::Milliseconds(200),
                    absl::Milliseconds(10), absl::Minutes(1),
                    "How often the tickets changed since the last poll are dropped from the "
                    "ticket cache: a change made through another replica shows in this "
                    "replica's GetTicket within about this long. Nothing is served from the "
                    "cache while polls fail for over 2s.");
}

absl::Status SupportConfig::Validate() const {
  if (absl::Status s = common::outbox::ParseSubscriberSpecs(events.subscribers).status();
      !s.ok()) {
    return s;
  }
  if (refund_retry_max_backoff < refund_retry_initial_backoff) {
    return common::InvalidField("refund_retry_max_backoff",
                                "must be at least refund_retry_initial_backoff");
  }
  if (payments_address.empty()) {
    return common::InvalidField("payments_address", "must be host:port");
  }
  return SeedSlaPolicy().status();
}

TicketOptions SupportConfig::TicketRules() const {
  return {.l1_window = l1_window,
          .rating_window = rating_window,
          .l2_first_reply_target = l2_first_reply_target};
}

}  // namespace marketplace::support

namespace marketplace::support {

RefundWorkerOptions SupportConfig::RefundOptions() const {
  // The refund sender's calls each end within payments_timeout (main.cc): with this lease a
  // call the worker starts (in the lease's first half) ends by three quarters of it.
  return {.interval = refund_interval,
          .batch_size = static_cast<int>(refund_batch),
          .lease = RefundLeaseFor(payments_timeout),
          .initial_backoff = refund_retry_initial_backoff,
          .max_backoff = refund_retry_max_backoff};
}

}  // namespace marketplace::support

namespace marketplace::support {

absl::StatusOr<v1::SlaPolicy> SupportConfig::SeedSlaPolicy() const {
  absl::StatusOr<sla::Policy> policy =
      sla_policy_file.empty() ? sla::DefaultPolicy() : sla::LoadPolicyFile(sla_policy_file);
  if (!policy.ok()) {
    return absl::Status(policy.status().code(),
                        absl::StrCat("sla_policy_file: ", policy.status().message()));
  }
  v1::SlaPolicy seed = policy->proto();
  seed.set_version(1);
  seed.clear_updated_by();
  seed.clear_updated_at();
  return seed;
}

}  // namespace marketplace::support

namespace marketplace::support {

SlaScannerOptions SupportConfig::ScannerOptions() const {
  return {.interval = sla_scan_interval, .batch_size = static_cast<int>(sla_scan_batch)};
}

TicketCloserOptions SupportConfig::CloserOptions() const {
  return {.interval = close_interval};
}

common::ChangePollCacheOptions SupportConfig::TicketCache() const {
  common::ChangePollCacheOptions options;
  options.ttl = ticket_cache_ttl;
  options.poll_interval = ticket_cache_poll;
  return options;
}

}  // namespace marketplace::support
