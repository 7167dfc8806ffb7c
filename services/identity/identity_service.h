#ifndef MARKETPLACE_SERVICES_IDENTITY_IDENTITY_SERVICE_H_
#define MARKETPLACE_SERVICES_IDENTITY_IDENTITY_SERVICE_H_

#include <array>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "common/server/method_handler.h"
#include "common/server/unary_call.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "services/identity/accounts.h"
#include "services/identity/convert.h"
#include "services/identity/key_ring.h"
#include "services/identity/permissions.h"
#include "services/identity/seller_onboarding.h"
#include "services/identity/sessions.h"

namespace marketplace::identity {

inline constexpr size_t kMethodCount = sizeof(kAllMethods) / sizeof(kAllMethods[0]);

// "SignUp", ... indexed by Method.
std::array<absl::string_view, kMethodCount> MethodNames();

// "/marketplace.identity.v1.Identity/SignUp", ...
std::string FullMethodName(Method method);

// The full names of the methods callable without a token (the permission matrix's public
// rows), for the Authenticator.
std::set<std::string> IdentityPublicMethods();

// What the service calls; all must outlive it.
struct IdentityServiceDeps {
  common::UnaryRunner* runner = nullptr;
  Accounts* accounts = nullptr;
  Sessions* sessions = nullptr;
  SellerOnboarding* sellers = nullptr;
  KeyRing* keys = nullptr;
};

// The Identity gRPC API (protos/marketplace/identity/v1/identity.proto) over the domain
// classes. Every handler runs through the UnaryRunner (request id, token verification,
// bounded executor, status mapping); on top of that every authenticated call is refused when
// its session was revoked or its account suspended (Sessions::CheckCallerActive), and the
// domain checks the caller against the permission matrix.
class IdentityService final : public v1::Identity::CallbackService {
 public:
  explicit IdentityService(IdentityServiceDeps deps);

  grpc::ServerUnaryReactor* SignUp(grpc::CallbackServerContext* context,
                                   const v1::SignUpRequest* request,
                                   v1::Account* response) override;
  grpc::ServerUnaryReactor* Login(grpc::CallbackServerContext* context,
                                  const v1::LoginRequest* request,
                                  v1::LoginResponse* response) override;
  grpc::ServerUnaryReactor* RefreshSession(grpc::CallbackServerContext* context,
                                           const v1::RefreshSessionRequest* request,
                                           v1::RefreshSessionResponse* response) override;
  grpc::ServerUnaryReactor* Logout(grpc::CallbackServerContext* context,
                                   const v1::LogoutRequest* request,
                                   v1::LogoutResponse* response) override;
  grpc::ServerUnaryReactor* LogoutAll(grpc::CallbackServerContext* context,
                                      const v1::LogoutAllRequest* request,
                                      v1::LogoutAllResponse* response) override;
  grpc::ServerUnaryReactor* GetAccount(grpc::CallbackServerContext* context,
                                       const v1::GetAccountRequest* request,
                                       v1::Account* response) override;
  grpc::ServerUnaryReactor* ListAccounts(grpc::CallbackServerContext* context,
                                         const v1::ListAccountsRequest* request,
                                         v1::ListAccountsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateProfile(grpc::CallbackServerContext* context,
                                          const v1::UpdateProfileRequest* request,
                                          v1::Account* response) override;
  grpc::ServerUnaryReactor* ChangePassword(grpc::CallbackServerContext* context,
                                           const v1::ChangePasswordRequest* request,
                                           v1::ChangePasswordResponse* response) override;
  grpc::ServerUnaryReactor* GetSigningKeys(grpc::CallbackServerContext* context,
                                           const v1::GetSigningKeysRequest* request,
                                           v1::GetSigningKeysResponse* response) override;
  grpc::ServerUnaryReactor* RotateSigningKey(grpc::CallbackServerContext* context,
                                             const v1::RotateSigningKeyRequest* request,
                                             v1::RotateSigningKeyResponse* response) override;
  grpc::ServerUnaryReactor* CreateStaffAccount(grpc::CallbackServerContext* context,
                                               const v1::CreateStaffAccountRequest* request,
                                               v1::Account* response) override;
  grpc::ServerUnaryReactor* CreateServiceAccount(
      grpc::CallbackServerContext* context, const v1::CreateServiceAccountRequest* request,
      v1::CreateServiceAccountResponse* response) override;
  grpc::ServerUnaryReactor* IssueServiceToken(grpc::CallbackServerContext* context,
                                              const v1::IssueServiceTokenRequest* request,
                                              v1::IssueServiceTokenResponse* response) override;
  grpc::ServerUnaryReactor* SubmitSellerApplication(
      grpc::CallbackServerContext* context, const v1::SubmitSellerApplicationRequest* request,
      v1::SellerProfile* response) override;
  grpc::ServerUnaryReactor* ReviewSellerApplication(
      grpc::CallbackServerContext* context, const v1::ReviewSellerApplicationRequest* request,
      v1::SellerProfile* response) override;
  grpc::ServerUnaryReactor* GetSellerProfile(grpc::CallbackServerContext* context,
                                             const v1::GetSellerProfileRequest* request,
                                             v1::SellerProfile* response) override;
  grpc::ServerUnaryReactor* SuspendAccount(grpc::CallbackServerContext* context,
                                           const v1::SuspendAccountRequest* request,
                                           v1::Account* response) override;
  grpc::ServerUnaryReactor* ReinstateAccount(grpc::CallbackServerContext* context,
                                             const v1::ReinstateAccountRequest* request,
                                             v1::Account* response) override;
  grpc::ServerUnaryReactor* IntrospectToken(grpc::CallbackServerContext* context,
                                            const v1::IntrospectTokenRequest* request,
                                            v1::IntrospectTokenResponse* response) override;

 static constexpr absl::string_view FullServiceName() {
    return v1::Identity::service_full_name();
  }

 private:
  // The revocation check every authenticated call passes before its body (MethodHandler's
  // guard); the domain then checks the caller against the permission matrix.
  absl::Status CheckCaller(Method method, const common::CallContext& call);

  // Runs `body(RequestContext)` through the common handler; it fills `response` itself.
  template <typename Response, typename Body>
  grpc::ServerUnaryReactor* Handle(grpc::CallbackServerContext* context, Method method,
                                   Response* response, Body body) {
    return handler_.Unary(context, method, response,
                          [body = std::move(body)](const common::CallContext& call) {
                            return body(MakeRequestContext(call));
                          });
  }

  IdentityServiceDeps deps_;
  common::MethodHandler<Method, kMethodCount> handler_;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_IDENTITY_SERVICE_H_
