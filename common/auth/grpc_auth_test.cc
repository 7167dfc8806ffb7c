#include "common/auth/grpc_auth.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/auth/fake_key_fetcher.h"
#include "common/auth/jwt.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/errors.h"
#include "gmock/gmock.h"
#include "grpcpp/test/client_context_test_peer.h"
#include "grpcpp/test/server_context_test_spouse.h"
#include "gtest/gtest.h"

namespace marketplace::common::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kIssuer[] = "https://identity.marketplace.test";
constexpr char kAudience[] = "tickets";
constexpr char kPublicMethod[] = "/marketplace.catalog.v1.CatalogService/ListListings";
constexpr char kPrivateMethod[] = "/marketplace.tickets.v1.TicketService/OpenTicket";

// Client metadata as gRPC hands it to a server: string_refs into storage owned elsewhere.
class Metadata {
 public:
  Metadata& Add(std::string key, std::string value) {
    storage_.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  ClientMetadata View() const {
    ClientMetadata view;
    for (const auto& [key, value] : storage_) {
      view.emplace(grpc::string_ref(key.data(), key.size()),
                   grpc::string_ref(value.data(), value.size()));
    }
    return view;
  }

 private:
  std::vector<std::pair<std::string, std::string>> storage_;
};

absl::StatusOr<std::optional<std::string>> TokenOf(const Metadata& metadata) {
  return BearerTokenFromMetadata(metadata.View());
}

TEST(BearerTokenFromMetadataTest, NoAuthorizationHeaderIsNoToken) {
  absl::StatusOr<std::optional<std::string>> token =
      TokenOf(Metadata().Add("x-request-id", "r-1").Add("user-agent", "grpc-c++"));
  ASSERT_TRUE(token.ok());
  EXPECT_FALSE(token->has_value());
}

TEST(BearerTokenFromMetadataTest, ReadsBearerTokenWithAnySchemeCase) {
  for (const char* value : {"Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER  abc.def.ghi",
                            " Bearer abc.def.ghi "}) {
    absl::StatusOr<std::optional<std::string>> token =
        TokenOf(Metadata().Add("authorization", value));
    ASSERT_TRUE(token.ok()) << value;
    EXPECT_EQ(token->value_or(""), "abc.def.ghi") << value;
  }
}

TEST(BearerTokenFromMetadataTest, RejectsAnythingElse) {
  const std::pair<const char*, const char*> cases[] = {
      {"Basic dXNlcjpwYXNz", "not a bearer token"},
      {"abc.def.ghi", "not a bearer token"},
      {"Bearer", "not a bearer token"},
      {"Bearer ", "not a bearer token"},
      {"Bearerabc.def.ghi", "not a bearer token"},
      {"Bearer abc def", "malformed bearer token"},
      {"Bearer abc\tdef", "malformed bearer token"},
      {"", "not a bearer token"},
  };
  for (const auto& [value, why] : cases) {
    absl::StatusOr<std::optional<std::string>> token =
        TokenOf(Metadata().Add("authorization", value));
    ASSERT_FALSE(token.ok()) << value;
    EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated) << value;
    EXPECT_THAT(token.status().message(), HasSubstr(why)) << value;
  }
}

TEST(BearerTokenFromMetadataTest, RejectsTwoAuthorizationHeaders) {
  absl::StatusOr<std::optional<std::string>> token =
      TokenOf(Metadata().Add("authorization", "Bearer a.b.c").Add("authorization", "Bearer a.b.c"));
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(token.status().message(), HasSubstr("more than one authorization header"));
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest()
      : key_(*GenerateEd25519KeyPair()),
        fetcher_({PublicKey{"key-1", "EdDSA", key_.public_key}}),
        verifier_(&fetcher_, Options(), &clock_),
        authenticator_(&verifier_, {kPublicMethod}) {}

  static VerifierOptions Options() {
    VerifierOptions options;
    options.issuer = kIssuer;
    options.audience = kAudience;
    return options;
  }

  std::string Token(absl::string_view audience = kAudience) const {
    JwtHeader header;
    header.kid = "key-1";
    JwtClaims claims;
    claims.issuer = kIssuer;
    claims.subject = "buyer-7";
    claims.audiences = {std::string(audience)};
    claims.issued_at = clock_.Now();
    claims.expires_at = clock_.Now() + absl::Minutes(10);
    claims.token_id = "tok-7";
    claims.roles = {"buyer"};
    return *SignJwt(header, claims, key_.private_key);
  }

  static Metadata WithToken(absl::string_view token) {
    return Metadata().Add("authorization", absl::StrCat("Bearer ", token));
  }

  ManualClock clock_;
  Ed25519KeyPair key_;
  FakeKeyFetcher fetcher_;
  TokenVerifier verifier_;
  Authenticator authenticator_;
};

