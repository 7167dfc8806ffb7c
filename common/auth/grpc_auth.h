#ifndef MARKETPLACE_COMMON_AUTH_GRPC_AUTH_H_
#define MARKETPLACE_COMMON_AUTH_GRPC_AUTH_H_

#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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

// The check every handler goes through before doing anything else. Deny by default: only the
// methods named public may be called without a token, and a token that is present is always
// verified, public method or not.
class Authenticator {
 public:
  // `verifier` must outlive the authenticator. `public_methods` holds full gRPC method names,
  // "/marketplace.catalog.v1.CatalogService/ListListings".
  Authenticator(TokenVerifier* verifier, std::set<std::string> public_methods);

  // The caller of a call; nullopt for an anonymous call to a public method.
  absl::StatusOr<std::optional<Caller>> Authenticate(const grpc::ServerContextBase& ctx,
                                                     absl::string_view full_method) const;
  // The same, on the call's metadata alone.
  absl::StatusOr<std::optional<Caller>> AuthenticateMetadata(const ClientMetadata& metadata,
                                                             absl::string_view full_method) const;

  bool IsPublic(absl::string_view full_method) const;

 private:
  TokenVerifier* const verifier_;
  const absl::flat_hash_set<std::string> public_methods_;
};

// Client side: sends `token` as `authorization: Bearer <token>` on the call.
void AttachBearerToken(grpc::ClientContext* ctx, absl::string_view token);

}  // namespace marketplace::common::auth

#endif  // MARKETPLACE_COMMON_AUTH_GRPC_AUTH_H_
