#ifndef MARKETPLACE_SERVICES_SELLERKPI_GRPC_STEP_EXECUTOR_H_
#define MARKETPLACE_SERVICES_SELLERKPI_GRPC_STEP_EXECUTOR_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/catalog/v1/catalog.grpc.pb.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "services/sellerkpi/enforcement_worker.h"

namespace marketplace::sellerkpi {

// The StepExecutor of the running service: each step (enforcement_policy.h names) calls
// identity, catalog or payments with sellerkpi's own SERVICE token (scopes in
// services/sellerkpi/identity_scopes: identity.enforcement, catalog.enforcement,
// payments.policy) and the step's request_id as x-request-id, then reads the effect back; a
// step whose effect is not what it asked for fails (and is retried). Every call it makes is
// idempotent (a set to the same value, a suspension of a suspended account), so a retry after
// a lost answer or a crash changes nothing twice. notify_seller calls nothing: there is no
// mail system; the notice is the step's result, which the seller reads in
// GetSellerScorecard / ListEnforcementActions.
class GrpcStepExecutor final : public StepExecutor {
 public:
  struct Options {
    // sellerkpi's access token (ServiceTokenSource::Token) and what to do when a service
    // refuses it (drop the cached one).
    std::function<absl::StatusOr<std::string>()> token;
    std::function<void()> token_refused;
    absl::Duration timeout = absl::Seconds(10);
  };
  GrpcStepExecutor(std::shared_ptr<grpc::Channel> identity,
                   std::shared_ptr<grpc::Channel> catalog,
                   std::shared_ptr<grpc::Channel> payments, Options options);

  absl::StatusOr<std::string> Run(const ClaimedStep& step) override;

 private:
  // Runs `call` with the token, deadline and request id of `step`.
  absl::Status Call(const ClaimedStep& step,
                    const std::function<grpc::Status(grpc::ClientContext*)>& call);

  absl::StatusOr<std::string> ReadModerationLevel(const ClaimedStep& step);
  absl::StatusOr<std::string> SetModerationLevel(const ClaimedStep& step,
                                                 const std::string& level_name);
  absl::StatusOr<std::string> ReadHoldPolicy(const ClaimedStep& step);
  absl::StatusOr<std::string> SetHoldPolicy(const ClaimedStep& step, absl::Duration hold,
                                            const std::string& reason);
  absl::StatusOr<std::string> AccountStatus(const ClaimedStep& step, bool want_suspended);

  std::unique_ptr<marketplace::identity::v1::Identity::Stub> identity_;
  std::unique_ptr<marketplace::catalog::v1::CatalogService::Stub> catalog_;
  std::unique_ptr<marketplace::payments::v1::Payments::Stub> payments_;
  Options options_;
};

// The notice notify_seller records for an action (what the seller reads).
std::string NoticeText(const ClaimedStep& step);

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_GRPC_STEP_EXECUTOR_H_
