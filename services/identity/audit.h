#ifndef MARKETPLACE_SERVICES_IDENTITY_AUDIT_H_
#define MARKETPLACE_SERVICES_IDENTITY_AUDIT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/identity/model.h"
#include "services/identity/permissions.h"

namespace marketplace::identity {

// Audit event types: who did what to whom, kept in the audit_log table.
namespace audit {
inline constexpr absl::string_view kSignUp = "SIGN_UP";
inline constexpr absl::string_view kAccountCreated = "ACCOUNT_CREATED";  // staff and services
inline constexpr absl::string_view kBootstrapAdminCreated = "BOOTSTRAP_ADMIN_CREATED";
inline constexpr absl::string_view kLoginSucceeded = "LOGIN_SUCCEEDED";
inline constexpr absl::string_view kLoginFailed = "LOGIN_FAILED";
inline constexpr absl::string_view kLoginThrottled = "LOGIN_THROTTLED";
inline constexpr absl::string_view kLockedOut = "LOCKED_OUT";
inline constexpr absl::string_view kRefreshTokenReused = "REFRESH_TOKEN_REUSED";
inline constexpr absl::string_view kLogout = "LOGOUT";
inline constexpr absl::string_view kLogoutAll = "LOGOUT_ALL";
inline constexpr absl::string_view kPasswordChanged = "PASSWORD_CHANGED";
inline constexpr absl::string_view kPasswordRehashed = "PASSWORD_REHASHED";
inline constexpr absl::string_view kProfileUpdated = "PROFILE_UPDATED";
inline constexpr absl::string_view kRoleGranted = "ROLE_GRANTED";
inline constexpr absl::string_view kServiceTokenIssued = "SERVICE_TOKEN_ISSUED";
inline constexpr absl::string_view kServiceTokenRefused = "SERVICE_TOKEN_REFUSED";
inline constexpr absl::string_view kSellerApplicationSubmitted = "SELLER_APPLICATION_SUBMITTED";
inline constexpr absl::string_view kSellerApplicationApproved = "SELLER_APPLICATION_APPROVED";
inline constexpr absl::string_view kSellerApplicationRejected = "SELLER_APPLICATION_REJECTED";
inline constexpr absl::string_view kAccountSuspended = "ACCOUNT_SUSPENDED";
inline constexpr absl::string_view kAccountReinstated = "ACCOUNT_REINSTATED";
inline constexpr absl::string_view kSigningKeyCreated = "SIGNING_KEY_CREATED";
inline constexpr absl::string_view kSigningKeyRotated = "SIGNING_KEY_ROTATED";
}  // namespace audit

// An audit event by the caller of `ctx` about `account_id`. `detail` must hold no secret.
AuditEvent MakeAuditEvent(absl::string_view type, const RequestContext& ctx,
                          absl::string_view account_id, const nlohmann::json& detail,
                          absl::Time now);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_AUDIT_H_
