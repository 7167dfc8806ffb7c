#include "services/payments/payments_service.h"

#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/errors.h"
#include "common/idempotency/request_id.h"
#include "common/money_proto.h"
#include "common/page_token.h"
#include "common/status_macros.h"
#include "common/text.h"
#include "services/payments/convert.h"

namespace marketplace::payments {
namespace {

using common::InvalidField;

// The idempotency key of `request` for `method`.
RequestKey KeyOf(const Actor& actor, Method method, const google::protobuf::Message& request,
                 const std::string& request_id) {
  return {actor.id, absl::StrCat("/", pb::Payments::service_full_name(), "/", MethodName(method)),
          request_id, common::idempotency::RequestHash(request)};
}

// 1-`max` characters (code points, as the proto counts them).
absl::Status ValidateText(absl::string_view field, absl::string_view value, size_t max) {
  if (value.empty() || common::CodePoints(value) > max) {
    return InvalidField(field, absl::StrCat("must be 1-", max, " characters"));
  }
  return absl::OkStatus();
}

// The order id comes from outside the platform: 1-128 characters, compared exactly.
absl::Status ValidateOrderId(absl::string_view value) {
  return ValidateText("order_id", value, 128);
}

// A payment id as this service issues it: "pay_" and 24 lowercase hex digits.
absl::Status ValidatePaymentId(absl::string_view payment_id) {
  return common::ValidateIdOfKind("payment_id", payment_id, "pay_", "payment");
}

// A required positive amount named `field`.
absl::StatusOr<common::Money> AmountOf(bool present, const common::v1::Money& amount,
                                       absl::string_view field) {
  if (!present) return InvalidField(field, "is required");
  return common::MoneyFromProto(amount, field, common::AmountRule::kPositive);
}

std::optional<DisputeOutcome> OutcomeOf(pb::DisputeOutcome outcome) {
  switch (outcome) {
    case pb::BUYER_WINS:
      return DisputeOutcome::kBuyerWins;
    case pb::SELLER_WINS:
      return DisputeOutcome::kSellerWins;
    case pb::SPLIT:
      return DisputeOutcome::kSplit;
    case pb::PLATFORM_GUARANTEE:
      return DisputeOutcome::kPlatformGuarantee;
    default:
      return std::nullopt;
  }
}

const std::set<std::string>& DisputeReasons() {
  static const auto* reasons = new std::set<std::string>{
      "NOT_RECEIVED", "NOT_AS_DESCRIBED", "DAMAGED", "COUNTERFEIT", "UNAUTHORISED", "OTHER"};
  return *reasons;
}

// The filters a page token is bound to, as the domain applies them.
std::string PaymentFilters(const ListFilter& filter) {
  return absl::StrCat(filter.buyer_id.size(), ":", filter.buyer_id, "|", filter.seller_id.size(),
                      ":", filter.seller_id, "|",
                      filter.state ? static_cast<int>(*filter.state) : 0, "|",
                      filter.order_id ? absl::StrCat(filter.order_id->size(), ":", *filter.order_id)
                                      : std::string("-"));
}
std::string PayoutFilters(absl::string_view seller_id) {
  return absl::StrCat("payouts|", seller_id);
}

// The keyset cursor of `token`, issued for `filters`.
absl::StatusOr<std::pair<absl::Time, std::string>> CursorOf(absl::string_view token,
                                                            absl::string_view filters,
                                                            absl::string_view filter_names) {
  ASSIGN_OR_RETURN(std::string cursor, common::DecodePageToken(token, filters, filter_names));
  ASSIGN_OR_RETURN(common::TimeIdCursor c, common::DecodeTimeIdCursor(cursor));
  return std::make_pair(c.time, c.id);
}
std::string TokenOf(absl::Time created_at, const std::string& id, absl::string_view filters) {
  return common::EncodePageToken(common::EncodeTimeIdCursor({created_at, id}), filters);
}

absl::StatusOr<pb::Payment> PaymentOf(const absl::StatusOr<PaymentRecord>& record) {
  if (!record.ok()) return record.status();
  return ToProto(*record);
}

}  // namespace

// --- PaymentsApi ----------------------------------------------------------------------------

absl::StatusOr<pb::Payment> PaymentsApi::CreatePayment(const Actor& actor,
                                                       const pb::CreatePaymentRequest& req,
                                                       const common::CallOrigin& origin) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(ValidateOrderId(req.order_id()));
  violations.Check(common::ValidateAccountId("buyer_id", req.buyer_id()));
  violations.Check(common::ValidateAccountId("seller_id", req.seller_id()));
  violations.Check(ValidateText("payment_method_token", req.payment_method_token(), 256));
  absl::StatusOr<common::Money> amount = AmountOf(req.has_amount(), req.amount(), "amount");
  if (!amount.ok()) violations.Check(amount.status());
  if (req.has_commission_bps() && (req.commission_bps() < 0 || req.commission_bps() > 10000)) {
    violations.Add("commission_bps", "must be 0-10000 basis points");
  }
  RETURN_IF_ERROR(violations.Status());
  PaymentRequest request{KeyOf(actor, Method::kCreatePayment, req, req.request_id()),
                         req.order_id(),
                         req.buyer_id(),
                         req.seller_id(),
                         req.payment_method_token(),
                         *amount,
                         std::nullopt};
  if (req.has_commission_bps()) request.commission_bps = req.commission_bps();
  request.origin = origin;
  return PaymentOf(domain_->checkout().CreatePayment(actor, request));
}

