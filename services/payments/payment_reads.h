#ifndef MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_READS_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_READS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/payments/actor.h"
#include "services/payments/payment_records.h"
#include "services/payments/payment_store.h"

namespace marketplace::payments {

// A payment with everything that happened to it.
struct PaymentDetails {
  PaymentRecord payment;
  std::vector<PaymentEventRecord> history;
  std::vector<StoredEntry> entries;
  // Its refunds, oldest first; for staff and SERVICE callers (any_payment) also the refunds
  // without payment of its order (captures of other requests for it given back).
  std::vector<ProcessorOperation> refunds;
};

// One page of payments, newest first.
struct PaymentPage {
  std::vector<PaymentRecord> payments;
  bool more = false;  // another page follows the last one
};

// Reads of payments, each in one read-only transaction.
class PaymentReads {
 public:
  // `store` must outlive the reads.
  explicit PaymentReads(PaymentStore* store) : store_(store) {}

  [[nodiscard]] absl::StatusOr<PaymentDetails> GetPayment(const Actor& actor,
                                                          const std::string& payment_id);
  // A processor operation by its id (nullopt when there is none), for callers that have
  // checked the actor's right to it.
  [[nodiscard]] absl::StatusOr<std::optional<ProcessorOperation>> GetOperation(
      const std::string& operation_id);
  // The filter narrowed to what `actor` may see: a buyer lists its purchases, a seller its
  // sales; PERMISSION_DENIED for someone else's.
  [[nodiscard]] static absl::StatusOr<ListFilter> VisibleFilter(const Actor& actor,
                                                                ListFilter requested);
  // Up to filter.limit payments of a filter VisibleFilter returned.
  [[nodiscard]] absl::StatusOr<PaymentPage> ListPayments(const ListFilter& filter);

 private:
  PaymentStore* store_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PAYMENT_READS_H_
