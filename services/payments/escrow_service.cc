#include "services/payments/escrow_service.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/db/transaction.h"
#include "common/errors.h"
#include "common/logging.h"
#include "common/money.h"
#include "common/money_proto.h"
#include "common/status_macros.h"
#include "google/rpc/error_details.pb.h"
#include "services/payments/convert.h"
#include "services/payments/escrow.h"
#include "services/payments/ledger.h"
#include "services/payments/mysql_payment_store.h"

namespace marketplace::payments {
namespace {

using common::InvalidField;
using common::db::Transaction;
using common::idempotency::RequestKey;

constexpr char kMethodPrefix[] = "/marketplace.payments.v1.Payments/";
constexpr char kSystemActor[] = "system";

// The group-commit batches: their writes are queued and sent with the COMMIT (any failure
// sends the batch's calls through their single-call path, which reports it properly).
common::db::TransactionOptions BatchWriteOptions() {
  common::db::TransactionOptions options;
  options.defer_writes = true;
  return options;
}
const common::db::TransactionOptions kBatchWrites = BatchWriteOptions();

std::string Method(absl::string_view name) { return absl::StrCat(kMethodPrefix, name); }

std::string RandomId(absl::string_view prefix) {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // RAND_bytes failing means the process has no entropy source; ids must stay unique.
    std::abort();
  }
  return absl::StrCat(prefix, absl::BytesToHexString(absl::string_view(
                                  reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

// A stable processor idempotency key for one request and operation.
std::string ProcessorKey(absl::string_view operation, const RequestKey& key) {
  const std::string material = absl::StrCat(key.caller, "\n", key.method, "\n", key.request_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
  return absl::StrCat(
      operation, "_",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16)));
}

// A refund of `amount_minor` of payment `p` to the buyer's payment method, to be sent through
// the processor under `operation_id`; the completion worker tries it from `first_retry_at`.
ProcessorOperation RefundOperation(const std::string& operation_id, const PaymentRecord& p,
                                   int64_t amount_minor, absl::Time first_retry_at,
                                   absl::Time now) {
  ProcessorOperation op;
  op.operation_id = operation_id;
  op.kind = "REFUND";
  op.payment_id = p.money.id;
  op.seller_id = p.money.seller_id;
  op.currency = p.money.amount.currency_code();
  op.amount_minor = amount_minor;
  op.target_reference = p.processor_reference;
  op.next_attempt_at = first_retry_at;
  op.created_at = now;
  return op;
}

// The processor operation that gives back the capture of a CreatePayment refused because its
// order was paid meanwhile (by another request that raced it past the first read).
std::string ReturnOperationId(const RequestKey& key) { return ProcessorKey("return", key); }

// In the refused call's transaction: the capture goes back to the buyer. The ledger records
// the money coming in and going straight out (buyer_funding -> refunds_out, no payment), and
// a REFUND operation without payment sends it back through the processor (the call tries it
// at once, the completion worker until the processor answers for good).
absl::Status ReturnCapture(Transaction& tx, const RequestKey& key, const PaymentRecord& p,
                           absl::Time now) {
  const std::string& currency = p.money.amount.currency_code();
  LedgerTransaction back;
  back.kind = TransactionKind::kRefund;
  back.memo = absl::StrCat("capture for order ", p.order_id,
                           " (already paid by another request) returned to the buyer");
  Move(back, PlatformAccount(AccountKind::kBuyerFunding, currency),
       PlatformAccount(AccountKind::kRefundsOut, currency), p.money.amount.amount_minor());
  RETURN_IF_ERROR(store::WriteLedger(tx, back, now));
  ProcessorOperation op =
      RefundOperation(ReturnOperationId(key), p, p.money.amount.amount_minor(), now, now);
  op.payment_id.clear();  // the payment was never written
  return store::InsertOperation(tx, op);
}

absl::Status ValidateText(absl::string_view field, absl::string_view value, size_t max) {
  if (value.empty() || value.size() > max) {
    return InvalidField(field, absl::StrCat("must be 1-", max, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateId(absl::string_view field, absl::string_view value) {
  return ValidateText(field, value, 128);
}

absl::Status Declined(DeclineCode code) {
  absl::string_view name = "DECLINED";
  if (code == DeclineCode::kInsufficientFunds) name = "INSUFFICIENT_FUNDS";
  if (code == DeclineCode::kInvalidPaymentMethod) name = "INVALID_PAYMENT_METHOD";
  google::rpc::ErrorInfo info;
  info.set_reason("PAYMENT_DECLINED");
  info.set_domain("marketplace");
  (*info.mutable_metadata())["decline_code"] = std::string(name);
  absl::Status status = absl::FailedPreconditionError(
      absl::StrCat("the payment processor declined the payment (", name, ")"));
  status.SetPayload("type.googleapis.com/google.rpc.ErrorInfo",
                    absl::Cord(info.SerializeAsString()));
  return status;
}

// A transient processor failure as the API reports it.
absl::Status ProcessorUnavailable(const absl::Status& status, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("the payment processor did not complete the ", what,
                                             " (", absl::StatusCodeToString(status.code()),
                                             "); retry with the same request_id"));
}

// A group commit's transaction failed (a retry of a request done before, two calls for one
// order, a lost connection...): its calls run one by one, each with its own answer.
void BatchFailed(absl::string_view method, size_t size, const absl::Status& status) {
  common::LogDebug("write batch failed; its calls run one by one",
                   {{"method", std::string(method)},
                    {"size", absl::StrCat(size)},
                    {"error", status.ToString()}});
}

bool MayActOn(const Actor& actor, absl::string_view buyer_id, absl::string_view seller_id) {
  return actor.any_payment || (actor.as_buyer && actor.id == buyer_id) ||
         (actor.as_seller && actor.id == seller_id);
}

absl::Status NotYours() { return common::PermissionDenied("the payment belongs to someone else"); }

absl::StatusOr<std::optional<DisputeOutcome>> OutcomeOf(pb::DisputeOutcome outcome) {
  switch (outcome) {
    case pb::BUYER_WINS:
      return std::optional<DisputeOutcome>(DisputeOutcome::kBuyerWins);
    case pb::SELLER_WINS:
      return std::optional<DisputeOutcome>(DisputeOutcome::kSellerWins);
    case pb::SPLIT:
      return std::optional<DisputeOutcome>(DisputeOutcome::kSplit);
    case pb::PLATFORM_GUARANTEE:
      return std::optional<DisputeOutcome>(DisputeOutcome::kPlatformGuarantee);
    default:
      return std::optional<DisputeOutcome>();
  }
}

const std::set<std::string>& DisputeReasons() {
  static const auto* reasons = new std::set<std::string>{
      "NOT_RECEIVED", "NOT_AS_DESCRIBED", "DAMAGED", "COUNTERFEIT", "UNAUTHORISED", "OTHER"};
  return *reasons;
}

// What a page token is bound to: the filters it was issued with, as the service applies them
// (after narrowing to the caller's own payments), as 16 hex digits of their SHA-256.
std::string Digest(absl::string_view material) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

std::string FilterDigest(const ListFilter& filter) {
  return Digest(absl::StrCat(filter.buyer_id.size(), ":", filter.buyer_id, "|",
                             filter.seller_id.size(), ":", filter.seller_id, "|",
                             filter.state ? static_cast<int>(*filter.state) : 0));
}

std::string PayoutsDigest(absl::string_view seller_id) {
  return Digest(absl::StrCat("payouts|", seller_id));
}

// "<created_at micros>:<filter digest>:<id>", web-safe base64: a keyset cursor.
std::string EncodePageToken(absl::Time created_at, absl::string_view id,
                            absl::string_view digest) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(absl::ToUnixMicros(created_at), ":", digest, ":", id));
}

// The cursor of `token`, which must have been issued for `digest`; `filters` names them in
// the error otherwise.
absl::StatusOr<std::pair<absl::Time, std::string>> DecodePageToken(absl::string_view token,
                                                                   absl::string_view digest,
                                                                   absl::string_view filters) {
  std::string raw;
  auto bad = InvalidField("page_token", "must be a next_page_token from a previous response");
  if (!absl::WebSafeBase64Unescape(token, &raw)) return bad;
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits(':', 2));
  int64_t micros = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &micros) || parts[2].empty()) return bad;
  if (parts[1] != digest) {
    return InvalidField("page_token",
                        absl::StrCat("was issued for other filters (", filters,
                                     "); repeat the first request's filters or start again "
                                     "without page_token"));
  }
  return std::make_pair(absl::FromUnixMicros(micros), parts[2]);
}

}  // namespace

EscrowService::EscrowService(common::db::ConnectionPool* pool, PaymentProcessor* processor,
                             common::identity_client::SellerDirectory* sellers, const common::Clock* clock,
                             EscrowServiceOptions options)
    : pool_(pool),
      processor_(processor),
      sellers_(sellers),
      clock_(clock),
      options_(options),
      outbox_("payments", clock),
      idempotency_(clock),
      checkout_reads_(
          [this](std::vector<CheckoutRead>& batch) {
            static const std::vector<common::idempotency::IdempotencyStore::Lookup> kLookups = {
                {"payments", "order_id", "payment_id"},
                {"hold_policies", "seller_id", "hold_seconds"}};
            return idempotency_.FindMany(*pool_, kLookups, batch);
          },
          {options.write_batch_max, options.write_batches_in_flight, options.write_batch_overlap_min}),
      creates_([this](std::vector<NewPayment>& batch) { return WriteNewPayments(batch); },
               {options.write_batch_max, options.write_batches_in_flight, options.write_batch_overlap_min}),
      confirmations_(
          [this](std::vector<Confirmation>& batch) { return ConfirmDeliveries(batch); },
          {options.write_batch_max, options.write_batches_in_flight, options.write_batch_overlap_min}) {}

absl::Status EscrowService::EnsureSellerAccounts(const std::string& seller_id,
                                                 const std::string& currency) {
  const std::string key = absl::StrCat(currency, "/", seller_id);
  {
    absl::MutexLock lock(&known_mu_);
    if (known_accounts_.contains(key)) return absl::OkStatus();
  }
  RETURN_IF_ERROR(store::EnsureSellerAccounts(*pool_, seller_id, currency, clock_->Now()));
  absl::MutexLock lock(&known_mu_);
  known_accounts_.insert(key);
  return absl::OkStatus();
}

// --- CreatePayment --------------------------------------------------------------------------

absl::StatusOr<pb::Payment> EscrowService::CreatePayment(const Actor& actor,
                                                         const pb::CreatePaymentRequest& req) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(ValidateId("order_id", req.order_id()));
  violations.Check(ValidateId("buyer_id", req.buyer_id()));
  violations.Check(ValidateId("seller_id", req.seller_id()));
  violations.Check(ValidateText("payment_method_token", req.payment_method_token(), 256));
  absl::StatusOr<common::Money> amount =
      req.has_amount()
          ? common::MoneyFromProto(req.amount(), "amount", common::AmountRule::kPositive)
          : absl::StatusOr<common::Money>(InvalidField("amount", "is required"));
  if (!amount.ok()) violations.Check(amount.status());
  if (req.has_commission_bps() && (req.commission_bps() < 0 || req.commission_bps() > 10000)) {
    violations.Add("commission_bps", "must be 0-10000 basis points");
  }
  RETURN_IF_ERROR(violations.Status());
  if (!actor.any_payment && !(actor.as_buyer && actor.id == req.buyer_id())) {
    return common::PermissionDenied("a buyer pays only for itself (buyer_id must be the caller)");
  }
  if (req.has_commission_bps() && !actor.may_set_commission) {
    return common::PermissionDenied("only ADMIN and SERVICE callers may set commission_bps");
  }