absl::StatusOr<pb::Payment> PaymentsApi::ConfirmDelivery(const Actor& actor,
                                                         const pb::ConfirmDeliveryRequest& req) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(ValidatePaymentId(req.payment_id()));
  RETURN_IF_ERROR(violations.Status());
  return PaymentOf(domain_->checkout().ConfirmDelivery(
      actor, KeyOf(actor, Method::kConfirmDelivery, req, req.request_id()), req.payment_id()));
}

absl::StatusOr<pb::Payment> PaymentsApi::RefundPayment(const Actor& actor,
                                                       const pb::RefundPaymentRequest& req) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(ValidatePaymentId(req.payment_id()));
  violations.Check(ValidateText("reason", req.reason(), 1000));
  absl::StatusOr<common::Money> amount = AmountOf(req.has_amount(), req.amount(), "amount");
  if (!amount.ok()) violations.Check(amount.status());
  std::optional<RefundFunding> funded_by;
  switch (req.funded_by()) {
    case pb::REFUND_FUNDING_UNSPECIFIED:
      break;
    case pb::SELLER_BALANCE:
      funded_by = RefundFunding::kSellerFirst;
      break;
    case pb::GUARANTEE_FUND:
      funded_by = RefundFunding::kGuaranteeFund;
      break;
    default:
      violations.Add("funded_by", "must be SELLER_BALANCE or GUARANTEE_FUND when given");
  }
  if (funded_by && req.on_behalf_of_seller()) {
    violations.Add("funded_by", "must not be set together with on_behalf_of_seller");
  }
  RETURN_IF_ERROR(violations.Status());
  RefundRequest refund{KeyOf(actor, Method::kRefundPayment, req, req.request_id()),
                       req.payment_id(), *amount, req.reason()};
  refund.on_behalf_of_seller = req.on_behalf_of_seller();
  refund.funded_by = funded_by;
  ASSIGN_OR_RETURN(pb::Payment out, PaymentOf(domain_->settlement().RefundPayment(actor, refund)));
  return WithRefunds(actor, std::move(out));
}

absl::StatusOr<pb::Payment> PaymentsApi::ChargeSellerForRefund(
    const Actor& actor, const pb::ChargeSellerForRefundRequest& req) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(ValidatePaymentId(req.payment_id()));
  if (req.refund_id().empty() || req.refund_id().size() > 64) {
    violations.Add("refund_id", "must be 1-64 characters");
  }
  violations.Check(ValidateText("reason", req.reason(), 1000));
  RETURN_IF_ERROR(violations.Status());
  ASSIGN_OR_RETURN(
      pb::Payment out,
      PaymentOf(domain_->settlement().ChargeSellerForRefund(
          actor, {KeyOf(actor, Method::kChargeSellerForRefund, req, req.request_id()),
                  req.payment_id(), req.refund_id(), req.reason()})));
  return WithRefunds(actor, std::move(out));
}

absl::StatusOr<pb::Payment> PaymentsApi::WithRefunds(const Actor& actor, pb::Payment payment) {
  ASSIGN_OR_RETURN(PaymentDetails details,
                   domain_->reads().GetPayment(actor, payment.payment_id()));
  for (const ProcessorOperation& op : details.refunds) AddRefund(op, &payment);
  return payment;
}

