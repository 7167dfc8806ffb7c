#ifndef MARKETPLACE_SERVICES_SUPPORT_GRPC_ORDER_DIRECTORY_H_
#define MARKETPLACE_SERVICES_SUPPORT_GRPC_ORDER_DIRECTORY_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "services/support/order_directory.h"

namespace marketplace::support {

// OrderDirectory over payments' ListPayments, called with support's own SERVICE token
// (scope payments.read), filtered by buyer_id and order_id (an order has at most one
// payment); the answer is checked again for the exact order and buyer.
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