  const RequestKey key{actor.id, Method("CreatePayment"), req.request_id()};
  const std::string hash = common::idempotency::RequestHash(req);
  // The stored result of this request, if it was made before.
  auto replay_of = [](const std::optional<common::idempotency::StoredResult>& stored)
      -> absl::StatusOr<std::optional<pb::Payment>> {
    if (!stored) return std::optional<pb::Payment>();
    if (!stored->status.ok()) return stored->status;
    pb::Payment payment;
    if (!payment.ParseFromString(stored->response)) {
      return absl::InternalError("stored response does not parse");
    }
    return std::optional<pb::Payment>(std::move(payment));
  };
  // One statement with the concurrent calls: this request's stored result, a payment of the
  // order, the seller's hold policy (applies to payments created after it is set; read before
  // the transaction).
  ASSIGN_OR_RETURN(common::idempotency::IdempotencyStore::Found found,
                   checkout_reads_.Submit({key, hash, {req.order_id(), req.seller_id()}}));
  const std::optional<std::string>& existing = found.values[0];
  const std::optional<std::string>& hold_seconds = found.values[1];
  ASSIGN_OR_RETURN(std::optional<pb::Payment> first, replay_of(found.stored));
  if (first) return *std::move(first);

  ASSIGN_OR_RETURN(common::identity_client::SellerStatus seller,
                   sellers_->GetSeller(req.seller_id()));
  if (!seller.found) return common::NotFound("seller", req.seller_id());
  if (!seller.approved_active) {
    return common::FailedPrecondition("SELLER_NOT_APPROVED",
                                      "the seller is not an approved, active seller");
  }
  if (existing) {
    // Made by this very request since the first look (a twin in parallel): its result.
    ASSIGN_OR_RETURN(auto stored, idempotency_.Find(*pool_, key, hash));
    ASSIGN_OR_RETURN(std::optional<pb::Payment> twin, replay_of(stored));
    if (twin) return *std::move(twin);
    return common::WithReason(
        absl::AlreadyExistsError(absl::StrCat("order ", req.order_id(), " already has a payment")),
        "ORDER_ALREADY_PAID");
  }

  // The processor, outside any transaction; its keys derive from the request, so a retry
  // (or a twin running in parallel) gets the same authorisation and capture.
  absl::StatusOr<ProcessorResult> auth =
      processor_->Authorize(ProcessorKey("auth", key), req.payment_method_token(), *amount);
  if (!auth.ok()) return ProcessorUnavailable(auth.status(), "authorisation");
  if (!auth->accepted) {
    ASSIGN_OR_RETURN(auto stood,
                     idempotency_.RecordError(*pool_, key, hash, Declined(auth->decline)));
    if (options_.metrics) options_.metrics->PaymentDeclined();
    return stood.status.ok() ? absl::InternalError("decline stored as success") : stood.status;
  }
  absl::StatusOr<ProcessorResult> capture =
      processor_->Capture(ProcessorKey("capture", key), auth->reference, *amount);
  if (!capture.ok()) return ProcessorUnavailable(capture.status(), "capture");
  if (!capture->accepted) {
    ASSIGN_OR_RETURN(auto stood,
                     idempotency_.RecordError(*pool_, key, hash, Declined(capture->decline)));
    if (options_.metrics) options_.metrics->PaymentDeclined();
    return stood.status.ok() ? absl::InternalError("decline stored as success") : stood.status;
  }

  RETURN_IF_ERROR(EnsureSellerAccounts(req.seller_id(), amount->currency_code()));
  const int32_t bps =
      req.has_commission_bps() ? req.commission_bps() : options_.default_commission_bps;
  absl::Duration hold = options_.default_hold;
  if (hold_seconds) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(*hold_seconds, &seconds)) {
      return absl::InternalError("hold_policies.hold_seconds is not a number");
    }
    hold = absl::Seconds(seconds);
  }
  const absl::Time now = clock_->Now();
  NewPayment n;
  n.key = key;
  n.hash = hash;
  PaymentRecord& p = n.record;
  p.money.id = RandomId("pay_");
  p.money.seller_id = req.seller_id();
  p.money.amount = *amount;
  p.money.commission_bps = bps;
  p.order_id = req.order_id();
  p.buyer_id = req.buyer_id();
  p.processor_reference = capture->reference;
  p.created_at = now;
  p.release_due_at = now + hold;
  EscrowStep step = Capture(p.money);
  p.money = step.after;
  n.ledger = std::move(step.transaction);
  n.history = {p.money.id,
               p.money.amount.currency_code(),
               {"CREATED", p.money.state, actor.id, p.money.amount.amount_minor(), "", "", now}};
  pb::PaymentHeld event;
  event.set_payment_id(p.money.id);
  event.set_order_id(p.order_id);
  event.set_buyer_id(p.buyer_id);
  event.set_seller_id(p.money.seller_id);
  *event.mutable_amount() = MoneyProto(amount->currency_code(), amount->amount_minor());
  ToTimestamp(p.release_due_at, event.mutable_release_due_at());
  ASSIGN_OR_RETURN(google::protobuf::Any packed, common::outbox::Outbox::Pack(event));
  n.event = {"payments.payment_held", p.money.seller_id, std::move(packed)};
  n.response = ToProto(p);
  Outcome created = creates_.Submit(std::move(n));
  if (created.result.ok() && created.ran && options_.metrics) options_.metrics->PaymentHeld();
  if (created.returned_capture) {
    // This call's attempt to give the capture back; the completion worker retries it.
    absl::StatusOr<std::optional<ProcessorOperation>> op =
        store::LoadOperation(*pool_, ReturnOperationId(key));
    if (op.ok() && *op && (*op)->state == "PENDING") (void)AttemptOperation(**op);
  }
  return std::move(created.result);
}

