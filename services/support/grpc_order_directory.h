#ifndef MARKETPLACE_SERVICES_SUPPORT_GRPC_ORDER_DIRECTORY_H_
#define MARKETPLACE_SERVICES_SUPPORT_GRPC_ORDER_DIRECTORY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "services/support/bounded_token_fetch.h"
#include "services/support/order_directory.h"

namespace marketplace::support {

// OrderDirectory over payments' ListPayments, called with support's own SERVICE token
// (scope payments.read), filtered by buyer_id and order_id (an order has at most one
// payment); the answer is checked again for the exact order and buyer.
//
// The first payments call's deadline is `timeout` from the lookup's start (the caller's
// deadline when earlier; a later page of the answer, rare, gets `timeout` of its own), and
// the token fetch counts against it: the token is waited for on a BoundedTokenFetch of this
// directory, so a slow identity shortens the payments call and a hung one (or another caller's
// renewal in flight) fails the lookup UNAVAILABLE by that deadline, without calling payments.
class GrpcOrderDirectory final : public OrderDirectory {
 public:
  struct Options {
    // support's SERVICE token (identity's ServiceTokenSource). It may block (identity slow or
    // hung, another caller's renewal in flight): a lookup waits for it within `timeout` only.
    std::function<absl::StatusOr<std::string>()> token;
    // The token at hand without waiting, when there is one (ServiceTokenSource::CachedToken);
    // empty: every call goes through `token` on the fetch thread.
    std::function<std::optional<std::string>()> cached_token;
    std::function<void()> token_refused;  // after UNAUTHENTICATED
    // Longest wait for a lookup's payments call, support's token fetched within it (a later
    // page of the answer gets a timeout of its own); support_server passes --payments_timeout.
    absl::Duration timeout = absl::Seconds(5);
    int max_pages = 20;
  };
  GrpcOrderDirectory(std::shared_ptr<grpc::Channel> channel, Options options);

  absl::StatusOr<std::optional<OrderPayment>> FindBuyerOrder(
      absl::string_view buyer_id, absl::string_view order_id,
      const common::CallOrigin& origin) override;

 private:
  std::unique_ptr<marketplace::payments::v1::Payments::Stub> stub_;
  Options options_;
  BoundedTokenFetch token_;  // over options_.token
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_GRPC_ORDER_DIRECTORY_H_
