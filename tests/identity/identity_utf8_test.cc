// Invalid UTF-8 in a string field, sent to the real identity_server: INVALID_ARGUMENT with a
// BadRequest naming the field (gRPC alone answers an empty UNIMPLEMENTED), nothing created.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "tests/identity/identity_process.h"

namespace marketplace::testing {
namespace {

namespace v1 = ::marketplace::identity::v1;
using Stub = v1::Identity::Stub;

const std::string kBadUtf8("ab\xc3(", 4);

TEST(IdentityUtf8Test, InvalidUtf8InAStringFieldIsInvalidArgumentNamingTheField) {
  auto identity = IdentityProcess::Start();
  ASSERT_TRUE(identity.ok()) << identity.status();
  Stub* stub = (*identity)->stub();

  const std::string email = UniqueEmail("utf8");
  v1::SignUpRequest sign_up;
  sign_up.set_email(email);
  sign_up.set_password(kGoodPassword);
  sign_up.set_display_name(kBadUtf8);
  sign_up.set_role(v1::BUYER);
  v1::Account account;
  grpc::Status status = CallIdentity(stub, &Stub::SignUp, sign_up, &account);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(status.error_message(), "display_name: must be valid UTF-8");
  EXPECT_EQ(BadFieldsOf(status), std::vector<std::string>{"display_name"});

  sign_up.set_email(email + kBadUtf8);
  status = CallIdentity(stub, &Stub::SignUp, sign_up, &account);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(BadFieldsOf(status), (std::vector<std::string>{"email", "display_name"}));

  v1::LoginRequest login;
  login.set_email(email);
  login.set_password(kBadUtf8);
  v1::LoginResponse tokens;
  status = CallIdentity(stub, &Stub::Login, login, &tokens);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(BadFieldsOf(status), std::vector<std::string>{"password"});

  // Nothing was created: the same email signs up now.
  sign_up.set_email(email);
  sign_up.set_display_name("Ünïcode");
  status = CallIdentity(stub, &Stub::SignUp, sign_up, &account);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace marketplace::testing