std::vector<EscrowService::Outcome> EscrowService::WriteNewPayments(
    std::vector<NewPayment>& batch) {
  std::vector<common::idempotency::IdempotencyStore::Completed> keys;
  std::vector<PaymentRecord> records;
  std::vector<store::PaymentEvent> history;
  std::vector<common::outbox::Outbox::Event> events;
  std::vector<LedgerTransaction> ledgers;
  for (const NewPayment& n : batch) {
    keys.push_back({n.key, n.hash, {absl::OkStatus(), n.response.SerializeAsString()}});
    records.push_back(n.record);
    history.push_back(n.history);
    events.push_back(n.event);
    ledgers.push_back(n.ledger);
  }
  // The key first: a retry of a request done before fails it at once (and goes alone). Every
  // statement waits for the COMMIT and goes with it, the whole transaction in one round trip:
  // whatever fails, each call runs alone next.
  absl::Status written = common::db::RunInTransaction(
      *pool_,
      [&](Transaction& tx) {
        RETURN_IF_ERROR(idempotency_.InsertCompleted(tx, keys));
        RETURN_IF_ERROR(store::InsertPayments(tx, records));
        RETURN_IF_ERROR(store::AppendEvents(tx, history));
        RETURN_IF_ERROR(outbox_.EnqueueAll(tx, events).status());
        // Last: the sellers' balance rows, which their other payments wait for.
        return store::WriteLedgers(tx, ledgers, clock_->Now());
      },
      kBatchWrites);
  if (!written.ok()) BatchFailed("CreatePayment", batch.size(), written);
  std::vector<Outcome> out;
  for (const NewPayment& n : batch) {
    out.push_back(written.ok() ? Outcome{n.response, true} : WriteNewPayment(n));
  }
  return out;
}

EscrowService::Outcome EscrowService::WriteNewPayment(const NewPayment& n) {
  Outcome out{absl::UnknownError("not run"), false};
  out.result = common::idempotency::RunIdempotent<pb::Payment>(
      *pool_, idempotency_, n.key, n.hash, [&](Transaction& tx) -> absl::StatusOr<pb::Payment> {
        out.ran = true;
        if (absl::Status inserted = store::InsertPayment(tx, n.record);
            common::ReasonOf(inserted) == "ORDER_ALREADY_PAID") {
          // The buyer was charged for an order another request paid: that charge goes back,
          // committed with this answer.
          RETURN_IF_ERROR(ReturnCapture(tx, n.key, n.record, clock_->Now()));
          out.returned_capture = true;
          return common::idempotency::KeepWrites(inserted);
        } else {
          RETURN_IF_ERROR(inserted);
        }
        RETURN_IF_ERROR(store::AppendEvents(tx, absl::MakeConstSpan(&n.history, 1)));
        RETURN_IF_ERROR(outbox_.EnqueueAll(tx, absl::MakeConstSpan(&n.event, 1)).status());
        // Last: it takes the seller's balance row, which the seller's other payments wait for.
        RETURN_IF_ERROR(store::WriteLedger(tx, n.ledger, clock_->Now()));
        return n.response;
      });
  return out;
}

// --- Mutations of one payment ---------------------------------------------------------------

namespace {

// What a step of an existing payment does inside its transaction: changes `p` and writes its
// ledger transaction, history and event.
using PaymentStep = std::function<absl::Status(Transaction& tx, PaymentRecord& p, absl::Time now)>;

// Runs `step` on the payment in one idempotent transaction: the payment row locked, the
// caller's right to it checked, the payment row written back.
absl::StatusOr<pb::Payment> MutatePayment(common::db::ConnectionPool& pool,
                                          const common::idempotency::IdempotencyStore& idempotency,
                                          const common::Clock& clock, const Actor& actor,
                                          const RequestKey& key, const std::string& hash,
                                          const std::string& payment_id, const PaymentStep& step) {
  return common::idempotency::RunIdempotent<pb::Payment>(
      pool, idempotency, key, hash, [&](Transaction& tx) -> absl::StatusOr<pb::Payment> {
        const absl::Time now = clock.Now();
        ASSIGN_OR_RETURN(auto loaded, store::LoadPayment(tx, payment_id, /*for_update=*/true));
        if (!loaded) return common::NotFound("payment", payment_id);
        PaymentRecord p = *std::move(loaded);
        if (!MayActOn(actor, p.buyer_id, p.money.seller_id)) return NotYours();
        RETURN_IF_ERROR(step(tx, p, now));
        RETURN_IF_ERROR(store::UpdatePayment(tx, p));
        return ToProto(p);
      });
}

absl::Status ValidatePaymentId(absl::string_view payment_id) {
  if (payment_id.empty() || payment_id.size() > 64) {
    return InvalidField("payment_id", "must be 1-64 characters");
  }
  return absl::OkStatus();
}

pb::PaymentReleased ReleasedEvent(const PaymentRecord& p, bool automatic) {
  pb::PaymentReleased event;
  event.set_payment_id(p.money.id);
  event.set_order_id(p.order_id);
  event.set_seller_id(p.money.seller_id);
  *event.mutable_seller_net() =
      MoneyProto(p.money.amount.currency_code(), p.money.seller_net_minor);
  *event.mutable_commission() =
      MoneyProto(p.money.amount.currency_code(), p.money.commission_minor);
  event.set_automatic(automatic);
  return event;
}

}  // namespace

namespace {

// What confirming the delivery of `p` writes besides the payment row; `p` becomes RELEASED.
struct ReleaseWrites {
  LedgerTransaction ledger;
  store::PaymentEvent history;
  common::outbox::Outbox::Event event;
};

absl::StatusOr<ReleaseWrites> ConfirmStep(const Actor& actor, PaymentRecord& p, absl::Time now) {
  ASSIGN_OR_RETURN(EscrowStep step, Release(p.money));
  p.money = step.after;
  p.released_at = now;
  ReleaseWrites w;
  w.ledger = std::move(step.transaction);
  w.history = {p.money.id,
               p.money.amount.currency_code(),
               {"DELIVERY_CONFIRMED", p.money.state, actor.id, std::nullopt, "", "", now}};
  ASSIGN_OR_RETURN(google::protobuf::Any packed,
                   common::outbox::Outbox::Pack(ReleasedEvent(p, false)));
  w.event = {"payments.payment_released", p.money.seller_id, std::move(packed)};
  return w;
}

}  // namespace

