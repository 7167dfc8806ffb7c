#include "services/support/grpc_refund_sender.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/client/channel.h"
#include "common/status_macros.h"
#include "common/status_mapping.h"
#include "services/support/refund_funding.h"

namespace marketplace::support {

namespace ppb = ::marketplace::payments::v1;

GrpcRefundSender::GrpcRefundSender(std::shared_ptr<grpc::Channel> channel, Options options)
    : stub_(ppb::Payments::NewStub(std::move(channel))),
      options_(std::move(options)),
      token_(options_.token, options_.cached_token) {}

grpc::Status GrpcRefundSender::Call(
    const std::string& request_id,
    const std::function<grpc::Status(grpc::ClientContext*)>& call) {
  // The timeout counts from here and bounds the token fetch too: a slow fetch shortens the
  // call, a hung one fails it, so the whole of it stays within the timeout the worker's lease
  // is sized for.
  const absl::Time deadline = absl::Now() + options_.timeout;
  absl::StatusOr<std::string> token = token_.Token(deadline);
  if (!token.ok()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("support's service token is not available: ",
                                     token.status().message()));
  }
  grpc::ClientContext context;
  common::OutgoingCall outgoing;
  outgoing.timeout = options_.timeout;
  outgoing.incoming_deadline = deadline;
  outgoing.request_id = request_id;
  outgoing.bearer_token = *token;
  common::PrepareClientContext(&context, outgoing);
  grpc::Status status = call(&context);
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED && options_.token_refused) {
    options_.token_refused();
  }
  return status;
}

absl::StatusOr<std::string> GrpcRefundSender::Refund(const RefundCommand& command) {
  ppb::RefundPaymentRequest request;
  request.set_request_id(command.request_id);
  request.set_payment_id(command.payment_id);
  request.mutable_amount()->set_currency_code(command.amount.currency);
  request.mutable_amount()->set_amount_minor(command.amount.minor);
  request.set_reason(absl::StrCat("support ticket ", command.ticket_id));
  ApplyFunding(command.funding, &request);
  ppb::Payment response;
  RETURN_IF_ERROR(common::FromGrpcStatus(Call(command.request_id, [&](grpc::ClientContext* c) {
    return stub_->RefundPayment(c, request, &response);
  })));
  if (command.funding != RefundFunding::kGuaranteeFund) return std::string();
  // The refund made: payments lists the payment's refunds oldest first; a guarantee-funded
  // command is a full refund, so its payment has no other refund of that amount and funding.
  for (int i = response.refunds_size() - 1; i >= 0; --i) {
    const ppb::Refund& r = response.refunds(i);
    if (r.funded_by() == ppb::GUARANTEE_FUND && r.amount().amount_minor() == command.amount.minor &&
        r.amount().currency_code() == command.amount.currency) {
      return r.refund_id();
    }
  }
  return std::string();
}

absl::StatusOr<SellerCharge> GrpcRefundSender::ChargeSeller(const ChargeCommand& command) {
  ppb::ChargeSellerForRefundRequest request;
  request.set_request_id(command.request_id);
  request.set_payment_id(command.payment_id);
  request.set_refund_id(command.payments_refund_id);
  request.set_reason(absl::StrCat("support ticket ", command.ticket_id,
                                  ": an agent found the seller at fault"));
  ppb::Payment response;
  RETURN_IF_ERROR(common::FromGrpcStatus(Call(command.request_id, [&](grpc::ClientContext* c) {
    return stub_->ChargeSellerForRefund(c, request, &response);
  })));
  SellerCharge charge;
  for (const ppb::Refund& r : response.refunds()) {
    if (r.refund_id() != command.payments_refund_id) continue;
    charge.charged_minor = r.charged_to_seller().amount_minor();
    charge.shortfall_minor = r.charge_shortfall().amount_minor();
    charge.currency = r.amount().currency_code();
  }
  return charge;
}

}  // namespace marketplace::support