absl::StatusOr<pb::Payment> PaymentsApi::SettleOwedRefund(const Actor& actor,
                                                          const pb::SettleOwedRefundRequest& req) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  // "-": no payment named, the refund is found by its id (a refund without payment).
  if (req.payment_id() != kAnyPayment) violations.Check(ValidatePaymentId(req.payment_id()));
  if (req.refund_id().empty() || req.refund_id().size() > 64) {
    violations.Add("refund_id", "must be 1-64 characters");
  }
  violations.Check(ValidateText("settlement_reference", req.settlement_reference(), 255));
  if (common::CodePoints(req.note()) > 1000) {
    violations.Add("note", "must be at most 1000 characters");
  }
  RETURN_IF_ERROR(violations.Status());
  ASSIGN_OR_RETURN(
      PaymentRecord settled,
      domain_->settlement().SettleOwedRefund(
          actor, {KeyOf(actor, Method::kSettleOwedRefund, req, req.request_id()), req.payment_id(),
                  req.refund_id(), req.settlement_reference(), req.note()}));
  if (!settled.money.id.empty()) return ToProto(settled);
  // A refund without payment: the capture it gave back (order, buyer, seller, amount) and
  // the refund, now REFUND_SETTLED.
  pb::Payment out;
  out.set_order_id(settled.order_id);
  out.set_buyer_id(settled.buyer_id);
  out.set_seller_id(settled.money.seller_id);
  *out.mutable_amount() =
      MoneyProto(settled.money.amount.currency_code(), settled.money.amount.amount_minor());
  ASSIGN_OR_RETURN(std::optional<ProcessorOperation> refund,
                   domain_->reads().GetOperation(req.refund_id()));
  if (refund) AddRefund(*refund, &out);
  return out;
}

absl::StatusOr<pb::Payment> PaymentsApi::OpenDispute(const Actor& actor,
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
  return PaymentOf(domain_->settlement().OpenDispute(
      actor, {KeyOf(actor, Method::kOpenDispute, req, req.request_id()), req.payment_id(),
              req.reason_code(), req.description()}));
}

absl::StatusOr<pb::Payment> PaymentsApi::ResolveDispute(const Actor& actor,
                                                        const pb::ResolveDisputeRequest& req) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(ValidatePaymentId(req.payment_id()));
  violations.Check(ValidateText("explanation", req.explanation(), 4000));
  const std::optional<DisputeOutcome> outcome = OutcomeOf(req.outcome());
  if (!outcome) {
    violations.Add("outcome", "must be BUYER_WINS, SELLER_WINS, SPLIT or PLATFORM_GUARANTEE");
  }
  std::optional<common::Money> share;
  if (outcome == DisputeOutcome::kSplit) {
    absl::StatusOr<common::Money> m =
        req.has_buyer_share() ? common::MoneyFromProto(req.buyer_share(), "buyer_share",
                                                       common::AmountRule::kPositive)
                              : InvalidField("buyer_share", "is required for a SPLIT outcome");
    if (m.ok()) {
      share = *m;
    } else {
      violations.Check(m.status());
    }
  } else if (req.has_buyer_share()) {
    violations.Add("buyer_share", "is only for a SPLIT outcome");
  }
  RETURN_IF_ERROR(violations.Status());
  return PaymentOf(domain_->settlement().ResolveDispute(
      actor, {KeyOf(actor, Method::kResolveDispute, req, req.request_id()), req.payment_id(),
              *outcome, share, req.explanation()}));
}

absl::StatusOr<pb::SellerHoldPolicy> PaymentsApi::SetSellerHoldPolicy(
    const Actor& actor, const pb::SetSellerHoldPolicyRequest& req) {
  common::Violations violations;
  violations.Check(common::ValidateAccountId("seller_id", req.seller_id()));
  const int64_t seconds = req.hold_period().seconds();
  if (!req.has_hold_period() || req.hold_period().nanos() != 0 || seconds < 3600 ||
      seconds > 90 * 24 * 3600) {
    violations.Add("hold_period", "must be 1 hour to 90 days, whole seconds");
  }
  violations.Check(ValidateText("reason", req.reason(), 500));
  RETURN_IF_ERROR(violations.Status());
  ASSIGN_OR_RETURN(HoldPolicyRecord policy,
                   domain_->payouts().SetSellerHoldPolicy(actor, req.seller_id(),
                                                          absl::Seconds(seconds), req.reason()));
  return HoldPolicyToProto(policy);
}

