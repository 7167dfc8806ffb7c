#ifndef MARKETPLACE_SERVICES_PAYMENTS_MYSQL_PAYMENT_STORE_H_
#define MARKETPLACE_SERVICES_PAYMENTS_MYSQL_PAYMENT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/db/connection_pool.h"
#include "common/idempotency/idempotency.h"
#include "common/outbox/outbox.h"
#include "services/payments/payment_store.h"

namespace marketplace::payments {

// Applies the payments schema (component "payments") plus the outbox and idempotency tables.
[[nodiscard]] absl::Status ApplyPaymentsMigrations(common::db::ConnectionPool& pool);

// PaymentStore over MySQL/MariaDB: the payments tables (mysql_payment_store_rows.cc), the
// idempotency records and the outbox, in one database. Thread-safe.
class MySqlPaymentStore final : public PaymentStore {
 public:
  // `pool` and `clock` must outlive the store; `clock` stamps answers and outbox events.
  MySqlPaymentStore(common::db::ConnectionPool* pool, const common::Clock* clock);

  absl::Status RunInTransaction(const TransactionBody& body,
                                StoreTransactionOptions options = {}) override;
  using PaymentStore::RunInTransaction;
  absl::StatusOr<std::string> RunIdempotent(const RequestKey& key,
                                            const RequestBody& effect) override;
  absl::Status KeepWrites(absl::Status refusal) const override;
  absl::StatusOr<std::optional<StoredAnswer>> FindAnswer(const RequestKey& key) override;
  absl::StatusOr<StoredAnswer> RecordError(const RequestKey& key,
                                           const absl::Status& error) override;
  std::vector<absl::StatusOr<CheckoutFacts>> ReadCheckouts(
      absl::Span<const CheckoutLookup> lookups) override;
  absl::StatusOr<int64_t> PurgeAnswers() override;
  absl::StatusOr<int64_t> PurgeResolvedIntents(absl::Duration keep, int64_t batch_size) override;
  absl::Status EnsureSellerAccounts(absl::string_view seller_id, absl::string_view currency,
                                    absl::Time now) override;
  absl::StatusOr<std::optional<ProcessorOperation>> LoadOperation(
      absl::string_view operation_id) override;
  absl::StatusOr<std::optional<PayoutRecord>> LoadPayout(absl::string_view payout_id) override;
  absl::StatusOr<std::vector<ProcessorOperation>> ClaimDueOperations(absl::Time now,
                                                                     absl::Time lease_until,
                                                                     int limit) override;
  absl::Status RescheduleOperation(absl::string_view operation_id, absl::string_view error,
                                   absl::Time next_attempt_at, absl::Time now) override;
  std::vector<absl::StatusOr<PaymentIntent>> BeginIntents(
      absl::Span<const PaymentIntent> intents) override;
  std::vector<absl::StatusOr<std::string>> RecordAuthorizations(
      absl::Span<const std::pair<std::string, std::string>> intent_authorizations) override;
  absl::Status RecordIntentReferences(absl::string_view intent_id, absl::string_view authorization,
                                      absl::string_view capture) override;
  absl::StatusOr<std::vector<PaymentIntent>> ClaimOpenIntents(absl::Time created_before,
                                                              absl::Time now,
                                                              absl::Time lease_until,
                                                              int limit) override;
  absl::Status DeferRelease(absl::string_view payment_id, absl::Time now, absl::Duration initial,
                            absl::Duration max) override;
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> EscrowHeldByCurrency() override;
  absl::StatusOr<bool> ClaimLedgerVerification(absl::Time now, absl::Time lease_until,
                                               absl::string_view replica) override;
  absl::Status RecordLedgerVerification(const LedgerVerificationRecord& result,
                                        absl::Time next_run_at) override;
  absl::StatusOr<std::optional<LedgerVerificationRecord>> LastLedgerVerification() override;

 private:
  common::db::ConnectionPool* pool_;
  const common::Clock* clock_;
  common::outbox::Outbox outbox_;
  common::idempotency::IdempotencyStore idempotency_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_MYSQL_PAYMENT_STORE_H_