absl::StatusOr<pb::Payment> EscrowService::ConfirmDelivery(const Actor& actor,
                                                           const pb::ConfirmDeliveryRequest& req) {
  RETURN_IF_ERROR(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  RETURN_IF_ERROR(ValidatePaymentId(req.payment_id()));
  Confirmation c{actor, RequestKey{actor.id, Method("ConfirmDelivery"), req.request_id()},
                 common::idempotency::RequestHash(req), req.payment_id()};
  return confirmations_.Submit(std::move(c)).result;
}

std::vector<EscrowService::Outcome> EscrowService::ConfirmDeliveries(
    std::vector<Confirmation>& batch) {
  // Every payment locked by one statement; those the batch may release written together.
  // A call the batch does not take (unknown payment, not the caller's, not releasable, a
  // second call on one payment, a request_id used before) runs alone afterwards, where its
  // refusal or stored result is its answer.
  // START TRANSACTION goes with the locking read, every write with the COMMIT: two round trips.
  std::vector<std::optional<pb::Payment>> released(batch.size());
  absl::Status written = common::db::RunInTransaction(*pool_, [&](Transaction& tx) {
    std::fill(released.begin(), released.end(), std::nullopt);
    std::vector<std::string> ids;
    for (const Confirmation& c : batch) ids.push_back(c.payment_id);
    ASSIGN_OR_RETURN(std::vector<PaymentRecord> locked, store::LoadPaymentsForUpdate(tx, ids));
    std::map<std::string, const PaymentRecord*> by_id;
    for (const PaymentRecord& p : locked) by_id[p.money.id] = &p;
    const absl::Time now = clock_->Now();
    std::vector<common::idempotency::IdempotencyStore::Completed> keys;
    std::vector<PaymentRecord> records;
    std::vector<store::PaymentEvent> history;
    std::vector<common::outbox::Outbox::Event> events;
    std::vector<LedgerTransaction> ledgers;
    for (size_t i = 0; i < batch.size(); ++i) {
      const Confirmation& c = batch[i];
      auto it = by_id.find(c.payment_id);
      if (it == by_id.end() || it->second == nullptr) continue;
      PaymentRecord p = *it->second;
      it->second = nullptr;
      if (!MayActOn(c.actor, p.buyer_id, p.money.seller_id)) continue;
      absl::StatusOr<ReleaseWrites> w = ConfirmStep(c.actor, p, now);
      if (!w.ok()) continue;
      released[i] = ToProto(p);
      keys.push_back({c.key, c.hash, {absl::OkStatus(), released[i]->SerializeAsString()}});
      records.push_back(std::move(p));
      history.push_back(std::move(w->history));
      events.push_back(std::move(w->event));
      ledgers.push_back(std::move(w->ledger));
    }
    if (records.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(idempotency_.InsertCompleted(tx, keys));
    RETURN_IF_ERROR(store::AppendEvents(tx, history));
    RETURN_IF_ERROR(outbox_.EnqueueAll(tx, events).status());
    RETURN_IF_ERROR(store::UpdatePayments(tx, records));
    // Last: the sellers' balance rows, which their other payments wait for.
    return store::WriteLedgers(tx, ledgers, now);
  }, kBatchWrites);
  if (!written.ok()) BatchFailed("ConfirmDelivery", batch.size(), written);
  std::vector<Outcome> out;
  for (size_t i = 0; i < batch.size(); ++i) {
    out.push_back(written.ok() && released[i] ? Outcome{*std::move(released[i]), true}
                                              : ConfirmAlone(batch[i]));
  }
  return out;
}

EscrowService::Outcome EscrowService::ConfirmAlone(const Confirmation& c) {
  Outcome out{absl::UnknownError("not run"), false};
  out.result = MutatePayment(
      *pool_, idempotency_, *clock_, c.actor, c.key, c.hash, c.payment_id,
      [&](Transaction& tx, PaymentRecord& p, absl::Time now) -> absl::Status {
        out.ran = true;
        ASSIGN_OR_RETURN(ReleaseWrites w, ConfirmStep(c.actor, p, now));
        RETURN_IF_ERROR(store::AppendEvents(tx, absl::MakeConstSpan(&w.history, 1)));
        RETURN_IF_ERROR(outbox_.EnqueueAll(tx, absl::MakeConstSpan(&w.event, 1)).status());
        // Last: it takes the seller's balance row, which the seller's other payments wait for.
        return store::WriteLedger(tx, w.ledger, now);
      });
  return out;
}

absl::StatusOr<pb::Payment> EscrowService::RefundPayment(const Actor& actor,
                                                         const pb::RefundPaymentRequest& req) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(ValidatePaymentId(req.payment_id()));
  violations.Check(ValidateText("reason", req.reason(), 1000));
  absl::StatusOr<common::Money> amount =
      req.has_amount()
          ? common::MoneyFromProto(req.amount(), "amount", common::AmountRule::kPositive)
          : absl::StatusOr<common::Money>(InvalidField("amount", "is required"));
  if (!amount.ok()) violations.Check(amount.status());
  RETURN_IF_ERROR(violations.Status());

  const RequestKey key{actor.id, Method("RefundPayment"), req.request_id()};
  const std::string operation_id = ProcessorKey("refund", key);
  bool ran = false;  // this call recorded the refund (not a stored result)
  ASSIGN_OR_RETURN(
      pb::Payment payment,
      MutatePayment(
          *pool_, idempotency_, *clock_, actor, key, common::idempotency::RequestHash(req),
          req.payment_id(), [&](Transaction& tx, PaymentRecord& p, absl::Time now) -> absl::Status {
            ran = true;
            ASSIGN_OR_RETURN(EscrowStep step, Refund(p.money, *amount));
            RETURN_IF_ERROR(store::WriteLedger(tx, step.transaction, now));
            p.money = step.after;
            RETURN_IF_ERROR(store::AppendEvent(tx, p.money.id, p.money.amount.currency_code(),
                                               {"REFUNDED", p.money.state, actor.id,
                                                amount->amount_minor(), "", req.reason(), now}));
            pb::PaymentRefunded event;
            event.set_payment_id(p.money.id);
            event.set_order_id(p.order_id);
            event.set_buyer_id(p.buyer_id);
            event.set_seller_id(p.money.seller_id);
            *event.mutable_amount() = MoneyProto(amount->currency_code(), amount->amount_minor());
            event.set_full(p.money.refunded_minor == p.money.amount.amount_minor());
            event.set_reason(req.reason());
            RETURN_IF_ERROR(
                outbox_.Enqueue(tx, "payments.payment_refunded", p.money.seller_id, event)
                    .status());
            return store::InsertOperation(
                tx, RefundOperation(operation_id, p, amount->amount_minor(),
                                    now + options_.retry_initial_backoff, now));
          }));
  if (ran && options_.metrics) options_.metrics->RefundRecorded();
  // The money goes back through the processor once the ledger says so, keyed by the
  // operation id: this call's attempt, its retries and the completion worker send it once.
  ASSIGN_OR_RETURN(std::optional<ProcessorOperation> op,
                   store::LoadOperation(*pool_, operation_id));
  if (!op) return absl::InternalError("refund operation missing");
  if (op->state == "PENDING") {
    ASSIGN_OR_RETURN(ProcessorOperation after, AttemptOperation(*op));
    op = after;
  }
  if (op->state == "FAILED") {
    return common::FailedPrecondition(
        "REFUND_DECLINED",
        "the processor refused the refund to the buyer's payment method; the amount is "
        "recorded as owed to the buyer (refunds_owed) for support to pay by other means");
  }
  return payment;
}

absl::StatusOr<pb::Payment> EscrowService::SettleOwedRefund(
    const Actor& actor, const pb::SettleOwedRefundRequest& req) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(ValidatePaymentId(req.payment_id()));
  if (req.refund_id().empty() || req.refund_id().size() > 64) {
    violations.Add("refund_id", "must be 1-64 characters");
  }
  violations.Check(ValidateText("settlement_reference", req.settlement_reference(), 255));
  if (req.note().size() > 1000) violations.Add("note", "must be at most 1000 characters");
  RETURN_IF_ERROR(violations.Status());
  if (!actor.any_payment) {
    return common::PermissionDenied("only staff or payments.refunds settle owed refunds");
  }
  const RequestKey key{actor.id, Method("SettleOwedRefund"), req.request_id()};
  return MutatePayment(
      *pool_, idempotency_, *clock_, actor, key, common::idempotency::RequestHash(req),
      req.payment_id(), [&](Transaction& tx, PaymentRecord& p, absl::Time now) -> absl::Status {
        ASSIGN_OR_RETURN(std::optional<ProcessorOperation> op,
                         store::LoadOperationTx(tx, req.refund_id(), /*for_update=*/true));
        if (!op || op->kind != "REFUND" || op->payment_id != p.money.id) {
          return common::NotFound("refund", req.refund_id());
        }
        if (op->state == "SETTLED") {
          return common::FailedPrecondition(
              "REFUND_ALREADY_SETTLED",
              absl::StrCat("the refund was settled already (", op->settlement_reference, ")"));
        }
        ASSIGN_OR_RETURN(bool settled, store::SettleOperation(tx, op->operation_id,
                                                              req.settlement_reference(),
                                                              actor.id, now));
        if (!settled) {
          return common::FailedPrecondition(
              "REFUND_NOT_OWED", "only a refund the processor refused (REFUND_FAILED) is owed");
        }
        LedgerTransaction paid;
        paid.kind = TransactionKind::kRefund;
        paid.payment_id = p.money.id;
        paid.memo = "owed refund paid to the buyer by other means";
        Move(paid, PlatformAccount(AccountKind::kRefundsOwed, op->currency),
             PlatformAccount(AccountKind::kRefundsOut, op->currency), op->amount_minor);
        RETURN_IF_ERROR(store::WriteLedger(tx, paid, now));
        return store::AppendEvent(
            tx, p.money.id, op->currency,
            {"REFUND_SETTLED", p.money.state, actor.id, op->amount_minor, "",
             req.note().empty() ? req.settlement_reference()
                                : absl::StrCat(req.settlement_reference(), ": ", req.note()),
             now});
      });
}