absl::StatusOr<pb::Payment> PaymentsApi::GetPayment(const Actor& actor,
                                                    const pb::GetPaymentRequest& req) {
  RETURN_IF_ERROR(ValidatePaymentId(req.payment_id()));
  ASSIGN_OR_RETURN(PaymentDetails details, domain_->reads().GetPayment(actor, req.payment_id()));
  pb::Payment out = ToProto(details.payment);
  AddHistory(details.payment, details.history, &out);
  AddEntries(details.entries, &out);
  for (const ProcessorOperation& op : details.refunds) AddRefund(op, &out);
  return out;
}

absl::StatusOr<pb::ListPaymentsResponse> PaymentsApi::ListPayments(
    const Actor& actor, const pb::ListPaymentsRequest& req) {
  common::Violations violations;
  if (req.page_size() < 0 || req.page_size() > 100) {
    violations.Add("page_size", "must be 0-100 (0 means 20)");
  }
  ListFilter requested;
  requested.limit = req.page_size() == 0 ? 20 : req.page_size();
  if (req.state() != pb::PAYMENT_STATE_UNSPECIFIED) {
    if (req.state() < pb::HELD || req.state() > pb::GUARANTEED) {
      violations.Add("state", "must be a PaymentState");
    } else {
      requested.state = static_cast<PaymentState>(static_cast<int>(req.state()));
    }
  }
  if (!req.buyer_id().empty()) {
    violations.Check(common::ValidateAccountId("buyer_id", req.buyer_id()));
  }
  if (!req.seller_id().empty()) {
    violations.Check(common::ValidateAccountId("seller_id", req.seller_id()));
  }
  if (req.has_order_id()) violations.Check(ValidateOrderId(req.order_id()));
  RETURN_IF_ERROR(violations.Status());
  requested.buyer_id = req.buyer_id();
  requested.seller_id = req.seller_id();
  if (req.has_order_id()) requested.order_id = req.order_id();
  ASSIGN_OR_RETURN(ListFilter filter, PaymentReads::VisibleFilter(actor, requested));
  const std::string filters = PaymentFilters(filter);
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(filter.after,
                     CursorOf(req.page_token(), filters, "buyer_id, seller_id, state, order_id"));
  }
  ASSIGN_OR_RETURN(PaymentPage page, domain_->reads().ListPayments(filter));
  pb::ListPaymentsResponse out;
  for (const PaymentRecord& p : page.payments) *out.add_payments() = ToProto(p);
  if (page.more) {
    const PaymentRecord& last = page.payments.back();
    out.set_next_page_token(TokenOf(last.created_at, last.money.id, filters));
  }
  return out;
}

absl::StatusOr<pb::SellerHoldPolicy> PaymentsApi::GetSellerHoldPolicy(
    const Actor& actor, const pb::GetSellerHoldPolicyRequest& req) {
  RETURN_IF_ERROR(common::ValidateAccountId("seller_id", req.seller_id()));
  ASSIGN_OR_RETURN(HoldPolicyRecord policy,
                   domain_->payouts().GetSellerHoldPolicy(actor, req.seller_id()));
  return HoldPolicyToProto(policy);
}

absl::StatusOr<pb::SellerBalance> PaymentsApi::GetSellerBalance(
    const Actor& actor, const pb::GetSellerBalanceRequest& req) {
  RETURN_IF_ERROR(common::ValidateAccountId("seller_id", req.seller_id()));
  ASSIGN_OR_RETURN(std::vector<SellerAccounts> accounts,
                   domain_->payouts().GetSellerBalance(actor, req.seller_id()));
  return BalanceToProto(req.seller_id(), accounts);
}

absl::StatusOr<pb::Payout> PaymentsApi::CreatePayout(const Actor& actor,
                                                     const pb::CreatePayoutRequest& req,
                                                     const common::CallOrigin& origin) {
  common::Violations violations;
  violations.Check(common::idempotency::ValidateRequestId("request_id", req.request_id()));
  violations.Check(common::ValidateAccountId("seller_id", req.seller_id()));
  absl::StatusOr<common::Money> amount = AmountOf(req.has_amount(), req.amount(), "amount");
  if (!amount.ok()) violations.Check(amount.status());
  RETURN_IF_ERROR(violations.Status());
  ASSIGN_OR_RETURN(PayoutRecord payout,
                   domain_->payouts().CreatePayout(
                       actor, {KeyOf(actor, Method::kCreatePayout, req, req.request_id()),
                               req.seller_id(), *amount, origin}));
  return PayoutToProto(payout);
}