TEST_F(AuthenticatorTest, PublicMethodWithoutTokenIsAnonymous) {
  absl::StatusOr<std::optional<Caller>> caller =
      authenticator_.AuthenticateMetadata(Metadata().View(), kPublicMethod);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_FALSE(caller->has_value());
}

TEST_F(AuthenticatorTest, PublicMethodWithGoodTokenKnowsTheCaller) {
  absl::StatusOr<std::optional<Caller>> caller =
      authenticator_.AuthenticateMetadata(WithToken(Token()).View(), kPublicMethod);
  ASSERT_TRUE(caller.ok()) << caller.status();
  ASSERT_TRUE(caller->has_value());
  EXPECT_EQ((*caller)->subject, "buyer-7");
}

TEST_F(AuthenticatorTest, PublicMethodWithBadTokenIsRejected) {
  absl::StatusOr<std::optional<Caller>> caller =
      authenticator_.AuthenticateMetadata(WithToken(Token("catalog")).View(), kPublicMethod);
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(caller.status().message(), HasSubstr("token is not for this service"));
}

TEST_F(AuthenticatorTest, PrivateMethodWithoutTokenIsRejected) {
  absl::StatusOr<std::optional<Caller>> caller =
      authenticator_.AuthenticateMetadata(Metadata().View(), kPrivateMethod);
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(caller.status().message(), HasSubstr("missing bearer token"));
}

TEST_F(AuthenticatorTest, UnlistedMethodIsDeniedByDefault) {
  // Near-misses of a public name are not public.
  for (const char* method : {"/marketplace.catalog.v1.CatalogService/ListListingsAdmin",
                             "/marketplace.catalog.v1.CatalogService/listlistings",
                             "marketplace.catalog.v1.CatalogService/ListListings", ""}) {
    EXPECT_FALSE(authenticator_.IsPublic(method)) << method;
    EXPECT_EQ(authenticator_.AuthenticateMetadata(Metadata().View(), method).status().code(),
              absl::StatusCode::kUnauthenticated)
        << method;
  }
}

TEST_F(AuthenticatorTest, PrivateMethodWithGoodTokenKnowsTheCaller) {
  absl::StatusOr<std::optional<Caller>> caller =
      authenticator_.AuthenticateMetadata(WithToken(Token()).View(), kPrivateMethod);
  ASSERT_TRUE(caller.ok()) << caller.status();
  ASSERT_TRUE(caller->has_value());
  EXPECT_EQ((*caller)->subject, "buyer-7");
  EXPECT_TRUE((*caller)->HasRole("buyer"));
}

TEST_F(AuthenticatorTest, RevokedAccountsTokensIssuedBeforeNotBeforeAreRefused) {
  RevocationList revocations;
  Authenticator checked(&verifier_, {kPublicMethod}, &revocations);
  const std::string old_token = Token();
  ASSERT_TRUE(checked.AuthenticateMetadata(WithToken(old_token).View(), kPrivateMethod).ok());

  clock_.Advance(absl::Seconds(3));
  revocations.Revoke("buyer-7", clock_.Now() - absl::Seconds(1));
  revocations.Revoke("buyer-7", clock_.Now() - absl::Seconds(2));  // earlier: changes nothing
  revocations.Revoke("someone-else", clock_.Now() + absl::Hours(1));

  // Verified from the cache or not, the old token is refused, on public methods too.
  for (const char* method : {kPrivateMethod, kPublicMethod}) {
    absl::StatusOr<std::optional<Caller>> caller =
        checked.AuthenticateMetadata(WithToken(old_token).View(), method);
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated) << method;
    EXPECT_EQ(marketplace::common::ReasonOf(caller.status()), "TOKEN_REVOKED") << method;
  }
  // A token issued at or after not_before is accepted.
  absl::StatusOr<std::optional<Caller>> fresh =
      checked.AuthenticateMetadata(WithToken(Token()).View(), kPrivateMethod);
  ASSERT_TRUE(fresh.ok()) << fresh.status();

  revocations.ForgetBefore(clock_.Now());
  EXPECT_EQ(revocations.size(), 1u);
  EXPECT_TRUE(checked.AuthenticateMetadata(WithToken(old_token).View(), kPrivateMethod).ok());
}