absl::StatusOr<pb::Payment> EscrowService::OpenDispute(const Actor& actor,
                                                       const pb::OpenDisputeRequest& req) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(ValidatePaymentId(req.payment_id()));
  if (DisputeReasons().count(req.reason_code()) == 0) {
    violations.Add("reason_code",
                          "must be one of NOT_RECEIVED, NOT_AS_DESCRIBED, "
                          "DAMAGED, COUNTERFEIT, UNAUTHORISED, OTHER");
  }
  violations.Check(ValidateText("description", req.description(), 4000));
  RETURN_IF_ERROR(violations.Status());
  const RequestKey key{actor.id, Method("OpenDispute"), req.request_id()};
  bool ran = false;
  absl::StatusOr<pb::Payment> opened = MutatePayment(
      *pool_, idempotency_, *clock_, actor, key, common::idempotency::RequestHash(req),
      req.payment_id(), [&](Transaction& tx, PaymentRecord& p, absl::Time now) -> absl::Status {
        ran = true;
        ASSIGN_OR_RETURN(Payment after, payments::OpenDispute(p.money));
        p.money = after;
        RETURN_IF_ERROR(store::InsertDispute(
            tx, {p.money.id, req.reason_code(), req.description(), actor.id}, now));
        RETURN_IF_ERROR(store::AppendEvent(tx, p.money.id, p.money.amount.currency_code(),
                                           {"DISPUTE_OPENED", p.money.state, actor.id, std::nullopt,
                                            req.reason_code(), req.description(), now}));
        pb::DisputeOpened event;
        event.set_payment_id(p.money.id);
        event.set_order_id(p.order_id);
        event.set_buyer_id(p.buyer_id);
        event.set_seller_id(p.money.seller_id);
        event.set_reason_code(req.reason_code());
        return outbox_.Enqueue(tx, "payments.dispute_opened", p.money.seller_id, event).status();
      });
  if (opened.ok() && ran && options_.metrics) options_.metrics->DisputeOpened();
  return opened;
}

absl::StatusOr<pb::Payment> EscrowService::ResolveDispute(const Actor& actor,
                                                          const pb::ResolveDisputeRequest& req) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(ValidatePaymentId(req.payment_id()));
  violations.Check(ValidateText("explanation", req.explanation(), 4000));
  ASSIGN_OR_RETURN(std::optional<DisputeOutcome> outcome, OutcomeOf(req.outcome()));
  if (!outcome) {
    violations.Add("outcome", "must be BUYER_WINS, SELLER_WINS, SPLIT or PLATFORM_GUARANTEE");
  }
  std::optional<common::Money> share;
  if (outcome == DisputeOutcome::kSplit) {
    if (!req.has_buyer_share()) {
      violations.Add("buyer_share", "is required for a SPLIT outcome");
    } else {
      absl::StatusOr<common::Money> m =
          common::MoneyFromProto(req.buyer_share(), "buyer_share", common::AmountRule::kPositive);
      if (m.ok()) {
        share = *m;
      } else {
        violations.Check(m.status());
      }
    }
  } else if (req.has_buyer_share()) {
    violations.Add("buyer_share", "is only for a SPLIT outcome");
  }
  RETURN_IF_ERROR(violations.Status());
  const RequestKey key{actor.id, Method("ResolveDispute"), req.request_id()};
  const std::string operation_id = ProcessorKey("dispute_refund", key);
  bool ran = false;
  absl::StatusOr<pb::Payment> resolved = MutatePayment(
      *pool_, idempotency_, *clock_, actor, key, common::idempotency::RequestHash(req),
      req.payment_id(), [&](Transaction& tx, PaymentRecord& p, absl::Time now) -> absl::Status {
        ran = true;
        const int64_t refunded_before = p.money.refunded_minor;
        ASSIGN_OR_RETURN(EscrowStep step, Resolve(p.money, *outcome, share));
        RETURN_IF_ERROR(store::WriteLedger(tx, step.transaction, now));
        p.money = step.after;
        if (p.money.seller_net_minor > 0) p.released_at = now;
        const int64_t buyer_refund = p.money.refunded_minor - refunded_before;
        std::optional<int64_t> share_minor;
        if (share) share_minor = share->amount_minor();
        RETURN_IF_ERROR(store::ResolveDisputeRow(tx, p.money.id, *outcome, share_minor,
                                                 req.explanation(), actor.id, now));
        RETURN_IF_ERROR(store::AppendEvent(
            tx, p.money.id, p.money.amount.currency_code(),
            {"DISPUTE_RESOLVED", p.money.state, actor.id,
             buyer_refund > 0 ? std::optional<int64_t>(buyer_refund) : std::nullopt,
             std::string(DisputeOutcomeName(*outcome)), req.explanation(), now}));
        pb::DisputeResolved event;
        event.set_payment_id(p.money.id);
        event.set_order_id(p.order_id);
        event.set_buyer_id(p.buyer_id);
        event.set_seller_id(p.money.seller_id);
        event.set_outcome(ToProtoOutcome(*outcome));
        *event.mutable_buyer_refund() = MoneyProto(p.money.amount.currency_code(), buyer_refund);
        RETURN_IF_ERROR(
            outbox_.Enqueue(tx, "payments.dispute_resolved", p.money.seller_id, event).status());
        if (buyer_refund <= 0) return absl::OkStatus();
        // The buyer's share goes back through the processor like any refund.
        return store::InsertOperation(
            tx, RefundOperation(operation_id, p, buyer_refund, now + options_.retry_initial_backoff,
                                now));
      });
  if (resolved.ok() && ran && options_.metrics) {
    options_.metrics->DisputeResolved(DisputeOutcomeName(*outcome));
  }
  if (!resolved.ok()) return resolved;
  // Sent once the resolution is committed; whatever the processor answers the resolution
  // stands (Payment.refunds shows the refund's state), so a failure here is only logged.
  ASSIGN_OR_RETURN(std::optional<ProcessorOperation> op,
                   store::LoadOperation(*pool_, operation_id));
  if (op && op->state == "PENDING") {
    absl::StatusOr<ProcessorOperation> after = AttemptOperation(*op);
    if (!after.ok()) {
      common::LogWarn("dispute refund not sent yet; the completion worker retries it",
                      {{"operation_id", operation_id}, {"error", after.status().ToString()}});
    }
  }
  return resolved;
}

// --- Policies, reads ------------------------------------------------------------------------

absl::StatusOr<pb::SellerHoldPolicy> EscrowService::SetSellerHoldPolicy(
    const Actor& actor, const pb::SetSellerHoldPolicyRequest& req) {
  common::Violations violations;
  if (!ValidateId("seller_id", req.seller_id()).ok()) {
    violations.Add("seller_id", "must be 1-128 characters");
  }
  const int64_t seconds = req.hold_period().seconds();
  if (!req.has_hold_period() || req.hold_period().nanos() != 0 || seconds < 3600 ||
      seconds > 90 * 24 * 3600) {
    violations.Add("hold_period", "must be 1 hour to 90 days, whole seconds");
  }
  if (req.reason().empty() || req.reason().size() > 500) {
    violations.Add("reason", "must be 1-500 characters");
  }
  RETURN_IF_ERROR(violations.Status());
  if (!actor.any_payment) return common::PermissionDenied("only ADMIN or payments.policy");
  HoldPolicyRecord policy{req.seller_id(), absl::Seconds(seconds), req.reason(), actor.id,
                          clock_->Now()};
  RETURN_IF_ERROR(common::db::RunInTransaction(
      *pool_, [&](Transaction& tx) { return store::UpsertHoldPolicy(tx, policy); }));
  pb::SellerHoldPolicy out;
  out.set_seller_id(policy.seller_id);
  out.mutable_hold_period()->set_seconds(seconds);
  out.set_reason(policy.reason);
  out.set_updated_by(policy.updated_by);
  ToTimestamp(policy.updated_at, out.mutable_updated_at());
  return out;
}