absl::StatusOr<pb::ListPayoutsResponse> PaymentsApi::ListPayouts(
    const Actor& actor, const pb::ListPayoutsRequest& req) {
  common::Violations violations;
  violations.Check(common::ValidateAccountId("seller_id", req.seller_id()));
  if (req.page_size() < 0 || req.page_size() > 100) {
    violations.Add("page_size", "must be 0-100 (0 means 20)");
  }
  RETURN_IF_ERROR(violations.Status());
  RETURN_IF_ERROR(Payouts::MaySeePayouts(actor, req.seller_id()));
  const int limit = req.page_size() == 0 ? 20 : req.page_size();
  const std::string filters = PayoutFilters(req.seller_id());
  std::optional<std::pair<absl::Time, std::string>> after;
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(after, CursorOf(req.page_token(), filters, "seller_id"));
  }
  ASSIGN_OR_RETURN(PayoutPage page,
                   domain_->payouts().ListPayouts(actor, req.seller_id(), after, limit));
  pb::ListPayoutsResponse out;
  for (const PayoutRecord& p : page.payouts) *out.add_payouts() = PayoutToProto(p);
  if (page.more) {
    const PayoutRecord& last = page.payouts.back();
    out.set_next_page_token(TokenOf(last.created_at, last.payout_id, filters));
  }
  return out;
}

absl::StatusOr<pb::VerifyLedgerResponse> PaymentsApi::VerifyLedger() {
  ASSIGN_OR_RETURN(LedgerReport report, domain_->audit().VerifyLedger());
  return LedgerReportToProto(report);
}

// --- PaymentsService ------------------------------------------------------------------------

PaymentsService::PaymentsService(common::UnaryRunner* runner, PaymentsApi* api)
    : api_(api),
      handler_(runner, pb::Payments::service_full_name(), MethodNames(),
               [](Method method, const common::CallContext& call) {
                 return ActorFor(call.caller, method).status();
               }) {}

Actor PaymentsService::ActorOf(const common::CallContext& call, Method method) {
  // The guard let the call through, so the table grants an actor.
  return *ActorFor(call.caller, method);
}

// Each handler: the guard (the permission table), then the API with the call's actor.
grpc::ServerUnaryReactor* PaymentsService::CreatePayment(grpc::CallbackServerContext* ctx,
                                                         const v1::CreatePaymentRequest* req,
                                                         v1::Payment* resp) {
  return handler_.Unary(ctx, Method::kCreatePayment, resp,
                        [this, req](const common::CallContext& call) {
                          return api_->CreatePayment(ActorOf(call, Method::kCreatePayment), *req,
                                                     common::CallOrigin{call.deadline,
                                                                        call.request_id});
                        });
}

grpc::ServerUnaryReactor* PaymentsService::GetPayment(grpc::CallbackServerContext* ctx,
                                                      const v1::GetPaymentRequest* req,
                                                      v1::Payment* resp) {
  return handler_.Unary(ctx, Method::kGetPayment, resp,
                        [this, req](const common::CallContext& call) {
                          return api_->GetPayment(ActorOf(call, Method::kGetPayment), *req);
                        });
}

grpc::ServerUnaryReactor* PaymentsService::ListPayments(grpc::CallbackServerContext* ctx,
                                                        const v1::ListPaymentsRequest* req,
                                                        v1::ListPaymentsResponse* resp) {
  return handler_.Unary(ctx, Method::kListPayments, resp,
                        [this, req](const common::CallContext& call) {
                          return api_->ListPayments(ActorOf(call, Method::kListPayments), *req);
                        });
}

grpc::ServerUnaryReactor* PaymentsService::ConfirmDelivery(grpc::CallbackServerContext* ctx,
                                                           const v1::ConfirmDeliveryRequest* req,
                                                           v1::Payment* resp) {
  return handler_.Unary(
      ctx, Method::kConfirmDelivery, resp, [this, req](const common::CallContext& call) {
        return api_->ConfirmDelivery(ActorOf(call, Method::kConfirmDelivery), *req);
      });
}

grpc::ServerUnaryReactor* PaymentsService::RefundPayment(grpc::CallbackServerContext* ctx,
                                                         const v1::RefundPaymentRequest* req,
                                                         v1::Payment* resp) {
  return handler_.Unary(ctx, Method::kRefundPayment, resp,
                        [this, req](const common::CallContext& call) {
                          return api_->RefundPayment(ActorOf(call, Method::kRefundPayment), *req);
                        });
}

