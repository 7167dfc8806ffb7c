#include "services/payments/payouts.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "services/payments/escrow.h"
#include "services/payments/ledger.h"
#include "services/payments/stored_answers.h"

namespace marketplace::payments {
namespace {

constexpr StoreTransactionOptions kReadOnly{.read_only = true, .defer_writes = false};

std::string PayoutOperationId(absl::string_view payout_id) {
  return absl::StrCat("payout_", payout_id);
}

// The payout a request makes is named by the request (caller, method, request_id and hash):
// "po_" and 24 hex digits of ProcessorKey's digest, the form NewId makes. So is its processor
// operation ("payout_po_<24 hex>"), kept for good, which a retry after the 24 h idempotency
// window finds.
std::string PayoutIdOf(const RequestKey& key) { return ProcessorKey("po", key).substr(0, 3 + 24); }

// A payout as CreatePayout's first answer recorded it (before the processor), from its
// processor operation.
PayoutRecord RecordedPayout(const ProcessorOperation& op) {
  return PayoutRecord{op.payout_id,        op.seller_id, op.currency, op.amount_minor,
                      op.target_reference, "PENDING",    "",          op.created_at};
}

}  // namespace

absl::StatusOr<PayoutRecord> Payouts::RecordPayout(const PayoutRequest& req, bool& ran) {
  PaymentStore& store = *context_.store;
  ASSIGN_OR_RETURN(std::optional<StoredAnswer> stored, store.FindAnswer(req.key));
  if (stored) {
    if (!stored->status.ok()) return stored->status;
    return DecodePayoutAnswer(stored->response);
  }
  const std::string payout_id = PayoutIdOf(req.key);
  const std::string operation_id = PayoutOperationId(payout_id);
  // A payout this very request recorded before its idempotency record was purged (24 h) is
  // answered below whatever the seller's standing is now: identity is not asked.
  ASSIGN_OR_RETURN(std::optional<ProcessorOperation> earlier, store.LoadOperation(operation_id));
  std::string payout_account;
  if (!earlier) {
    ASSIGN_OR_RETURN(common::identity_client::SellerStatus seller,
                     ApprovedSeller(context_, req.seller_id, req.origin));
    payout_account = seller.payout_account;
  }
  ASSIGN_OR_RETURN(
      std::string answer,
      store.RunIdempotent(req.key, [&](PaymentTransaction& tx) -> absl::StatusOr<std::string> {
        ran = false;
        // The payout of this very request (same caller, request_id and body: the same payout
        // and operation id) was recorded before, and its idempotency record has been purged
        // since while processor_operations rows are kept for good: a retry of it, answered
        // from the operation as the stored record would have answered it. Nothing is recorded
        // again (no second payout, no duplicate key).
        ASSIGN_OR_RETURN(std::optional<ProcessorOperation> recorded,
                         tx.LoadOperation(operation_id, /*for_update=*/false));
        if (recorded) {
          // The id names this request's payout; anything else would be another request's.
          if (recorded->seller_id != req.seller_id ||
              recorded->amount_minor != req.amount.amount_minor() ||
              recorded->currency != req.amount.currency_code()) {
            return absl::InternalError(
                absl::StrCat("payout id ", payout_id, " names another request's payout"));
          }
          return EncodePayoutAnswer(RecordedPayout(*recorded));
        }
        if (earlier) return absl::InternalError("payout operation vanished");
        ran = true;
        const absl::Time now = context_.clock->Now();
        const std::string& currency = req.amount.currency_code();
        ASSIGN_OR_RETURN(SellerAccounts accounts,
                         tx.LockSellerAccounts(req.seller_id, currency, now));
        ASSIGN_OR_RETURN(LedgerTransaction ledger,
                         Payout(req.seller_id, req.amount, accounts.available_minor));
        PayoutRecord record{payout_id,      req.seller_id, currency, req.amount.amount_minor(),
                            payout_account, "PENDING",     "",       now};
        ledger.payout_id = record.payout_id;
        RETURN_IF_ERROR(tx.WriteLedger(ledger, now));
        RETURN_IF_ERROR(tx.InsertPayout(record));
        ProcessorOperation op;
        op.operation_id = operation_id;
        op.kind = "PAYOUT";
        op.payout_id = record.payout_id;
        op.seller_id = record.seller_id;
        op.currency = record.currency;
        op.amount_minor = record.amount_minor;
        op.target_reference = record.payout_account;
        op.next_attempt_at = now + context_.options.retry_initial_backoff;
        op.created_at = now;
        RETURN_IF_ERROR(tx.InsertOperation(op));
        return EncodePayoutAnswer(record);
      }));
  return DecodePayoutAnswer(answer);
}

absl::StatusOr<PayoutRecord> Payouts::CreatePayout(const Actor& actor, const PayoutRequest& req) {
  if (!actor.any_payment && !(actor.as_seller && actor.id == req.seller_id)) {
    return common::PermissionDenied("a seller pays out only its own balance");
  }
  bool ran = false;  // this call recorded the payout (not a stored answer)
  ASSIGN_OR_RETURN(PayoutRecord payout, RecordPayout(req, ran));
  if (ran) context_.observer->PayoutRecorded();
  // The ledger has the money out of `available`; now the processor sends it, keyed by the
  // operation id, so this call, its retries and the completion worker send it once.
  ASSIGN_OR_RETURN(std::optional<ProcessorOperation> op,
                   context_.store->LoadOperation(PayoutOperationId(payout.payout_id)));
  if (op && op->state == "PENDING") RETURN_IF_ERROR(operations_->Attempt(*op).status());
  ASSIGN_OR_RETURN(std::optional<PayoutRecord> record,
                   context_.store->LoadPayout(payout.payout_id));
  if (!record) return absl::InternalError("payout row missing");
  if (record->state == "PENDING") {
    return absl::UnavailableError(
        "the payout is being sent by another attempt; retry with the same request_id");
  }
  if (record->state == "FAILED") {
    return common::FailedPrecondition(
        "PAYOUT_DECLINED", absl::StrCat("the processor refused payout ", record->payout_id,
                                        " to the seller's payout account; the amount is "
                                        "available again"));
  }
  payout.processor_reference = record->processor_reference;
  payout.state = "PAID";
  return payout;
}

absl::Status Payouts::MaySeePayouts(const Actor& actor, const std::string& seller_id) {
  if (!actor.any_payment && !(actor.as_seller && actor.id == seller_id)) {
    return common::PermissionDenied("a seller sees only its own payouts");
  }
  return absl::OkStatus();
}

absl::StatusOr<PayoutPage> Payouts::ListPayouts(
    const Actor& actor, const std::string& seller_id,
    const std::optional<std::pair<absl::Time, std::string>>& after, int limit) {
  RETURN_IF_ERROR(MaySeePayouts(actor, seller_id));
  PayoutPage page;
  ASSIGN_OR_RETURN(page.payouts, context_.store->RunInTransaction<std::vector<PayoutRecord>>(
                                     [&](PaymentTransaction& tx) {
                                       return tx.ListPayouts(seller_id, after, limit + 1);
                                     },
                                     kReadOnly));
  page.more = static_cast<int>(page.payouts.size()) > limit;
  if (page.more) page.payouts.resize(limit);
  return page;
}

absl::StatusOr<std::vector<SellerAccounts>> Payouts::GetSellerBalance(
    const Actor& actor, const std::string& seller_id) {
  if (!actor.any_payment && !(actor.as_seller && actor.id == seller_id)) {
    return common::PermissionDenied("a seller sees only its own balance");
  }
  return context_.store->RunInTransaction<std::vector<SellerAccounts>>(
      [&](PaymentTransaction& tx) { return tx.LoadSellerBalances(seller_id); }, kReadOnly);
}

absl::StatusOr<HoldPolicyRecord> Payouts::GetSellerHoldPolicy(const Actor& actor,
                                                              const std::string& seller_id) {
  if (!actor.any_payment) return common::PermissionDenied("only ADMIN or payments.policy");
  ASSIGN_OR_RETURN(std::optional<HoldPolicyRecord> stored,
                   context_.store->RunInTransaction<std::optional<HoldPolicyRecord>>(
                       [&](PaymentTransaction& tx) { return tx.LoadHoldPolicy(seller_id); },
                       kReadOnly));
  if (stored.has_value()) return *std::move(stored);
  return HoldPolicyRecord{seller_id, context_.options.default_hold, "", "", absl::Time()};
}

absl::StatusOr<HoldPolicyRecord> Payouts::SetSellerHoldPolicy(const Actor& actor,
                                                              const std::string& seller_id,
                                                              absl::Duration hold,
                                                              const std::string& reason) {
  if (!actor.any_payment) return common::PermissionDenied("only ADMIN or payments.policy");
  HoldPolicyRecord policy{seller_id, hold, reason, actor.id, context_.clock->Now()};
  RETURN_IF_ERROR(context_.store->RunInTransaction(
      [&](PaymentTransaction& tx) { return tx.UpsertHoldPolicy(policy); }));
  return policy;
}

}  // namespace marketplace::payments