absl::StatusOr<pb::Payment> EscrowService::GetPayment(const Actor& actor,
                                                      const pb::GetPaymentRequest& req) {
  RETURN_IF_ERROR(ValidatePaymentId(req.payment_id()));
  common::db::TransactionOptions options;
  options.read_only = true;
  return common::db::RunInTransaction(
      *pool_,
      [&](Transaction& tx) -> absl::StatusOr<pb::Payment> {
        ASSIGN_OR_RETURN(auto loaded, store::LoadPayment(tx, req.payment_id(), false));
        if (!loaded) return common::NotFound("payment", req.payment_id());
        if (!MayActOn(actor, loaded->buyer_id, loaded->money.seller_id)) return NotYours();
        pb::Payment out = ToProto(*loaded);
        ASSIGN_OR_RETURN(auto history, store::LoadHistory(tx, req.payment_id()));
        ASSIGN_OR_RETURN(auto entries, store::LoadEntries(tx, req.payment_id()));
        ASSIGN_OR_RETURN(auto refunds, store::LoadRefunds(tx, req.payment_id()));
        AddHistory(*loaded, history, &out);
        AddEntries(entries, &out);
        for (const ProcessorOperation& op : refunds) AddRefund(op, &out);
        return out;
      },
      options);
}

absl::StatusOr<pb::ListPaymentsResponse> EscrowService::ListPayments(
    const Actor& actor, const pb::ListPaymentsRequest& req) {
  if (req.page_size() < 0 || req.page_size() > 100) {
    return InvalidField("page_size", "must be 0-100 (0 means 20)");
  }
  ListFilter filter;
  filter.limit = req.page_size() == 0 ? 20 : req.page_size();
  if (req.state() != pb::PAYMENT_STATE_UNSPECIFIED) {
    if (req.state() < pb::HELD || req.state() > pb::GUARANTEED) {
      return InvalidField("state", "must be a PaymentState");
    }
    filter.state = static_cast<PaymentState>(static_cast<int>(req.state()));
  }
  filter.buyer_id = req.buyer_id();
  filter.seller_id = req.seller_id();
  if (!actor.any_payment) {
    if (actor.as_seller &&
        (req.seller_id() == actor.id || (!actor.as_buyer && req.seller_id().empty()))) {
      filter.seller_id = actor.id;
      if (!req.buyer_id().empty()) {
        return common::PermissionDenied("a seller lists only its own sales");
      }
    } else if (actor.as_buyer && (req.buyer_id().empty() || req.buyer_id() == actor.id) &&
               req.seller_id().empty()) {
      filter.buyer_id = actor.id;
    } else {
      return common::PermissionDenied("only your own payments can be listed");
    }
  }
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(auto after, DecodePageToken(req.page_token(), FilterDigest(filter),
                                                 "buyer_id, seller_id, state"));
    filter.after = after;
  }
  common::db::TransactionOptions options;
  options.read_only = true;
  ASSIGN_OR_RETURN(std::vector<PaymentRecord> rows,
                   common::db::RunInTransaction(
                       *pool_,
                       [&](Transaction& tx) -> absl::StatusOr<std::vector<PaymentRecord>> {
                         ListFilter probe = filter;
                         probe.limit = filter.limit + 1;
                         return store::ListPayments(tx, probe);
                       },
                       options));
  pb::ListPaymentsResponse out;
  const bool more = static_cast<int>(rows.size()) > filter.limit;
  if (more) rows.resize(filter.limit);
  for (const PaymentRecord& p : rows) *out.add_payments() = ToProto(p);
  if (more) {
    out.set_next_page_token(
        EncodePageToken(rows.back().created_at, rows.back().money.id, FilterDigest(filter)));
  }
  return out;
}

absl::StatusOr<pb::SellerBalance> EscrowService::GetSellerBalance(
    const Actor& actor, const pb::GetSellerBalanceRequest& req) {
  RETURN_IF_ERROR(ValidateId("seller_id", req.seller_id()));
  if (!actor.any_payment && !(actor.as_seller && actor.id == req.seller_id())) {
    return common::PermissionDenied("a seller sees only its own balance");
  }
  common::db::TransactionOptions options;
  options.read_only = true;
  ASSIGN_OR_RETURN(
      std::vector<SellerAccounts> accounts,
      common::db::RunInTransaction(
          *pool_, [&](Transaction& tx) { return store::LoadSellerBalances(tx, req.seller_id()); },
          options));
  pb::SellerBalance out;
  out.set_seller_id(req.seller_id());
  for (const SellerAccounts& a : accounts) {
    pb::CurrencyBalance* b = out.add_balances();
    b->set_currency_code(a.currency);
    b->set_pending_minor(a.escrow_minor);
    b->set_available_minor(a.available_minor > 0 ? a.available_minor : 0);
    b->set_paid_out_minor(a.paid_out_minor);
    b->set_debt_minor(a.available_minor < 0 ? -a.available_minor : 0);
  }
  return out;
}

// --- Payouts --------------------------------------------------------------------------------

absl::StatusOr<pb::Payout> EscrowService::CreatePayout(const Actor& actor,
                                                       const pb::CreatePayoutRequest& req) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(ValidateId("seller_id", req.seller_id()));
  absl::StatusOr<common::Money> amount =
      req.has_amount()
          ? common::MoneyFromProto(req.amount(), "amount", common::AmountRule::kPositive)
          : absl::StatusOr<common::Money>(InvalidField("amount", "is required"));
  if (!amount.ok()) violations.Check(amount.status());
  RETURN_IF_ERROR(violations.Status());
  if (!actor.any_payment && !(actor.as_seller && actor.id == req.seller_id())) {
    return common::PermissionDenied("a seller pays out only its own balance");
  }
  const RequestKey key{actor.id, Method("CreatePayout"), req.request_id()};
  const std::string hash = common::idempotency::RequestHash(req);

  ASSIGN_OR_RETURN(auto stored, idempotency_.Find(*pool_, key, hash));
  absl::StatusOr<pb::Payout> payout = absl::UnknownError("unset");
  bool ran = false;  // this call recorded the payout (not a stored result)
  if (stored) {
    if (!stored->status.ok()) return stored->status;
    pb::Payout p;
    if (!p.ParseFromString(stored->response)) {
      return absl::InternalError("stored response does not parse");
    }
    payout = p;
  } else {
    ASSIGN_OR_RETURN(common::identity_client::SellerStatus seller,
                   sellers_->GetSeller(req.seller_id()));
    if (!seller.found) return common::NotFound("seller", req.seller_id());
    if (!seller.approved_active) {
      return common::FailedPrecondition("SELLER_NOT_APPROVED",
                                        "the seller is not an approved, active seller");
    }
    payout = common::idempotency::RunIdempotent<pb::Payout>(
        *pool_, idempotency_, key, hash, [&](Transaction& tx) -> absl::StatusOr<pb::Payout> {
          ran = true;
          const absl::Time now = clock_->Now();
          ASSIGN_OR_RETURN(
              SellerAccounts accounts,
              store::LockSellerAccounts(tx, req.seller_id(), amount->currency_code(), now));
          ASSIGN_OR_RETURN(LedgerTransaction ledger,
                           Payout(req.seller_id(), *amount, accounts.available_minor));
          PayoutRecord record{RandomId("po_"),
                              req.seller_id(),
                              amount->currency_code(),
                              amount->amount_minor(),
                              seller.payout_account,
                              "PENDING",
                              "",
                              now};
          ledger.payout_id = record.payout_id;
          RETURN_IF_ERROR(store::WriteLedger(tx, ledger, now));
          RETURN_IF_ERROR(store::InsertPayout(tx, record));
          ProcessorOperation op;
          op.operation_id = absl::StrCat("payout_", record.payout_id);
          op.kind = "PAYOUT";
          op.payout_id = record.payout_id;
          op.seller_id = record.seller_id;
          op.currency = record.currency;
          op.amount_minor = record.amount_minor;
          op.target_reference = record.payout_account;
          op.next_attempt_at = now + options_.retry_initial_backoff;
          op.created_at = now;
          RETURN_IF_ERROR(store::InsertOperation(tx, op));
          pb::Payout out;
          out.set_payout_id(record.payout_id);
          out.set_seller_id(record.seller_id);
          *out.mutable_amount() = MoneyProto(record.currency, record.amount_minor);
          ToTimestamp(now, out.mutable_created_at());
          return out;
        });
  }
  if (!payout.ok()) return payout.status();
  if (ran && options_.metrics) options_.metrics->PayoutRecorded();
  // The ledger has the money out of `available`; now the processor sends it, keyed by the
  // operation id, so this call, its retries and the completion worker send it once.
  ASSIGN_OR_RETURN(std::optional<ProcessorOperation> op,
                   store::LoadOperation(*pool_, absl::StrCat("payout_", payout->payout_id())));
  if (op && op->state == "PENDING") RETURN_IF_ERROR(AttemptOperation(*op).status());
  ASSIGN_OR_RETURN(auto record, store::LoadPayout(*pool_, payout->payout_id()));
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
  payout->set_processor_reference(record->processor_reference);
  payout->set_state(pb::PAYOUT_PAID);
  return *payout;
}

