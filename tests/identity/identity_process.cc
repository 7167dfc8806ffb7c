#include "tests/identity/identity_process.h"

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/status_mapping.h"
#include "common/testing/mariadb_server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "common/tls/test_tls.h"

namespace marketplace::testing {
namespace {

std::string TempDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

absl::Status WriteSecretFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

bool Serving(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  return grpc::health::v1::Health::NewStub(channel)->Check(&ctx, req, &resp).ok() &&
         resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

}  // namespace

std::string IdentityProcess::Binary() { return RunfilePath("services/identity/identity_server"); }

absl::StatusOr<std::vector<std::string>> IdentityProcess::NewDatabaseArgs() {
  auto db = common::testing::MariaDbServer::Shared();
  if (!db.ok()) return db.status();
  if (!(*db)->running()) {
    if (absl::Status s = (*db)->Start(); !s.ok()) return s;
  }
  auto database = common::testing::CreateTestDatabase("identity");
  if (!database.ok()) return database.status();
  return std::vector<std::string>{
      "--db_host=127.0.0.1",
      absl::StrCat("--db_port=", (*db)->port()),
      absl::StrCat("--db_name=", database->name),
      absl::StrCat("--db_user=", database->options.user),
      absl::StrCat("--db_password=", database->options.password),
  };
}

absl::StatusOr<std::unique_ptr<IdentityProcess>> IdentityProcess::Start(
    std::vector<std::string> extra_args, std::vector<std::string> db_args) {
  if (db_args.empty()) {
    auto fresh = NewDatabaseArgs();
    if (!fresh.ok()) return fresh.status();
    db_args = *std::move(fresh);
  }
  static std::atomic<int> counter{0};
  const std::string dir = absl::StrCat(TempDir(), "/identity_", getpid(), "_", counter++);
  if (std::system(absl::StrCat("mkdir -p ", dir).c_str()) != 0) {
    return absl::InternalError("cannot create " + dir);
  }
  auto process = std::unique_ptr<IdentityProcess>(new IdentityProcess());
  process->db_args_ = db_args;
  process->admin_email_ = "root.admin@marketplace.test";
  process->admin_password_ = "bootstrap admin passphrase " + std::to_string(getpid());
  const std::string kek_file = dir + "/kek";
  const std::string admin_file = dir + "/admin_password";
  // A fixed test KEK: 32 bytes as hex.
  if (absl::Status s = WriteSecretFile(kek_file, std::string(64, 'a')); !s.ok()) return s;
  if (absl::Status s = WriteSecretFile(admin_file, process->admin_password_); !s.ok()) return s;

  const int grpc_port = PickFreePort();
  process->metrics_port_ = PickFreePort();
  process->target_ = absl::StrCat("127.0.0.1:", grpc_port);
  std::vector<std::string> args = {
      absl::StrCat("--listen_address=", process->target_),
      absl::StrCat("--metrics_address=127.0.0.1:", process->metrics_port_),
      "--db_pool_size=6",
      "--signing_key_encryption_key_file=" + kek_file,
      "--bootstrap_admin_email=" + process->admin_email_,
      "--bootstrap_admin_password_file=" + admin_file,
      "--drain_timeout=2s",
  };
  for (std::string& flag : TestTlsFlags()) args.push_back(std::move(flag));
  args.insert(args.end(), db_args.begin(), db_args.end());
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  auto sub = Subprocess::Start(Binary(), args);
  if (!sub.ok()) return sub.status();
  process->process_.emplace(*std::move(sub));
  process->channel_ = grpc::CreateChannel(process->target_, TestChannelCredentials());
  process->stub_ = identity_v1::Identity::NewStub(process->channel_);
  const absl::Time end = absl::Now() + absl::Seconds(60);
  while (!Serving(process->channel_)) {
    if (process->process_->WaitFor(absl::Milliseconds(100)).has_value()) {
      return absl::InternalError("identity_server exited:\n" + process->process_->Output());
    }
    if (absl::Now() > end) {
      return absl::DeadlineExceededError("identity_server not SERVING:\n" +
                                         process->process_->Output());
    }
  }
  return process;
}

std::string ReasonOf(const grpc::Status& status) {
  return common::ReasonOf(common::FromGrpcStatus(status));
}

std::vector<std::string> BadFieldsOf(const grpc::Status& status) {
  std::vector<std::string> out;
  for (const auto& v : common::FieldViolationsOf(common::FromGrpcStatus(status))) {
    out.push_back(v.field);
  }
  return out;
}

std::string UniqueEmail(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return absl::StrCat(prefix, ".", getpid(), ".", counter++, ".", absl::ToUnixMicros(absl::Now()),
                      "@example.com");
}

absl::StatusOr<identity_v1::LoginResponse> Login(identity_v1::Identity::Stub* stub,
                                                 const std::string& email,
                                                 const std::string& password) {
  identity_v1::LoginRequest request;
  request.set_email(email);
  request.set_password(password);
  identity_v1::LoginResponse response;
  grpc::Status status = CallIdentity(stub, &identity_v1::Identity::Stub::Login, request, &response);
  if (!status.ok()) return common::FromGrpcStatus(status);
  return response;
}

absl::StatusOr<identity_v1::LoginResponse> SignUpAndLogin(identity_v1::Identity::Stub* stub,
                                                          identity_v1::Role role,
                                                          const std::string& email) {
  identity_v1::SignUpRequest request;
  request.set_email(email);
  request.set_password(kGoodPassword);
  request.set_display_name("Test " + email.substr(0, 20));
  request.set_role(role);
  identity_v1::Account account;
  grpc::Status status = CallIdentity(stub, &identity_v1::Identity::Stub::SignUp, request, &account);
  if (!status.ok()) return common::FromGrpcStatus(status);
  return Login(stub, email, kGoodPassword);
}

}  // namespace marketplace::testing