grpc::ServerUnaryReactor* PaymentsService::ChargeSellerForRefund(
    grpc::CallbackServerContext* ctx, const v1::ChargeSellerForRefundRequest* req,
    v1::Payment* resp) {
  return handler_.Unary(
      ctx, Method::kChargeSellerForRefund, resp, [this, req](const common::CallContext& call) {
        return api_->ChargeSellerForRefund(ActorOf(call, Method::kChargeSellerForRefund), *req);
      });
}

grpc::ServerUnaryReactor* PaymentsService::SettleOwedRefund(grpc::CallbackServerContext* ctx,
                                                            const v1::SettleOwedRefundRequest* req,
                                                            v1::Payment* resp) {
  return handler_.Unary(
      ctx, Method::kSettleOwedRefund, resp, [this, req](const common::CallContext& call) {
        return api_->SettleOwedRefund(ActorOf(call, Method::kSettleOwedRefund), *req);
      });
}

grpc::ServerUnaryReactor* PaymentsService::OpenDispute(grpc::CallbackServerContext* ctx,
                                                       const v1::OpenDisputeRequest* req,
                                                       v1::Payment* resp) {
  return handler_.Unary(ctx, Method::kOpenDispute, resp,
                        [this, req](const common::CallContext& call) {
                          return api_->OpenDispute(ActorOf(call, Method::kOpenDispute), *req);
                        });
}

grpc::ServerUnaryReactor* PaymentsService::ResolveDispute(grpc::CallbackServerContext* ctx,
                                                          const v1::ResolveDisputeRequest* req,
                                                          v1::Payment* resp) {
  return handler_.Unary(ctx, Method::kResolveDispute, resp,
                        [this, req](const common::CallContext& call) {
                          return api_->ResolveDispute(ActorOf(call, Method::kResolveDispute), *req);
                        });
}

grpc::ServerUnaryReactor* PaymentsService::SetSellerHoldPolicy(
    grpc::CallbackServerContext* ctx, const v1::SetSellerHoldPolicyRequest* req,
    v1::SellerHoldPolicy* resp) {
  return handler_.Unary(
      ctx, Method::kSetSellerHoldPolicy, resp, [this, req](const common::CallContext& call) {
        return api_->SetSellerHoldPolicy(ActorOf(call, Method::kSetSellerHoldPolicy), *req);
      });
}

grpc::ServerUnaryReactor* PaymentsService::GetSellerHoldPolicy(
    grpc::CallbackServerContext* ctx, const v1::GetSellerHoldPolicyRequest* req,
    v1::SellerHoldPolicy* resp) {
  return handler_.Unary(
      ctx, Method::kGetSellerHoldPolicy, resp, [this, req](const common::CallContext& call) {
        return api_->GetSellerHoldPolicy(ActorOf(call, Method::kGetSellerHoldPolicy), *req);
      });
}

grpc::ServerUnaryReactor* PaymentsService::GetSellerBalance(grpc::CallbackServerContext* ctx,
                                                            const v1::GetSellerBalanceRequest* req,
                                                            v1::SellerBalance* resp) {
  return handler_.Unary(
      ctx, Method::kGetSellerBalance, resp, [this, req](const common::CallContext& call) {
        return api_->GetSellerBalance(ActorOf(call, Method::kGetSellerBalance), *req);
      });
}

grpc::ServerUnaryReactor* PaymentsService::CreatePayout(grpc::CallbackServerContext* ctx,
                                                        const v1::CreatePayoutRequest* req,
                                                        v1::Payout* resp) {
  return handler_.Unary(
      ctx, Method::kCreatePayout, resp, [this, req](const common::CallContext& call) {
        return api_->CreatePayout(ActorOf(call, Method::kCreatePayout), *req,
                                  common::CallOrigin{call.deadline, call.request_id});
      });
}

grpc::ServerUnaryReactor* PaymentsService::ListPayouts(grpc::CallbackServerContext* ctx,
                                                       const v1::ListPayoutsRequest* req,
                                                       v1::ListPayoutsResponse* resp) {
  return handler_.Unary(ctx, Method::kListPayouts, resp,
                        [this, req](const common::CallContext& call) {
                          return api_->ListPayouts(ActorOf(call, Method::kListPayouts), *req);
                        });
}

grpc::ServerUnaryReactor* PaymentsService::VerifyLedger(grpc::CallbackServerContext* ctx,
                                                        const v1::VerifyLedgerRequest* /*req*/,
                                                        v1::VerifyLedgerResponse* resp) {
  return handler_.Unary(ctx, Method::kVerifyLedger, resp,
                        [this](const common::CallContext&) { return api_->VerifyLedger(); });
}

}  // namespace marketplace::payments