absl::StatusOr<pb::ListPayoutsResponse> EscrowService::ListPayouts(
    const Actor& actor, const pb::ListPayoutsRequest& req) {
  common::Violations violations;
  if (!ValidateId("seller_id", req.seller_id()).ok()) {
    violations.Add("seller_id", "must be 1-128 characters");
  }
  if (req.page_size() < 0 || req.page_size() > 100) {
    violations.Add("page_size", "must be 0-100 (0 means 20)");
  }
  RETURN_IF_ERROR(violations.Status());
  if (!actor.any_payment && !(actor.as_seller && actor.id == req.seller_id())) {
    return common::PermissionDenied("a seller sees only its own payouts");
  }
  const int limit = req.page_size() == 0 ? 20 : req.page_size();
  std::optional<std::pair<absl::Time, std::string>> after;
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(after, DecodePageToken(req.page_token(), PayoutsDigest(req.seller_id()),
                                            "seller_id"));
  }
  common::db::TransactionOptions options;
  options.read_only = true;
  ASSIGN_OR_RETURN(std::vector<PayoutRecord> rows,
                   common::db::RunInTransaction(
                       *pool_,
                       [&](Transaction& tx) {
                         return store::ListPayouts(tx, req.seller_id(), after, limit + 1);
                       },
                       options));
  pb::ListPayoutsResponse out;
  const bool more = static_cast<int>(rows.size()) > limit;
  if (more) rows.resize(limit);
  for (const PayoutRecord& p : rows) *out.add_payouts() = PayoutToProto(p);
  if (more) {
    out.set_next_page_token(EncodePageToken(rows.back().created_at, rows.back().payout_id,
                                            PayoutsDigest(req.seller_id())));
  }
  return out;
}

// --- Ledger verification --------------------------------------------------------------------

absl::StatusOr<pb::VerifyLedgerResponse> EscrowService::VerifyLedger() {
  common::db::TransactionOptions options;
  options.read_only = true;
  absl::StatusOr<pb::VerifyLedgerResponse> verified = common::db::RunInTransaction(
      *pool_,
      [&](Transaction& tx) -> absl::StatusOr<pb::VerifyLedgerResponse> {
        pb::VerifyLedgerResponse out;
        ASSIGN_OR_RETURN(auto counts,
                         tx.Query("SELECT (SELECT COUNT(*) FROM ledger_transactions) AS t, "
                                  "(SELECT COUNT(*) FROM ledger_entries) AS e"));
        ASSIGN_OR_RETURN(int64_t transactions, counts[0].GetInt64("t"));
        ASSIGN_OR_RETURN(int64_t entries, counts[0].GetInt64("e"));
        out.set_transactions_checked(transactions);
        out.set_entries_checked(entries);

        ASSIGN_OR_RETURN(auto unbalanced,
                         tx.Query("SELECT transaction_id, currency, SUM(amount_minor) AS s "
                                  "FROM ledger_entries GROUP BY transaction_id, currency "
                                  "HAVING SUM(amount_minor) <> 0 ORDER BY transaction_id"));
        for (const auto& row : unbalanced) {
          ASSIGN_OR_RETURN(int64_t id, row.GetInt64("transaction_id"));
          ASSIGN_OR_RETURN(std::string cur, row.GetString("currency"));
          ASSIGN_OR_RETURN(int64_t s, row.GetInt64("s"));
          out.add_violations(
              absl::StrCat("transaction ", id, " does not balance in ", cur, " by ", s));
        }
        ASSIGN_OR_RETURN(auto thin,
                         tx.Query("SELECT t.id AS id, COUNT(e.id) AS n FROM ledger_transactions "
                                  "t LEFT JOIN ledger_entries e ON e.transaction_id = t.id "
                                  "GROUP BY t.id HAVING COUNT(e.id) < 2"));
        for (const auto& row : thin) {
          ASSIGN_OR_RETURN(int64_t id, row.GetInt64("id"));
          out.add_violations(absl::StrCat("transaction ", id, " has fewer than two entries"));
        }

        ASSIGN_OR_RETURN(auto totals,
                         tx.Query("SELECT account_kind, currency, SUM(amount_minor) AS s FROM "
                                  "ledger_entries GROUP BY account_kind, currency "
                                  "ORDER BY account_kind, currency"));
        std::map<std::string, int64_t> escrow_by_currency;
        for (const auto& row : totals) {
          ASSIGN_OR_RETURN(std::string kind, row.GetString("account_kind"));
          ASSIGN_OR_RETURN(std::string cur, row.GetString("currency"));
          ASSIGN_OR_RETURN(int64_t s, row.GetInt64("s"));
          pb::AccountBalance* b = out.add_totals();
          b->set_account_kind(kind);
          *b->mutable_balance() = MoneyProto(cur, s);
          if (kind == AccountKindName(AccountKind::kEscrow)) escrow_by_currency[cur] = s;
        }

        // Every account within its bound, and each seller row equal to its entries.
        ASSIGN_OR_RETURN(auto accounts, tx.Query("SELECT account_kind, account_owner, currency, "
                                                 "SUM(amount_minor) AS s FROM ledger_entries "
                                                 "GROUP BY account_kind, account_owner, currency"));
        std::map<std::pair<std::string, std::string>, std::array<int64_t, 3>> per_seller;
        for (const auto& row : accounts) {
          ASSIGN_OR_RETURN(std::string kind_name, row.GetString("account_kind"));
          ASSIGN_OR_RETURN(std::string owner, row.GetString("account_owner"));
          ASSIGN_OR_RETURN(std::string cur, row.GetString("currency"));
          ASSIGN_OR_RETURN(int64_t s, row.GetInt64("s"));
          ASSIGN_OR_RETURN(AccountKind kind, AccountKindFromName(kind_name));
          const BalanceBound bound = BoundOf(kind);
          if ((bound == BalanceBound::kNonNegative && s < 0) ||
              (bound == BalanceBound::kNonPositive && s > 0)) {
            out.add_violations(absl::StrCat("account ", kind_name, "/", owner, "/", cur,
                                            " is beyond its bound at ", s));
          }
          if (IsPerSeller(kind)) {
            auto& figures = per_seller[{owner, cur}];
            if (kind == AccountKind::kEscrow) figures[0] = s;
            if (kind == AccountKind::kSellerAvailable) figures[1] = s;
            if (kind == AccountKind::kSellerPaidOut) figures[2] = s;
          }
        }
        ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT seller_id, currency, escrow_minor, "
                                             "available_minor, paid_out_minor "
                                             "FROM seller_accounts"));
        std::set<std::pair<std::string, std::string>> seen;
        for (const auto& row : rows) {
          ASSIGN_OR_RETURN(std::string seller, row.GetString("seller_id"));
          ASSIGN_OR_RETURN(std::string cur, row.GetString("currency"));
          ASSIGN_OR_RETURN(int64_t e, row.GetInt64("escrow_minor"));
          ASSIGN_OR_RETURN(int64_t a, row.GetInt64("available_minor"));
          ASSIGN_OR_RETURN(int64_t p, row.GetInt64("paid_out_minor"));
          seen.insert({seller, cur});
          std::array<int64_t, 3> want = per_seller[{seller, cur}];
          if (want[0] != e || want[1] != a || want[2] != p) {
            out.add_violations(
                absl::StrCat("seller ", seller, " ", cur, " balances differ from its entries"));
          }
        }
        for (const auto& [k, figures] : per_seller) {
          if (!seen.count(k) && (figures[0] != 0 || figures[1] != 0 || figures[2] != 0)) {
            out.add_violations(
                absl::StrCat("seller ", k.first, " ", k.second, " has entries but no balance row"));
          }
        }

        ASSIGN_OR_RETURN(auto held,
                         tx.Query("SELECT currency, SUM(amount_minor - refunded_minor) AS s "
                                  "FROM payments WHERE state IN ('HELD', 'DISPUTED') "
                                  "GROUP BY currency"));
        std::map<std::string, int64_t> held_by_currency;
        for (const auto& row : held) {
          ASSIGN_OR_RETURN(std::string cur, row.GetString("currency"));
          ASSIGN_OR_RETURN(int64_t s, row.GetInt64("s"));
          held_by_currency[cur] = s;
        }
        std::set<std::string> currencies;
        for (const auto& [c, v] : escrow_by_currency) currencies.insert(c);
        for (const auto& [c, v] : held_by_currency) currencies.insert(c);
        for (const std::string& c : currencies) {
          const int64_t escrow = escrow_by_currency[c];
          const int64_t want = held_by_currency[c];
          *out.add_escrow_balance() = MoneyProto(c, escrow);
          *out.add_held_by_payments() = MoneyProto(c, want);
          if (escrow != want) {
            out.add_violations(absl::StrCat("escrow in ", c, " is ", escrow,
                                            " but HELD and DISPUTED payments hold ", want));
          }
        }
        out.set_consistent(out.violations_size() == 0);
        return out;
      },
      options);
  if (verified.ok() && !verified->consistent() && options_.metrics) {
    options_.metrics->LedgerVerificationFailed();
  }
  return verified;
}

