#ifndef MARKETPLACE_COMMON_AUTH_GRPC_AUTH_H_
#define MARKETPLACE_COMMON_AUTH_GRPC_AUTH_H_

#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "grpcpp/client_context.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/string_ref.h"

namespace marketplace::common::auth {

// What grpc::ServerContextBase::client_metadata() returns.
using ClientMetadata = std::multimap<grpc::string_ref, grpc::string_ref>;

// The token of the `authorization: Bearer <token>` header in `metadata`; nullopt when the call
// has no authorization header. UNAUTHENTICATED when there is more than one such header (which
// of them would count is exactly the kind of ambiguity an attacker looks for), the scheme is
// not Bearer (case-insensitive), or the token is empty or contains whitespace.
absl::StatusOr<std::optional<std::string>> BearerTokenFromMetadata(const ClientMetadata& metadata);

// Access tokens withdrawn before they expire: every token of an account issued before a
// not-before time (the account was suspended, logged out everywhere, changed its password).
// The Authenticator asks it after a token verifies.
class RevocationCheck {
 public:
  virtual ~RevocationCheck() = default;
  // UNAUTHENTICATED with ErrorInfo reason TOKEN_REVOKED when `caller`'s token is withdrawn.
  [[nodiscard]] virtual absl::Status CheckNotRevoked(const Caller& caller) const = 0;
};

inline constexpr absl::string_view kTokenRevokedReason = "TOKEN_REVOKED";

// The in-memory not-before time of each account (common/events/revocations.h keeps it filled
// from the service's revocation table). Thread-safe; times only ever move forward.
class RevocationList final : public RevocationCheck {
 public:
  // Refuses the account's tokens with iat < not_before from now on (a later time than the
  // one held wins; an earlier one changes nothing).
  void Revoke(absl::string_view account_id, absl::Time not_before);
  // Forgets entries whose not_before is before `cutoff` (every token they refuse has expired).
  void ForgetBefore(absl::Time cutoff);
  size_t size() const;

  // Refused when caller.issued_at < the account's not_before. A token's iat has whole seconds,
  // so a token issued in the same second as the revocation is refused too.
  absl::Status CheckNotRevoked(const Caller& caller) const override;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::Time> not_before_ ABSL_GUARDED_BY(mu_);
};

// The check every handler goes through before doing anything else. Deny by default: only the
// methods named public may be called without a token, and a token that is present is always
// verified, public method or not.
class Authenticator {
 public:
  // `verifier` must outlive the authenticator. `public_methods` holds full gRPC method names,
  // "/marketplace.catalog.v1.CatalogService/ListListings".
  // `revocations` (optional; must outlive the authenticator) refuses withdrawn tokens.
  Authenticator(TokenVerifier* verifier, std::set<std::string> public_methods,
                const RevocationCheck* revocations = nullptr);

  // The caller of a call; nullopt for an anonymous call to a public method.
  absl::StatusOr<std::optional<Caller>> Authenticate(const grpc::ServerContextBase& ctx,
                                                     absl::string_view full_method) const;
  // The same, on the call's metadata alone.
  absl::StatusOr<std::optional<Caller>> AuthenticateMetadata(const ClientMetadata& metadata,
                                                             absl::string_view full_method) const;

  // AuthenticateMetadata's answer when it needs no wait: no token, a malformed authorization
  // header, or a token the verifier already holds as verified (TokenVerifier::CachedCaller),
  // with the revocation check made. nullopt when only AuthenticateMetadata can answer (the
  // token must be verified, which may fetch keys).
  std::optional<absl::StatusOr<std::optional<Caller>>> AuthenticateWithoutWaiting(
      const ClientMetadata& metadata, absl::string_view full_method) const;

  bool IsPublic(absl::string_view full_method) const;

 private:
  // `caller` unless its token is revoked.
  absl::StatusOr<std::optional<Caller>> NotRevoked(Caller caller) const;

  TokenVerifier* const verifier_;
  const absl::flat_hash_set<std::string> public_methods_;
  const RevocationCheck* const revocations_;
};

// Client side: sends `token` as `authorization: Bearer <token>` on the call.
void AttachBearerToken(grpc::ClientContext* ctx, absl::string_view token);

}  // namespace marketplace::common::auth

#endif  // MARKETPLACE_COMMON_AUTH_GRPC_AUTH_H_
