#include "services/identity/identity_service.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "services/identity/field_rules.h"
#include "services/identity/convert.h"

namespace marketplace::identity {
namespace {

const Principal* CallerOf(const RequestContext& ctx) { return ctx.caller ? &*ctx.caller : nullptr; }

int KeyOrder(SigningKeyState state) {
  switch (state) {
    case SigningKeyState::kActive:
      return 0;
    case SigningKeyState::kNext:
      return 1;
    case SigningKeyState::kRetired:
      return 2;
  }
  return 3;
}

}  // namespace

std::array<absl::string_view, kMethodCount> MethodNames() {
  std::array<absl::string_view, kMethodCount> names;
  for (Method m : kAllMethods) names[static_cast<size_t>(m)] = MethodName(m);
  return names;
}

std::string FullMethodName(Method method) {
  return absl::StrCat("/", IdentityService::FullServiceName(), "/", MethodName(method));
}

std::set<std::string> IdentityPublicMethods() {
  std::set<std::string> out;
  for (Method m : kAllMethods) {
    if (RuleFor(m).is_public) out.insert(FullMethodName(m));
  }
  return out;
}

IdentityService::IdentityService(IdentityServiceDeps deps)
    : deps_(deps),
      handler_(deps.runner, FullServiceName(), MethodNames(),
               [this](Method method, const common::CallContext& call) {
                 return CheckCaller(method, call);
               }) {}

absl::Status IdentityService::CheckCaller(Method method, const common::CallContext& call) {
  // Anonymous calls reach only public methods (the Authenticator sees to it). Logging out a
  // session that is already revoked is a no-op, not an error (Logout is idempotent);
  // GetAccount makes the check itself, in the same read as the caller's own account. Every
  // other authenticated call needs a live session and account.
  if (!call.caller || RuleFor(method).is_public || method == Method::kLogout ||
      method == Method::kGetAccount) {
    return absl::OkStatus();
  }
  return deps_.sessions->CheckCallerActive(*MakeRequestContext(call).caller);
}

grpc::ServerUnaryReactor* IdentityService::SignUp(grpc::CallbackServerContext* context,
                                                  const v1::SignUpRequest* request,
                                                  v1::Account* response) {
  return Handle(context, Method::kSignUp, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  NewAccount account{request->email(), request->password(), request->display_name(),
                                     RoleFromProto(request->role()), request->request_id()};
                  ASSIGN_OR_RETURN(Account created, deps_.accounts->SignUp(account, ctx));
                  AccountToProto(created, response);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::Login(grpc::CallbackServerContext* context,
                                                 const v1::LoginRequest* request,
                                                 v1::LoginResponse* response) {
  return Handle(context, Method::kLogin, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  ASSIGN_OR_RETURN(
                      LoginResult result,
                      deps_.sessions->Login(request->email(), request->password(), ctx));
                  SessionTokensToProto(result.tokens, response->mutable_tokens());
                  AccountToProto(result.account, response->mutable_account());
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::RefreshSession(grpc::CallbackServerContext* context,
                                                          const v1::RefreshSessionRequest* request,
                                                          v1::RefreshSessionResponse* response) {
  return Handle(context, Method::kRefreshSession, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  ASSIGN_OR_RETURN(SessionTokens tokens,
                                   deps_.sessions->Refresh(request->refresh_token(), ctx));
                  SessionTokensToProto(tokens, response->mutable_tokens());
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::Logout(grpc::CallbackServerContext* context,
                                                  const v1::LogoutRequest*, v1::LogoutResponse* response) {
  return Handle(context, Method::kLogout, response, [this](const RequestContext& ctx) -> absl::Status {
    return deps_.sessions->Logout(ctx);
  });
}

grpc::ServerUnaryReactor* IdentityService::LogoutAll(grpc::CallbackServerContext* context,
                                                     const v1::LogoutAllRequest*,
                                                     v1::LogoutAllResponse* response) {
  return Handle(context, Method::kLogoutAll, response,
                [this, response](const RequestContext& ctx) -> absl::Status {
                  ASSIGN_OR_RETURN(int revoked, deps_.sessions->LogoutAll(ctx));
                  response->set_revoked_sessions(revoked);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::GetAccount(grpc::CallbackServerContext* context,
                                                      const v1::GetAccountRequest* request,
                                                      v1::Account* response) {
  return Handle(
      context, Method::kGetAccount, response,
      [this, request, response](const RequestContext& ctx) -> absl::Status {
        absl::StatusOr<std::string> id = AccountIdFromName(request->name(), "name", ctx);
        AccountView view;
        if (ctx.caller && id.ok() && *id == ctx.caller->account_id) {
          // The caller's own account: its revocation check and the account in one read.
          ASSIGN_OR_RETURN(Account self, deps_.sessions->LoadActiveCaller(*ctx.caller));
          ASSIGN_OR_RETURN(view, deps_.accounts->GetLoaded(std::move(self), ctx));
        } else {
          if (ctx.caller) RETURN_IF_ERROR(deps_.sessions->CheckCallerActive(*ctx.caller));
          RETURN_IF_ERROR(id.status());
          ASSIGN_OR_RETURN(view, deps_.accounts->Get(*id, ctx));
        }
        AccountViewToProto(view, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IdentityService::ListAccounts(grpc::CallbackServerContext* context,
                                                        const v1::ListAccountsRequest* request,
                                                        v1::ListAccountsResponse* response) {
  return Handle(context, Method::kListAccounts, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  // Permission first: callers without it learn nothing, not even which filters are
                  // bad.
                  RETURN_IF_ERROR(Authorize(Method::kListAccounts, CallerOf(ctx), nullptr));
                  AccountFilter filter;
                  std::vector<common::FieldViolation> violations;
                  if (request->role() != v1::ROLE_UNSPECIFIED) {
                    filter.role = RoleFromProto(request->role());
                    if (!filter.role)
                      violations.push_back({"role", "must be a known role or unset"});
                  }
                  if (request->status() != v1::ACCOUNT_STATUS_UNSPECIFIED) {
                    filter.status = AccountStatusFromProto(request->status());
                    if (!filter.status)
                      violations.push_back({"status", "must be a known status or unset"});
                  }
                  if (request->page_size() < 0) {
                    violations.push_back({"page_size", "must not be negative"});
                  }
                  if (!violations.empty()) return common::InvalidFields(std::move(violations));
                  ASSIGN_OR_RETURN(AccountPage page,
                                   deps_.accounts->List(filter, request->page_size(),
                                                        request->page_token(), ctx));
                  for (const AccountView& view : page.accounts) {
                    AccountViewToProto(view, response->add_accounts());
                  }
                  response->set_next_page_token(page.next_page_token);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::UpdateProfile(grpc::CallbackServerContext* context,
                                                         const v1::UpdateProfileRequest* request,
                                                         v1::Account* response) {
  return Handle(
      context, Method::kUpdateProfile, response,
      [this, request, response](const RequestContext& ctx) -> absl::Status {
        ASSIGN_OR_RETURN(std::string id,
                         AccountIdFromName(request->account().name(), "account.name", ctx));
        if (request->update_mask().paths_size() == 0) {
          return common::InvalidField("update_mask",
                                      "is required and must name at least one field; "
                                      "supported: display_name");
        }
        for (int i = 0; i < request->update_mask().paths_size(); ++i) {
          if (request->update_mask().paths(i) != "display_name") {
            return common::InvalidField(absl::StrCat("update_mask.paths[", i, "]"),
                                        "unsupported field; supported: display_name");
          }
        }
        absl::StatusOr<Account> account =
            deps_.accounts->UpdateDisplayName(id, request->account().display_name(), ctx);
        // This replica's remembered copy of the account is out of date.
        deps_.sessions->ForgetCaller(id);
        RETURN_IF_ERROR(account.status());
        AccountToProto(*account, response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IdentityService::ChangePassword(grpc::CallbackServerContext* context,
                                                          const v1::ChangePasswordRequest* request,
                                                          v1::ChangePasswordResponse* response) {
  return Handle(context, Method::kChangePassword, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  ASSIGN_OR_RETURN(std::string id, AccountIdFromName(request->name(), "name", ctx));
                  absl::StatusOr<int> revoked = deps_.accounts->ChangePassword(
                      id, request->current_password(), request->new_password(), ctx);
                  // Other sessions were revoked: this replica stops accepting them at once.
                  deps_.sessions->ForgetCaller(id);
                  RETURN_IF_ERROR(revoked.status());
                  response->set_revoked_sessions(*revoked);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::GetSigningKeys(grpc::CallbackServerContext* context,
                                                          const v1::GetSigningKeysRequest*,
                                                          v1::GetSigningKeysResponse* response) {
  return Handle(context, Method::kGetSigningKeys, response,
                [this, response](const RequestContext&) -> absl::Status {
                  ASSIGN_OR_RETURN(std::vector<StoredSigningKey> keys, deps_.keys->Published());
                  // Active, next, then retired keys, most recently retired first.
                  std::stable_sort(keys.begin(), keys.end(),
                                   [](const StoredSigningKey& a, const StoredSigningKey& b) {
                                     if (KeyOrder(a.state) != KeyOrder(b.state)) {
                                       return KeyOrder(a.state) < KeyOrder(b.state);
                                     }
                                     return a.retired_at.value_or(absl::InfinitePast()) >
                                            b.retired_at.value_or(absl::InfinitePast());
                                   });
                  for (const StoredSigningKey& key : keys)
                    SigningKeyToProto(key, response->add_keys());
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::RotateSigningKey(
    grpc::CallbackServerContext* context, const v1::RotateSigningKeyRequest* request,
    v1::RotateSigningKeyResponse* response) {
  return Handle(context, Method::kRotateSigningKey, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  RETURN_IF_ERROR(Authorize(Method::kRotateSigningKey, CallerOf(ctx), nullptr));
                  RETURN_IF_ERROR(CheckRequestId(request->request_id(), "request_id"));
                  ASSIGN_OR_RETURN(KeyRing::Rotation rotation,
                                   deps_.keys->Rotate(ctx, request->request_id()));
                  SigningKeyToProto(rotation.active, response->mutable_active_key());
                  SigningKeyToProto(rotation.previous, response->mutable_previous_key());
                  SigningKeyToProto(rotation.next, response->mutable_next_key());
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::CreateStaffAccount(
    grpc::CallbackServerContext* context, const v1::CreateStaffAccountRequest* request,
    v1::Account* response) {
  return Handle(context, Method::kCreateStaffAccount, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  NewAccount account{request->email(), request->password(), request->display_name(),
                                     RoleFromProto(request->role()), request->request_id()};
                  ASSIGN_OR_RETURN(Account created,
                                   deps_.accounts->CreateStaffAccount(account, ctx));
                  AccountToProto(created, response);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::CreateServiceAccount(
    grpc::CallbackServerContext* context, const v1::CreateServiceAccountRequest* request,
    v1::CreateServiceAccountResponse* response) {
  return Handle(
      context, Method::kCreateServiceAccount, response,
      [this, request, response](const RequestContext& ctx) -> absl::Status {
        std::vector<std::string> scopes(request->scopes().begin(), request->scopes().end());
        ASSIGN_OR_RETURN(CreatedServiceAccount created,
                         deps_.accounts->CreateServiceAccount(request->display_name(), scopes,
                                                              request->request_id(), ctx));
        AccountToProto(created.account, response->mutable_account());
        response->set_client_id(created.account.id);
        response->set_client_secret(created.client_secret);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IdentityService::IssueServiceToken(
    grpc::CallbackServerContext* context, const v1::IssueServiceTokenRequest* request,
    v1::IssueServiceTokenResponse* response) {
  return Handle(
      context, Method::kIssueServiceToken, response,
      [this, request, response](const RequestContext& ctx) -> absl::Status {
        std::vector<std::string> scopes(request->scopes().begin(), request->scopes().end());
        ASSIGN_OR_RETURN(ServiceToken token,
                         deps_.sessions->IssueServiceToken(request->client_id(),
                                                           request->client_secret(), scopes, ctx));
        response->set_access_token(token.access.token);
        *response->mutable_expire_time() = common::ToTimestamp(token.access.expires_at);
        response->set_token_type("Bearer");
        for (const std::string& s : token.scopes) response->add_scopes(s);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IdentityService::SubmitSellerApplication(
    grpc::CallbackServerContext* context, const v1::SubmitSellerApplicationRequest* request,
    v1::SellerProfile* response) {
  return Handle(context, Method::kSubmitSellerApplication, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  ASSIGN_OR_RETURN(std::string id,
                                   AccountIdFromSellerProfileName(request->name(), "name", ctx));
                  if (!request->has_application()) {
                    return common::InvalidField("application", "is required");
                  }
                  ASSIGN_OR_RETURN(
                      SellerProfileView view,
                      deps_.sellers->Submit(id, SellerApplicationFromProto(request->application()),
                                            request->request_id(), ctx));
                  SellerProfileToProto(view, response);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::ReviewSellerApplication(
    grpc::CallbackServerContext* context, const v1::ReviewSellerApplicationRequest* request,
    v1::SellerProfile* response) {
  return Handle(context, Method::kReviewSellerApplication, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  ASSIGN_OR_RETURN(std::string id,
                                   AccountIdFromSellerProfileName(request->name(), "name", ctx));
                  ASSIGN_OR_RETURN(
                      SellerProfileView view,
                      deps_.sellers->Review(id, ReviewOutcomeFromProto(request->decision()),
                                            request->reason_code(), request->reason(), ctx));
                  SellerProfileToProto(view, response);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::GetSellerProfile(
    grpc::CallbackServerContext* context, const v1::GetSellerProfileRequest* request,
    v1::SellerProfile* response) {
  return Handle(context, Method::kGetSellerProfile, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  ASSIGN_OR_RETURN(std::string id,
                                   AccountIdFromSellerProfileName(request->name(), "name", ctx));
                  ASSIGN_OR_RETURN(SellerProfileView view, deps_.sellers->Get(id, ctx));
                  SellerProfileToProto(view, response);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::SuspendAccount(grpc::CallbackServerContext* context,
                                                          const v1::SuspendAccountRequest* request,
                                                          v1::Account* response) {
  return Handle(context, Method::kSuspendAccount, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  ASSIGN_OR_RETURN(std::string id, AccountIdFromName(request->name(), "name", ctx));
                  absl::StatusOr<Account> account =
                      deps_.accounts->Suspend(id, request->reason_code(), request->reason(), ctx);
                  // This replica refuses the account's tokens at once.
                  deps_.sessions->ForgetCaller(id);
                  RETURN_IF_ERROR(account.status());
                  AccountToProto(*account, response);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::ReinstateAccount(
    grpc::CallbackServerContext* context, const v1::ReinstateAccountRequest* request,
    v1::Account* response) {
  return Handle(context, Method::kReinstateAccount, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  ASSIGN_OR_RETURN(std::string id, AccountIdFromName(request->name(), "name", ctx));
                  absl::StatusOr<Account> account =
                      deps_.accounts->Reinstate(id, request->reason_code(), request->reason(), ctx);
                  deps_.sessions->ForgetCaller(id);
                  RETURN_IF_ERROR(account.status());
                  AccountToProto(*account, response);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* IdentityService::IntrospectToken(
    grpc::CallbackServerContext* context, const v1::IntrospectTokenRequest* request,
    v1::IntrospectTokenResponse* response) {
  return Handle(context, Method::kIntrospectToken, response,
                [this, request, response](const RequestContext& ctx) -> absl::Status {
                  ASSIGN_OR_RETURN(Introspection result,
                                   deps_.sessions->Introspect(request->token(), ctx));
                  IntrospectionToProto(result, response);
                  return absl::OkStatus();
                });
}

}  // namespace marketplace::identity
