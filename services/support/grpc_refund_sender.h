#ifndef MARKETPLACE_SERVICES_SUPPORT_GRPC_REFUND_SENDER_H_
#define MARKETPLACE_SERVICES_SUPPORT_GRPC_REFUND_SENDER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "services/support/bounded_token_fetch.h"
#include "services/support/refund_sender.h"

namespace marketplace::support {

// RefundSender over payments' RefundPayment and ChargeSellerForRefund, with support's own SERVICE token (scope
// payments.refunds) and the command's request_id ("support:<ticket_id>:<n>"), so a retry after
// a lost answer or a crash refunds once.
class GrpcRefundSender final : public RefundSender {
 public:
  struct Options {
    // support's token (identity's ServiceTokenSource). It may block (identity slow or hung, or
    // another caller's renewal in flight): a call waits for it within `timeout` only.
    std::function<absl::StatusOr<std::string>()> token;
    // The token at hand without waiting, when there is one (ServiceTokenSource::CachedToken);
    // empty: every call goes through `token` on the fetch thread.
    std::function<std::optional<std::string>()> cached_token;
    std::function<void()> token_refused;
    // Longest wait for one call, support's token fetched within it: a token not there by then
    // fails the call UNAVAILABLE without calling payments. The RefundWorker's lease must leave
    // room for it (RefundLeaseFor: a quarter of the lease at most); support_server passes
    // --payments_timeout, which the lease is derived from.
    absl::Duration timeout = absl::Seconds(10);
  };
  GrpcRefundSender(std::shared_ptr<grpc::Channel> channel, Options options);

  absl::StatusOr<std::string> Refund(const RefundCommand& command) override;
  absl::StatusOr<SellerCharge> ChargeSeller(const ChargeCommand& command) override;

 private:
  // One payments call with support's token and `request_id`; a refused token is reported.
  grpc::Status Call(const std::string& request_id,
                    const std::function<grpc::Status(grpc::ClientContext*)>& call);

  std::unique_ptr<marketplace::payments::v1::Payments::Stub> stub_;
  Options options_;
  BoundedTokenFetch token_;  // over options_.token
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_GRPC_REFUND_SENDER_H_
