#ifndef MARKETPLACE_SERVICES_SUPPORT_GRPC_ORDER_DIRECTORY_H_
#define MARKETPLACE_SERVICES_SUPPORT_GRPC_ORDER_DIRECTORY_H_

#include <functional>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "services/support/order_directory.h"

namespace marketplace::support {

// OrderDirectory over payments' ListPayments, called with support's own SERVICE token
// (scope payments.read). Until payments filters by order_id, it lists the buyer's payments
// (buyer_id filter, newest first, pages of 100) and takes the one whose order_id matches
// exactly; at most `max_pages` pages are read.
class GrpcOrderDirectory final : public OrderDirectory {
 public:
  struct Options {
    std::function<absl::StatusOr<std::string>()> token;  // support's SERVICE token
    std::function<void()> token_refused;                 // after UNAUTHENTICATED
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
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_GRPC_ORDER_DIRECTORY_H_
