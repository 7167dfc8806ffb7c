#ifndef MARKETPLACE_SERVICES_IDENTITY_CONVERT_H_
#define MARKETPLACE_SERVICES_IDENTITY_CONVERT_H_

// Conversions between the Identity API messages and the domain values, and the parsing of
// resource names. Parsing errors are INVALID_ARGUMENT naming the field and the rule.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "common/server/unary_call.h"
#include "google/protobuf/timestamp.pb.h"
#include "protos/marketplace/identity/v1/identity.pb.h"
#include "services/identity/accounts.h"
#include "services/identity/key_ring.h"
#include "services/identity/model.h"
#include "services/identity/password_check.h"
#include "services/identity/permissions.h"
#include "services/identity/seller_onboarding.h"
#include "services/identity/sessions.h"

namespace marketplace::identity {

// --- callers ---

// The principal stated by a verified token. The role is the one role the token names; a token
// naming no known role, or several, gets no role (and may then do nothing).
Principal PrincipalFromCaller(const common::auth::Caller& caller);

// The domain's view of a call: its caller (if any) and request id.
RequestContext MakeRequestContext(const common::CallContext& call);

// --- resource names ---

// The account id of "accounts/{account_id}"; "accounts/me" is the caller's own account.
// INVALID_ARGUMENT naming `field` when the name is malformed (or "me" without a caller).
absl::StatusOr<std::string> AccountIdFromName(absl::string_view name, absl::string_view field,
                                              const RequestContext& ctx);

// The same for "accounts/{account_id}/sellerProfile".
absl::StatusOr<std::string> AccountIdFromSellerProfileName(absl::string_view name,
                                                           absl::string_view field,
                                                           const RequestContext& ctx);

std::string AccountName(absl::string_view account_id);

// --- enums ---

// nullopt for ROLE_UNSPECIFIED and unknown values.
std::optional<Role> RoleFromProto(v1::Role role);
v1::Role RoleToProto(Role role);
std::optional<AccountStatus> AccountStatusFromProto(v1::AccountStatus status);
v1::AccountStatus AccountStatusToProto(AccountStatus status);
std::optional<ReviewOutcome> ReviewOutcomeFromProto(v1::ReviewDecision decision);

// --- messages ---

void AccountToProto(const Account& account, v1::Account* out);
void AccountViewToProto(const AccountView& view, v1::Account* out);
void ThrottleToProto(const ThrottleView& throttle, v1::LoginThrottle* out);
void SessionTokensToProto(const SessionTokens& tokens, v1::SessionTokens* out);
void SigningKeyToProto(const StoredSigningKey& key, v1::SigningKey* out);
void SellerProfileToProto(const SellerProfileView& view, v1::SellerProfile* out);
SellerApplication SellerApplicationFromProto(const v1::SellerApplication& application);
void IntrospectionToProto(const Introspection& introspection, v1::IntrospectTokenResponse* out);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_CONVERT_H_
