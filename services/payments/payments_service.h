#ifndef MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_SERVICE_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_SERVICE_H_

#include "absl/status/statusor.h"
#include "common/client/call_origin.h"
#include "common/server/method_handler.h"
#include "common/server/unary_call.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "services/payments/actor.h"
#include "services/payments/payments_domain.h"
#include "services/payments/permissions.h"

namespace marketplace::payments {

namespace pb = ::marketplace::payments::v1;

// The API's methods over the domain, for an actor the permission table made: each request's
// fields checked (violations name the fields), converted to the domain's words, the answer
// converted back; list pages through opaque page tokens bound to their filters. No gRPC.
class PaymentsApi {
 public:
  // `domain` must outlive the API.
  explicit PaymentsApi(PaymentsDomain* domain) : domain_(domain) {}

  // `origin`: the call being served (its deadline and x-request-id go to identity and the
  // processor).
  absl::StatusOr<pb::Payment> CreatePayment(const Actor& actor,
                                            const pb::CreatePaymentRequest& request,
                                            const common::CallOrigin& origin = {});
  absl::StatusOr<pb::Payment> ConfirmDelivery(const Actor& actor,
                                              const pb::ConfirmDeliveryRequest& request);
  absl::StatusOr<pb::Payment> RefundPayment(const Actor& actor,
                                            const pb::RefundPaymentRequest& request);
  absl::StatusOr<pb::Payment> SettleOwedRefund(const Actor& actor,
                                               const pb::SettleOwedRefundRequest& request);
  absl::StatusOr<pb::Payment> ChargeSellerForRefund(
      const Actor& actor, const pb::ChargeSellerForRefundRequest& request);
  absl::StatusOr<pb::Payment> OpenDispute(const Actor& actor,
                                          const pb::OpenDisputeRequest& request);
  absl::StatusOr<pb::Payment> ResolveDispute(const Actor& actor,
                                             const pb::ResolveDisputeRequest& request);
  absl::StatusOr<pb::SellerHoldPolicy> SetSellerHoldPolicy(
      const Actor& actor, const pb::SetSellerHoldPolicyRequest& request);
  absl::StatusOr<pb::Payment> GetPayment(const Actor& actor, const pb::GetPaymentRequest& request);
  absl::StatusOr<pb::ListPaymentsResponse> ListPayments(const Actor& actor,
                                                        const pb::ListPaymentsRequest& request);
  absl::StatusOr<pb::SellerHoldPolicy> GetSellerHoldPolicy(
      const Actor& actor, const pb::GetSellerHoldPolicyRequest& request);
  absl::StatusOr<pb::SellerBalance> GetSellerBalance(const Actor& actor,
                                                     const pb::GetSellerBalanceRequest& request);
  // `origin`: the call being served (its deadline and x-request-id go to identity).
  absl::StatusOr<pb::Payout> CreatePayout(const Actor& actor,
                                          const pb::CreatePayoutRequest& request,
                                          const common::CallOrigin& origin = {});
  absl::StatusOr<pb::ListPayoutsResponse> ListPayouts(const Actor& actor,
                                                      const pb::ListPayoutsRequest& request);
  absl::StatusOr<pb::VerifyLedgerResponse> VerifyLedger();

  PaymentsDomain& domain() { return *domain_; }

 private:
  // `payment` with its refunds (Payment.refunds) as the caller may read them.
  absl::StatusOr<pb::Payment> WithRefunds(const Actor& actor, pb::Payment payment);

  PaymentsDomain* domain_;
};

// The gRPC API (CallbackService): each call goes through common::MethodHandler, whose guard
// is the permission table (permissions.h), then PaymentsApi.
class PaymentsService final : public v1::Payments::CallbackService {
 public:
  // Both must outlive the service.
  PaymentsService(common::UnaryRunner* runner, PaymentsApi* api);

  grpc::ServerUnaryReactor* CreatePayment(grpc::CallbackServerContext* ctx,
                                          const v1::CreatePaymentRequest* req,
                                          v1::Payment* resp) override;
  grpc::ServerUnaryReactor* GetPayment(grpc::CallbackServerContext* ctx,
                                       const v1::GetPaymentRequest* req,
                                       v1::Payment* resp) override;
  grpc::ServerUnaryReactor* ListPayments(grpc::CallbackServerContext* ctx,
                                         const v1::ListPaymentsRequest* req,
                                         v1::ListPaymentsResponse* resp) override;
  grpc::ServerUnaryReactor* ConfirmDelivery(grpc::CallbackServerContext* ctx,
                                            const v1::ConfirmDeliveryRequest* req,
                                            v1::Payment* resp) override;
  grpc::ServerUnaryReactor* RefundPayment(grpc::CallbackServerContext* ctx,
                                          const v1::RefundPaymentRequest* req,
                                          v1::Payment* resp) override;
  grpc::ServerUnaryReactor* SettleOwedRefund(grpc::CallbackServerContext* ctx,
                                             const v1::SettleOwedRefundRequest* req,
                                             v1::Payment* resp) override;
  grpc::ServerUnaryReactor* ChargeSellerForRefund(grpc::CallbackServerContext* ctx,
                                                  const v1::ChargeSellerForRefundRequest* req,
                                                  v1::Payment* resp) override;
  grpc::ServerUnaryReactor* OpenDispute(grpc::CallbackServerContext* ctx,
                                        const v1::OpenDisputeRequest* req,
                                        v1::Payment* resp) override;
  grpc::ServerUnaryReactor* ResolveDispute(grpc::CallbackServerContext* ctx,
                                           const v1::ResolveDisputeRequest* req,
                                           v1::Payment* resp) override;
  grpc::ServerUnaryReactor* SetSellerHoldPolicy(grpc::CallbackServerContext* ctx,
                                                const v1::SetSellerHoldPolicyRequest* req,
                                                v1::SellerHoldPolicy* resp) override;
  grpc::ServerUnaryReactor* GetSellerHoldPolicy(grpc::CallbackServerContext* ctx,
                                                const v1::GetSellerHoldPolicyRequest* req,
                                                v1::SellerHoldPolicy* resp) override;
  grpc::ServerUnaryReactor* GetSellerBalance(grpc::CallbackServerContext* ctx,
                                             const v1::GetSellerBalanceRequest* req,
                                             v1::SellerBalance* resp) override;
  grpc::ServerUnaryReactor* CreatePayout(grpc::CallbackServerContext* ctx,
                                         const v1::CreatePayoutRequest* req,
                                         v1::Payout* resp) override;
  grpc::ServerUnaryReactor* ListPayouts(grpc::CallbackServerContext* ctx,
                                        const v1::ListPayoutsRequest* req,
                                        v1::ListPayoutsResponse* resp) override;
  grpc::ServerUnaryReactor* VerifyLedger(grpc::CallbackServerContext* ctx,
                                         const v1::VerifyLedgerRequest* req,
                                         v1::VerifyLedgerResponse* resp) override;

 private:
  // The actor of the call, made by the permission table (the handler's guard).
  static Actor ActorOf(const common::CallContext& call, Method method);

  PaymentsApi* api_;
  common::MethodHandler<Method, kMethodCount> handler_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_SERVICE_H_
