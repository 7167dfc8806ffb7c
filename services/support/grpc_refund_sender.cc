#include "services/support/grpc_refund_sender.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/client/channel.h"
#include "common/status_mapping.h"
#include "services/support/refund_funding.h"

namespace marketplace::support {

namespace ppb = ::marketplace::payments::v1;

GrpcRefundSender::GrpcRefundSender(std::shared_ptr<grpc::Channel> channel, Options options)
    : stub_(ppb::Payments::NewStub(std::move(channel))), options_(std::move(options)) {}

absl::Status GrpcRefundSender::Refund(const RefundCommand& command) {
  absl::StatusOr<std::string> token = options_.token();
  if (!token.ok()) {
    return absl::UnavailableError(
        absl::StrCat("support's service token is not available: ", token.status().message()));
  }
  ppb::RefundPaymentRequest request;
  request.set_request_id(command.request_id);
  request.set_payment_id(command.payment_id);
  request.mutable_amount()->set_currency_code(command.amount.currency);
  request.mutable_amount()->set_amount_minor(command.amount.minor);
  request.set_reason(absl::StrCat("support ticket ", command.ticket_id));
  ApplyFunding(command.funding, &request);
  grpc::ClientContext context;
  common::OutgoingCall call;
  call.timeout = options_.timeout;
  call.request_id = command.request_id;
  call.bearer_token = *token;
  common::PrepareClientContext(&context, call);
  ppb::Payment response;
  grpc::Status status = stub_->RefundPayment(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED && options_.token_refused) {
    options_.token_refused();
  }
  return common::FromGrpcStatus(status);
}

}  // namespace marketplace::support