// What AuthenticateWithoutWaiting answers is what AuthenticateMetadata answers; a token still
// to be verified is left to AuthenticateMetadata, never answered on the spot.
TEST_F(AuthenticatorTest, WithoutWaitingAnswersOnlyWhatNeedsNoVerification) {
  RevocationList revocations;
  Authenticator checked(&verifier_, {kPublicMethod}, &revocations);
  using Answer = std::optional<absl::StatusOr<std::optional<Caller>>>;

  Answer anonymous = checked.AuthenticateWithoutWaiting(Metadata().View(), kPublicMethod);
  ASSERT_TRUE(anonymous.has_value());
  ASSERT_TRUE(anonymous->ok());
  EXPECT_FALSE(anonymous->value().has_value());
  Answer missing = checked.AuthenticateWithoutWaiting(Metadata().View(), kPrivateMethod);
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status().code(), absl::StatusCode::kUnauthenticated);
  Answer two_headers = checked.AuthenticateWithoutWaiting(
      WithToken("a").Add("authorization", "Bearer b").View(), kPublicMethod);
  ASSERT_TRUE(two_headers.has_value());
  EXPECT_EQ(two_headers->status().code(), absl::StatusCode::kUnauthenticated);

  // Not yet verified (a good token or garbage alike): left to the full path.
  const std::string token = Token();
  EXPECT_FALSE(checked.AuthenticateWithoutWaiting(WithToken(token).View(), kPrivateMethod));
  EXPECT_FALSE(checked.AuthenticateWithoutWaiting(WithToken("garbage").View(), kPrivateMethod));
  EXPECT_EQ(verifier_.signature_checks(), 0);

  ASSERT_TRUE(checked.AuthenticateMetadata(WithToken(token).View(), kPrivateMethod).ok());
  Answer cached = checked.AuthenticateWithoutWaiting(WithToken(token).View(), kPrivateMethod);
  ASSERT_TRUE(cached.has_value());
  ASSERT_TRUE(cached->ok()) << cached->status();
  ASSERT_TRUE(cached->value().has_value());
  EXPECT_EQ(cached->value()->subject, "buyer-7");
  EXPECT_EQ(verifier_.signature_checks(), 1);

  // A revocation counts at once, cached token or not.
  clock_.Advance(absl::Seconds(2));
  revocations.Revoke("buyer-7", clock_.Now());
  Answer revoked = checked.AuthenticateWithoutWaiting(WithToken(token).View(), kPrivateMethod);
  ASSERT_TRUE(revoked.has_value());
  EXPECT_EQ(revoked->status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(marketplace::common::ReasonOf(revoked->status()), "TOKEN_REVOKED");
}

TEST_F(AuthenticatorTest, PrivateMethodWithGarbageTokenIsRejected) {
  absl::StatusOr<std::optional<Caller>> caller =
      authenticator_.AuthenticateMetadata(WithToken("garbage").View(), kPrivateMethod);
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, ReadsTheServerContextsMetadata) {
  grpc::ServerContext anonymous;
  EXPECT_EQ(authenticator_.Authenticate(anonymous, kPrivateMethod).status().code(),
            absl::StatusCode::kUnauthenticated);

  grpc::ServerContext ctx;
  grpc::testing::ServerContextTestSpouse spouse(&ctx);
  spouse.AddClientMetadata("authorization", absl::StrCat("Bearer ", Token()));
  absl::StatusOr<std::optional<Caller>> caller = authenticator_.Authenticate(ctx, kPrivateMethod);
  ASSERT_TRUE(caller.ok()) << caller.status();
  ASSERT_TRUE(caller->has_value());
  EXPECT_EQ((*caller)->subject, "buyer-7");
}

TEST_F(AuthenticatorTest, AttachedTokenIsWhatTheServerReads) {
  std::string token = Token();
  grpc::ClientContext client;
  AttachBearerToken(&client, token);
  grpc::testing::ClientContextTestPeer peer(&client);
  std::multimap<std::string, std::string> sent = peer.GetSendInitialMetadata();
  EXPECT_THAT(sent, UnorderedElementsAre(Pair("authorization", absl::StrCat("Bearer ", token))));

  Metadata received;
  for (const auto& [key, value] : sent) received.Add(key, value);
  absl::StatusOr<std::optional<Caller>> caller =
      authenticator_.AuthenticateMetadata(received.View(), kPrivateMethod);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ((*caller)->token_id, "tok-7");
}

}  // namespace
}  // namespace marketplace::common::auth
