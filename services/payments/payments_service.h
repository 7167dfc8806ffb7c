#ifndef MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_SERVICE_H_
#define MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_SERVICE_H_

#include <optional>

#include "absl/status/statusor.h"
#include "common/auth/token_verifier.h"
#include "common/server/unary_call.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "services/payments/escrow_service.h"

namespace marketplace::payments {

// The role and scope rules of payments.proto: which payments `caller` may act on through
// `method` (a method name, "CreatePayment"). PERMISSION_DENIED when the caller's roles and
// scopes give it no access to the method at all; ownership of the payment itself is then
// checked by EscrowService. Deny by default: an unknown method or a caller without any
// matching role gets nothing.
absl::StatusOr<Actor> ActorFor(const std::optional<common::auth::Caller>& caller,
                               absl::string_view method);

// The gRPC API (CallbackService) over EscrowService; every call goes through UnaryRunner.
class PaymentsService final : public v1::Payments::CallbackService {
 public:
  // Both must outlive the service.
  PaymentsService(common::UnaryRunner* runner, EscrowService* escrow)
      : runner_(runner), escrow_(escrow) {}

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
  grpc::ServerUnaryReactor* OpenDispute(grpc::CallbackServerContext* ctx,
                                        const v1::OpenDisputeRequest* req,
                                        v1::Payment* resp) override;
  grpc::ServerUnaryReactor* ResolveDispute(grpc::CallbackServerContext* ctx,
                                           const v1::ResolveDisputeRequest* req,
                                           v1::Payment* resp) override;
  grpc::ServerUnaryReactor* SetSellerHoldPolicy(grpc::CallbackServerContext* ctx,
                                                const v1::SetSellerHoldPolicyRequest* req,
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
  common::UnaryRunner* runner_;
  EscrowService* escrow_;
};

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_PAYMENTS_SERVICE_H_
