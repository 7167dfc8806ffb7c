#ifndef MARKETPLACE_TESTS_IDENTITY_IDENTITY_PROCESS_H_
#define MARKETPLACE_TESTS_IDENTITY_IDENTITY_PROCESS_H_

// The real identity_server binary on a fresh database of the test's MariaDB, with a bootstrap
// admin, for process-level tests; and small helpers to call it.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "tests/support/subprocess.h"

namespace marketplace::testing {

namespace identity_v1 = ::marketplace::identity::v1;

class IdentityProcess {
 public:
  // Starts identity_server (with `extra_args`) and waits until it is SERVING. With `db_args`
  // (another process's db_args()) it uses that database instead of a fresh one.
  static absl::StatusOr<std::unique_ptr<IdentityProcess>> Start(
      std::vector<std::string> extra_args = {}, std::vector<std::string> db_args = {});

  // The --db_* flags of a fresh test database.
  static absl::StatusOr<std::vector<std::string>> NewDatabaseArgs();

  // Path of the identity_server binary.
  static std::string Binary();

  const std::vector<std::string>& db_args() const { return db_args_; }

  const std::string& target() const { return target_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  identity_v1::Identity::Stub* stub() const { return stub_.get(); }
  Subprocess& process() { return *process_; }
  int metrics_port() const { return metrics_port_; }

  const std::string& admin_email() const { return admin_email_; }
  const std::string& admin_password() const { return admin_password_; }

 private:
  IdentityProcess() = default;

  std::string target_;
  int metrics_port_ = 0;
  std::optional<Subprocess> process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<identity_v1::Identity::Stub> stub_;
  std::string admin_email_;
  std::string admin_password_;
  std::vector<std::string> db_args_;
};

// Calls `method` on `stub` with `token` as bearer (none when empty) and a 20 s deadline.
template <typename Request, typename Response>
grpc::Status CallIdentity(identity_v1::Identity::Stub* stub,
                          grpc::Status (identity_v1::Identity::Stub::*method)(grpc::ClientContext*,
                                                                              const Request&,
                                                                              Response*),
                          const Request& request, Response* response,
                          const std::string& token = "") {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  return (stub->*method)(&context, request, response);
}

// google.rpc.ErrorInfo.reason of a failed call ("" when none).
std::string ReasonOf(const grpc::Status& status);
// The fields named by its google.rpc.BadRequest.
std::vector<std::string> BadFieldsOf(const grpc::Status& status);

// A fresh, unique email for a test account.
std::string UniqueEmail(const std::string& prefix);

// A password that meets the policy.
inline constexpr char kGoodPassword[] = "correct horse battery staple 42";

// Signs up (BUYER or SELLER) and logs in; returns the login response.
absl::StatusOr<identity_v1::LoginResponse> SignUpAndLogin(identity_v1::Identity::Stub* stub,
                                                          identity_v1::Role role,
                                                          const std::string& email);

absl::StatusOr<identity_v1::LoginResponse> Login(identity_v1::Identity::Stub* stub,
                                                 const std::string& email,
                                                 const std::string& password);

}  // namespace marketplace::testing

#endif  // MARKETPLACE_TESTS_IDENTITY_IDENTITY_PROCESS_H_
