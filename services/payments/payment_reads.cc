#include "services/payments/payment_reads.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "common/status_macros.h"

namespace marketplace::payments {
namespace {

constexpr StoreTransactionOptions kReadOnly{.read_only = true, .defer_writes = false};

}  // namespace

absl::StatusOr<PaymentDetails> PaymentReads::GetPayment(const Actor& actor,
                                                        const std::string& payment_id) {
  return store_->RunInTransaction<PaymentDetails>(
      [&](PaymentTransaction& tx) -> absl::StatusOr<PaymentDetails> {
        ASSIGN_OR_RETURN(auto loaded, tx.LoadPayment(payment_id, /*for_update=*/false));
        if (!loaded) return common::NotFound("payment", payment_id);
        // AIP-193: a payment the caller may not read answers like one that does not exist.
        if (!MayActOn(actor, loaded->buyer_id, loaded->money.seller_id)) {
          return common::NotFound("payment", payment_id);
        }
        PaymentDetails out;
        out.payment = *std::move(loaded);
        ASSIGN_OR_RETURN(out.history, tx.LoadHistory(payment_id));
        ASSIGN_OR_RETURN(out.entries, tx.LoadEntries(payment_id));
        ASSIGN_OR_RETURN(out.refunds, tx.LoadRefunds(payment_id));
        // Staff and services also see the captures of other requests for the same order
        // given back without a payment (so that an owed one can be found and settled).
        if (actor.any_payment) {
          ASSIGN_OR_RETURN(std::vector<ProcessorOperation> returned,
                           tx.LoadRefundsWithoutPayment(out.payment.order_id));
          if (!returned.empty()) {
            for (ProcessorOperation& op : returned) out.refunds.push_back(std::move(op));
            std::stable_sort(out.refunds.begin(), out.refunds.end(),
                             [](const ProcessorOperation& a, const ProcessorOperation& b) {
                               return std::tie(a.created_at, a.operation_id) <
                                      std::tie(b.created_at, b.operation_id);
                             });
          }
        }
        return out;
      },
      kReadOnly);
}

absl::StatusOr<std::optional<ProcessorOperation>> PaymentReads::GetOperation(
    const std::string& operation_id) {
  return store_->LoadOperation(operation_id);
}

absl::StatusOr<ListFilter> PaymentReads::VisibleFilter(const Actor& actor, ListFilter requested) {
  if (actor.any_payment) return requested;
  ListFilter filter = requested;
  if (actor.as_seller &&
      (requested.seller_id == actor.id || (!actor.as_buyer && requested.seller_id.empty()))) {
    filter.seller_id = actor.id;
    if (!requested.buyer_id.empty()) {
      return common::PermissionDenied("a seller lists only its own sales");
    }
  } else if (actor.as_buyer && (requested.buyer_id.empty() || requested.buyer_id == actor.id) &&
             requested.seller_id.empty()) {
    filter.buyer_id = actor.id;
  } else {
    return common::PermissionDenied("only your own payments can be listed");
  }
  return filter;
}

absl::StatusOr<PaymentPage> PaymentReads::ListPayments(const ListFilter& filter) {
  PaymentPage page;
  ASSIGN_OR_RETURN(page.payments, store_->RunInTransaction<std::vector<PaymentRecord>>(
                                      [&](PaymentTransaction& tx) {
                                        ListFilter probe = filter;
                                        probe.limit = filter.limit + 1;
                                        return tx.ListPayments(probe);
                                      },
                                      kReadOnly));
  page.more = static_cast<int>(page.payments.size()) > filter.limit;
  if (page.more) page.payments.resize(filter.limit);
  return page;
}

}  // namespace marketplace::payments
