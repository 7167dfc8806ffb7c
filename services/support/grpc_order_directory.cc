#include "services/support/grpc_order_directory.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/client/channel.h"
#include "common/status_mapping.h"

namespace marketplace::support {

namespace ppb = ::marketplace::payments::v1;

GrpcOrderDirectory::GrpcOrderDirectory(std::shared_ptr<grpc::Channel> channel, Options options)
    : stub_(ppb::Payments::NewStub(std::move(channel))),
      options_(std::move(options)),
      token_(options_.token, options_.cached_token) {}

absl::StatusOr<std::optional<OrderPayment>> GrpcOrderDirectory::FindBuyerOrder(
    absl::string_view buyer_id, absl::string_view order_id, const common::CallOrigin& origin) {
  // The payments call's deadline counts from here and bounds the token fetch too: a slow fetch
  // shortens the call, a hung one fails the lookup UNAVAILABLE (for the caller to retry, as
  // CreateTicket answers it) by that deadline, so a hung identity holds the caller no longer
  // than a slow payments would.
  absl::Time deadline = absl::Now() + options_.timeout;
  if (origin.deadline && *origin.deadline < deadline) deadline = *origin.deadline;
  absl::StatusOr<std::string> token = token_.Token(deadline);
  if (!token.ok()) {
    return absl::UnavailableError(
        absl::StrCat("support's service token is not available: ", token.status().message()));
  }
  // An order has at most one payment: one page of the buyer's payments for this order.
  ppb::ListPaymentsRequest request;
  request.set_page_size(10);
  request.set_buyer_id(std::string(buyer_id));
  request.set_order_id(std::string(order_id));
  // The first page within what the token fetch left of the deadline; a later one (rare: an
  // order has one payment) with a timeout of its own, within the caller's deadline.
  std::optional<absl::Time> bound = deadline;
  for (int page = 0; page < options_.max_pages; ++page) {
    grpc::ClientContext context;
    common::PrepareClientContext(&context, {.timeout = options_.timeout,
                                            .incoming_deadline = bound,
                                            .request_id = origin.request_id,
                                            .bearer_token = *token});
    ppb::ListPaymentsResponse response;
    grpc::Status status = stub_->ListPayments(&context, request, &response);
    if (!status.ok()) {
      if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED && options_.token_refused) {
        options_.token_refused();
      }
      // Whatever payments answers, the caller can only retry: never its own INVALID_ARGUMENT.
      if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        return absl::DeadlineExceededError("payments did not answer in time");
      }
      return absl::UnavailableError(
          absl::StrCat("payments ListPayments failed: ", status.error_message()));
    }
    for (const ppb::Payment& p : response.payments()) {
      if (p.order_id() == order_id && p.buyer_id() == buyer_id) {
        OrderPayment found;
        found.payment_id = p.payment_id();
        found.order_id = p.order_id();
        found.buyer_id = p.buyer_id();
        found.seller_id = p.seller_id();
        found.amount = {p.amount().currency_code(), p.amount().amount_minor()};
        return found;
      }
    }
    if (response.next_page_token().empty()) return std::nullopt;
    request.set_page_token(response.next_page_token());
    bound = origin.deadline;
  }
  return std::nullopt;
}

}  // namespace marketplace::support
