#ifndef MARKETPLACE_TESTS_PAYMENTS_PAYMENTS_HARNESS_H_
#define MARKETPLACE_TESTS_PAYMENTS_PAYMENTS_HARNESS_H_

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/db/connection_pool.h"
#include "common/identity_client/seller_directory.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/payments_domain.h"
#include "services/payments/payments_service.h"
#include "services/payments/processor.h"

namespace marketplace::payments::testing {

// The pieces TestPayments is built on, constructed before its PaymentsApi base.
struct PaymentsParts {
  PaymentsParts(common::db::ConnectionPool* pool, PaymentProcessor* processor,
                common::identity_client::SellerDirectory* sellers, const common::Clock* clock,
                PaymentsOptions options)
      : store_part(pool, clock), domain_part(&store_part, processor, sellers, clock, options) {}

  MySqlPaymentStore store_part;
  PaymentsDomain domain_part;
};

// The payments service of a test on a real database, as payments_server wires it minus gRPC:
// the MySQL store, the domain and the API layer (validation, conversion, page tokens), plus
// the background passes the workers run.
class TestPayments : private PaymentsParts, public PaymentsApi {
 public:
  // All pointers must outlive the stack.
  TestPayments(common::db::ConnectionPool* pool, PaymentProcessor* processor,
               common::identity_client::SellerDirectory* sellers, const common::Clock* clock,
               PaymentsOptions options = {})
      : PaymentsParts(pool, processor, sellers, clock, options), PaymentsApi(&domain_part) {}

  MySqlPaymentStore& store() { return store_part; }

  // How many were released (failures are deferred with backoff, see Settlement).
  absl::StatusOr<int> ReleaseDuePayments(int batch_size = 20) {
    absl::StatusOr<ReleaseCounts> counts = domain_part.ReleaseDuePayments(batch_size);
    if (!counts.ok()) return counts.status();
    return counts->released;
  }
  absl::StatusOr<int> RefundAbandonedCaptures(int batch_size = 20) {
    return domain_part.RefundAbandonedCaptures(batch_size);
  }
  absl::StatusOr<CompletionCounts> CompletePendingOperations(int batch_size = 20) {
    return domain_part.CompletePendingOperations(batch_size);
  }
  absl::Status RefreshEscrowMetrics() { return domain_part.RefreshEscrowMetrics(); }
  absl::StatusOr<int64_t> PurgeIdempotencyKeys() { return domain_part.PurgeIdempotencyKeys(); }
  std::pair<int64_t, int64_t> CreateBatchTotals() {
    return domain_part.checkout().CreateBatchTotals();
  }
  std::pair<int64_t, int64_t> ConfirmBatchTotals() {
    return domain_part.checkout().ConfirmBatchTotals();
  }
};

}  // namespace marketplace::payments::testing

#endif  // MARKETPLACE_TESTS_PAYMENTS_PAYMENTS_HARNESS_H_