absl::Status EscrowService::RefreshEscrowMetrics() {
  if (options_.metrics == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<common::db::Row> rows,
                   pool_->Query("SELECT currency, SUM(escrow_minor) AS held FROM seller_accounts "
                                "GROUP BY currency"));
  for (const common::db::Row& row : rows) {
    ASSIGN_OR_RETURN(std::string currency, row.GetString("currency"));
    ASSIGN_OR_RETURN(int64_t held, row.GetInt64("held"));
    options_.metrics->SetEscrowHeld(currency, held);
  }
  return absl::OkStatus();
}

// --- Background work ------------------------------------------------------------------------

absl::StatusOr<int> EscrowService::ReleaseDuePayments(int batch_size) {
  ASSIGN_OR_RETURN(std::vector<std::string> due,
                   store::DuePayments(*pool_, clock_->Now(), batch_size));
  int released = 0;
  for (const std::string& id : due) {
    ASSIGN_OR_RETURN(
        bool done,
        common::db::RunInTransaction(*pool_, [&](Transaction& tx) -> absl::StatusOr<bool> {
          const absl::Time now = clock_->Now();
          ASSIGN_OR_RETURN(auto claimed, store::ClaimDuePayment(tx, id, now));
          if (!claimed) return false;
          PaymentRecord p = *std::move(claimed);
          ASSIGN_OR_RETURN(EscrowStep step, Release(p.money));
          RETURN_IF_ERROR(store::WriteLedger(tx, step.transaction, now));
          p.money = step.after;
          p.released_at = now;
          RETURN_IF_ERROR(store::UpdatePayment(tx, p));
          RETURN_IF_ERROR(store::AppendEvent(tx, p.money.id, p.money.amount.currency_code(),
                                             {"AUTO_RELEASED", p.money.state, kSystemActor,
                                              std::nullopt, "", "hold period ended", now}));
          RETURN_IF_ERROR(outbox_
                              .Enqueue(tx, "payments.payment_released", p.money.seller_id,
                                       ReleasedEvent(p, true))
                              .status());
          return true;
        }));
    if (done) ++released;
  }
  return released;
}

absl::StatusOr<ProcessorOperation> EscrowService::AttemptOperation(const ProcessorOperation& op) {
  ASSIGN_OR_RETURN(common::Money amount, common::Money::Of(op.currency, op.amount_minor));
  const bool refund = op.kind == "REFUND";
  absl::StatusOr<ProcessorResult> sent =
      refund ? processor_->Refund(op.operation_id, op.target_reference, amount)
             : processor_->Payout(op.operation_id, op.target_reference, amount);
  const absl::Time now = clock_->Now();
  if (!sent.ok()) {
    absl::Duration backoff = options_.retry_initial_backoff;
    for (int i = 0; i < op.attempts && backoff < options_.retry_max_backoff; ++i) backoff *= 2;
    backoff = std::min(backoff, options_.retry_max_backoff);
    RETURN_IF_ERROR(store::RescheduleOperation(*pool_, op.operation_id,
                                               absl::StatusCodeToString(sent.status().code()),
                                               now + backoff, now));
    return ProcessorUnavailable(sent.status(), refund ? "refund" : "payout");
  }
  RETURN_IF_ERROR(common::db::RunInTransaction(*pool_, [&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool finished,
                     store::FinishOperation(tx, op.operation_id, sent->accepted ? "DONE" : "FAILED",
                                            sent->reference, now));
    if (!finished) return absl::OkStatus();  // another attempt recorded the outcome
    if (sent->accepted) {
      return refund ? absl::OkStatus() : store::MarkPayoutPaidTx(tx, op.payout_id, sent->reference);
    }
    return Compensate(tx, op, now);
  }));
  ASSIGN_OR_RETURN(std::optional<ProcessorOperation> after,
                   store::LoadOperation(*pool_, op.operation_id));
  if (!after) return absl::InternalError("processor operation vanished");
  return *std::move(after);
}

absl::Status EscrowService::Compensate(Transaction& tx, const ProcessorOperation& op,
                                       absl::Time now) {
  LedgerTransaction back;
  if (op.kind == "PAYOUT") {
    // The money goes back to the seller's available balance.
    ASSIGN_OR_RETURN(bool failed, store::MarkPayoutFailed(tx, op.payout_id));
    if (!failed) return absl::InternalError("payout not PENDING while its operation was");
    back.kind = TransactionKind::kPayout;
    back.payout_id = op.payout_id;
    back.memo = "payout refused by the processor; returned to the available balance";
    Move(back, SellerAccount(AccountKind::kSellerPaidOut, op.seller_id, op.currency),
         SellerAccount(AccountKind::kSellerAvailable, op.seller_id, op.currency), op.amount_minor);
    return store::WriteLedger(tx, back, now);
  }
  // A refund that cannot reach the buyer's payment method stays the buyer's money: it moves
  // from refunds_out to refunds_owed, which support pays by other means.
  if (op.payment_id.empty()) {  // a returned capture (ReturnCapture): no payment to note it on
    back.kind = TransactionKind::kRefund;
    back.memo = "return of a capture refused by the processor; owed to the buyer";
    Move(back, PlatformAccount(AccountKind::kRefundsOut, op.currency),
         PlatformAccount(AccountKind::kRefundsOwed, op.currency), op.amount_minor);
    return store::WriteLedger(tx, back, now);
  }
  ASSIGN_OR_RETURN(auto payment, store::LoadPayment(tx, op.payment_id, /*for_update=*/true));
  if (!payment) return absl::InternalError("refunded payment missing");
  back.kind = TransactionKind::kRefund;
  back.payment_id = op.payment_id;
  back.memo = "refund refused by the processor; owed to the buyer";
  Move(back, PlatformAccount(AccountKind::kRefundsOut, op.currency),
       PlatformAccount(AccountKind::kRefundsOwed, op.currency), op.amount_minor);
  RETURN_IF_ERROR(store::WriteLedger(tx, back, now));
  return store::AppendEvent(
      tx, op.payment_id, op.currency,
      {"REFUND_FAILED", payment->money.state, kSystemActor, op.amount_minor, "PROCESSOR_REFUSED",
       "the processor refused the refund; owed to the buyer", now});
}

absl::StatusOr<CompletionCounts> EscrowService::CompletePendingOperations(int batch_size) {
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(
      std::vector<ProcessorOperation> ops,
      store::ClaimDueOperations(*pool_, now, now + options_.operation_lease, batch_size));
  CompletionCounts counts;
  counts.claimed = static_cast<int>(ops.size());
  absl::Status first_error;
  for (const ProcessorOperation& op : ops) {
    absl::StatusOr<ProcessorOperation> after = AttemptOperation(op);
    if (!after.ok()) {
      if (absl::IsUnavailable(after.status())) {
        ++counts.retried;
      } else if (first_error.ok()) {
        first_error = after.status();  // the lease lapses and a later pass retries it
      }
      continue;
    }
    if (after->state == "DONE") ++counts.done;
    if (after->state == "FAILED") ++counts.failed;
  }
  if (!first_error.ok()) return first_error;
  return counts;
}

absl::StatusOr<int64_t> EscrowService::PurgeIdempotencyKeys() { return idempotency_.Purge(*pool_); }

}  // namespace marketplace::payments
