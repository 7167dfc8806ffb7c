#ifndef MARKETPLACE_SERVICES_PAYMENTS_CHECKOUT_H_
#define MARKETPLACE_SERVICES_PAYMENTS_CHECKOUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/client/call_origin.h"
#include "common/group_commit.h"
#include "common/money.h"
#include "services/payments/actor.h"
#include "services/payments/ledger.h"
#include "services/payments/payment_records.h"
#include "services/payments/payment_store.h"
#include "services/payments/payments_context.h"
#include "services/payments/processor_operations.h"

namespace marketplace::payments {

// A checkout's request to pay for an order (its fields checked by the API layer).
struct PaymentRequest {
  RequestKey key;
  std::string order_id;
  std::string buyer_id;
  std::string seller_id;
  std::string payment_method_token;
  common::Money amount;
  std::optional<int32_t> commission_bps;  // the default when absent
  // The call being served: the seller lookup and the processor calls carry its deadline and
  // x-request-id, and the processor is not called once the deadline has passed.
  common::CallOrigin origin;
};

// The two hot paths: CreatePayment (processor authorisation and capture, then the payment
// held in escrow) and ConfirmDelivery (release to the seller). Both are group-committed:
// concurrent calls are written together in one transaction (deferred writes, multi-row
// statements); when a batch fails each of its calls runs alone and gets its own answer.
// Thread-safe.
class Checkout {
 public:
  // `context` and `operations` must outlive the checkout.
  Checkout(const PaymentsContext* context, ProcessorOperations* operations);

  // The payment held in escrow, or the first answer of this request. Before the processor is
  // called the request's intent (request key and hash, order, seller, amount, payment id) is
  // committed (payment_intents): a retry with another body is REQUEST_ID_REUSED even when no
  // payment was written, and a capture whose payment never commits is refunded by the
  // completion worker (ProcessorOperations::RefundAbandonedCaptures). The processor is called
  // outside any transaction with keys derived from the request and its hash, so a retry reuses
  // its authorisation and capture. DEADLINE_EXCEEDED, without calling the processor, once the
  // caller's deadline has passed.
  [[nodiscard]] absl::StatusOr<PaymentRecord> CreatePayment(const Actor& actor,
                                                            const PaymentRequest& request);
  // The payment released to its seller.
  [[nodiscard]] absl::StatusOr<PaymentRecord> ConfirmDelivery(const Actor& actor,
                                                              const RequestKey& key,
                                                              const std::string& payment_id);

  // Group commit so far: {batches, calls} of CreatePayment's first reads, of its writes and
  // of ConfirmDelivery.
  std::pair<int64_t, int64_t> CheckoutReadTotals() const { return reads_.Totals(); }
  std::pair<int64_t, int64_t> CreateBatchTotals() const { return creates_.Totals(); }
  std::pair<int64_t, int64_t> ConfirmBatchTotals() const { return confirmations_.Totals(); }

 private:
  // What a call's transaction did.
  struct Outcome {
    absl::StatusOr<PaymentRecord> result;
    bool ran = false;               // this call made the change (not a stored answer)
    bool returned_capture = false;  // refused ORDER_ALREADY_PAID; its capture goes back
  };
  struct NewPayment {  // a CreatePayment ready to be written
    RequestKey key;
    std::string intent_id;
    PaymentRecord record;
    LedgerTransaction ledger;
    PaymentEvent history;
    OutboxEvent event;
    std::string answer;  // the encoded response
  };
  struct Confirmation {  // a ConfirmDelivery to be run
    Actor actor;
    RequestKey key;
    std::string payment_id;
  };

  // The group commit's batches: one transaction for all; when it fails, each call alone.
  std::vector<Outcome> WriteNewPayments(std::vector<NewPayment>& batch);
  std::vector<Outcome> ConfirmDeliveries(std::vector<Confirmation>& batch);
  Outcome WriteNewPayment(const NewPayment& payment);
  Outcome ConfirmAlone(const Confirmation& confirmation);
  // What Charge did: the capture's reference, or, when another call (the completion worker, a
  // twin) closed the intent before the capture was asked, its outcome (nothing captured).
  struct Charged {
    std::string capture_reference;
    std::string closed_outcome;
  };
  // The processor's authorisation and capture; the authorisation is recorded on `intent`
  // before the capture is asked, and only while the intent is open.
  absl::StatusOr<Charged> Charge(const PaymentRequest& request, const PaymentIntent& intent);
  // The answer of a request whose intent was closed with `outcome` by another call:
  // PAYMENT_ABANDONED (REFUNDED, ABANDONED), else the twin's stored answer.
  absl::StatusOr<PaymentRecord> ClosedIntentAnswer(const RequestKey& key,
                                                   absl::string_view outcome);
  // EnsureSellerAccounts once per seller and currency this process has seen.
  absl::Status EnsureSellerAccounts(const std::string& seller_id, const std::string& currency);

  const PaymentsContext& context_;
  ProcessorOperations* operations_;
  absl::Mutex known_mu_;
  absl::flat_hash_set<std::string> known_accounts_ ABSL_GUARDED_BY(known_mu_);
  common::GroupCommitter<CheckoutLookup, absl::StatusOr<CheckoutFacts>> reads_;
  // CreatePayment's intents and the authorisations recorded before capture, batched like
  // the first reads: one autocommitted statement for the calls waiting.
  common::GroupCommitter<PaymentIntent, absl::StatusOr<PaymentIntent>> intents_;
  using Authorization = std::pair<std::string, std::string>;  // intent id, reference
  // Per call: empty when recorded, else the outcome of the intent closed before.
  common::GroupCommitter<Authorization, absl::StatusOr<std::string>> authorizations_;
  common::GroupCommitter<NewPayment, Outcome> creates_;
  common::GroupCommitter<Confirmation, Outcome> confirmations_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_CHECKOUT_H_
