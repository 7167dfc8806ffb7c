#include "common/auth/grpc_auth.h"

#include <iterator>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace marketplace::common::auth {
namespace {

constexpr absl::string_view kAuthorizationHeader = "authorization";
constexpr absl::string_view kBearerScheme = "Bearer";

absl::string_view View(grpc::string_ref ref) { return absl::string_view(ref.data(), ref.size()); }

bool HasWhitespace(absl::string_view s) {
  for (char c : s) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::optional<std::string>> BearerTokenFromMetadata(const ClientMetadata& metadata) {
  auto [first, last] = metadata.equal_range(
      grpc::string_ref(kAuthorizationHeader.data(), kAuthorizationHeader.size()));
  if (first == last) return std::nullopt;
  if (std::next(first) != last) return Unauthenticated("more than one authorization header");

  absl::string_view value = absl::StripAsciiWhitespace(View(first->second));
  size_t space = value.find(' ');
  if (space == absl::string_view::npos ||
      !absl::EqualsIgnoreCase(value.substr(0, space), kBearerScheme)) {
    return Unauthenticated("authorization is not a bearer token");
  }
  // RFC 6750: the scheme is followed by one or more spaces, then the token.
  absl::string_view token = absl::StripLeadingAsciiWhitespace(value.substr(space));
  if (token.empty()) return Unauthenticated("empty bearer token");
  if (HasWhitespace(token)) return Unauthenticated("malformed bearer token");
  return std::string(token);
}

void RevocationList::Revoke(absl::string_view account_id, absl::Time not_before) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = not_before_.try_emplace(account_id, not_before);
  if (!inserted && it->second < not_before) it->second = not_before;
}

void RevocationList::ForgetBefore(absl::Time cutoff) {
  absl::MutexLock lock(&mu_);
  absl::erase_if(not_before_, [cutoff](const auto& entry) { return entry.second < cutoff; });
}

size_t RevocationList::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return not_before_.size();
}

absl::Status RevocationList::CheckNotRevoked(const Caller& caller) const {
  absl::ReaderMutexLock lock(&mu_);  // every authenticated call: readers do not wait for each other
  auto it = not_before_.find(caller.subject);
  if (it == not_before_.end() || caller.issued_at >= it->second) return absl::OkStatus();
  return WithReason(Unauthenticated("token revoked: issued before the account's sessions ended"),
                    kTokenRevokedReason);
}

Authenticator::Authenticator(TokenVerifier* verifier, std::set<std::string> public_methods,
                             const RevocationCheck* revocations)
    : verifier_(verifier),
      public_methods_(public_methods.begin(), public_methods.end()),
      revocations_(revocations) {}

bool Authenticator::IsPublic(absl::string_view full_method) const {
  return public_methods_.contains(full_method);
}

absl::StatusOr<std::optional<Caller>> Authenticator::Authenticate(
    const grpc::ServerContextBase& ctx, absl::string_view full_method) const {
  return AuthenticateMetadata(ctx.client_metadata(), full_method);
}

absl::StatusOr<std::optional<Caller>> Authenticator::AuthenticateMetadata(
    const ClientMetadata& metadata, absl::string_view full_method) const {
  absl::StatusOr<std::optional<std::string>> token = BearerTokenFromMetadata(metadata);
  if (!token.ok()) return token.status();
  if (!token->has_value()) {
    if (IsPublic(full_method)) return std::nullopt;
    return Unauthenticated("missing bearer token");
  }
  absl::StatusOr<Caller> caller = verifier_->Verify(**token);
  if (!caller.ok()) return caller.status();
  return NotRevoked(*std::move(caller));
}

std::optional<absl::StatusOr<std::optional<Caller>>> Authenticator::AuthenticateWithoutWaiting(
    const ClientMetadata& metadata, absl::string_view full_method) const {
  absl::StatusOr<std::optional<std::string>> token = BearerTokenFromMetadata(metadata);
  if (!token.ok() || !token->has_value()) return AuthenticateMetadata(metadata, full_method);
  std::optional<Caller> caller = verifier_->CachedCaller(**token);
  if (!caller) return std::nullopt;
  return NotRevoked(*std::move(caller));
}

absl::StatusOr<std::optional<Caller>> Authenticator::NotRevoked(Caller caller) const {
  if (revocations_ != nullptr) {
    if (absl::Status s = revocations_->CheckNotRevoked(caller); !s.ok()) return s;
  }
  return std::optional<Caller>(std::move(caller));
}

void AttachBearerToken(grpc::ClientContext* ctx, absl::string_view token) {
  ctx->AddMetadata(std::string(kAuthorizationHeader), absl::StrCat(kBearerScheme, " ", token));
}

}  // namespace marketplace::common::auth
