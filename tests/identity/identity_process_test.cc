// The identity_server process: start-up checks, the bootstrap admin across restarts, metrics,
// and a clean stop on SIGTERM.
#include "tests/identity/identity_process.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/metrics_scrape.h"
#include "common/tls/test_tls.h"

namespace marketplace::testing {
namespace {

namespace v1 = ::marketplace::identity::v1;
using ::testing::HasSubstr;

std::string WriteFile(const std::string& name, const std::string& content) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::ofstream(path, std::ios::trunc) << content;
  return path;
}

struct Exit {
  std::optional<int> code;
  std::string output;
};

// Runs identity_server with `args` (after the test TLS flags when `tls`: a flag repeated in
// `args` wins) until it exits (at most 30 s).
Exit RunToExit(std::vector<std::string> args, bool tls = true) {
  if (tls) {
    std::vector<std::string> flags = TestTlsFlags();
    args.insert(args.begin(), flags.begin(), flags.end());
  }
  args.push_back(absl::StrCat("--listen_address=127.0.0.1:", PickFreePort()));
  args.push_back(absl::StrCat("--metrics_address=127.0.0.1:", PickFreePort()));
  auto process = Subprocess::Start(IdentityProcess::Binary(), args);
  if (!process.ok()) return {std::nullopt, std::string(process.status().message())};
  Exit exit;
  exit.code = process->WaitFor(absl::Seconds(30));
  exit.output = process->Output();
  if (!exit.code) process->Signal(SIGKILL);
  return exit;
}

TEST(IdentityProcessTest, RefusesToStartWithoutItsSecretsOrWithBadValues) {
  auto db = IdentityProcess::NewDatabaseArgs();
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string kek = WriteFile("kek_ok", std::string(64, 'c'));

  Exit no_kek = RunToExit(*db);
  EXPECT_EQ(no_kek.code, 2) << no_kek.output;
  EXPECT_THAT(no_kek.output, HasSubstr("signing_key_encryption_key"));

  std::vector<std::string> args = *db;
  args.push_back("--signing_key_encryption_key=not a key");
  Exit bad_kek = RunToExit(args);
  EXPECT_EQ(bad_kek.code, 2) << bad_kek.output;

  args = *db;
  args.push_back("--signing_key_encryption_key_file=" + kek);
  args.push_back("--bootstrap_admin_email=first.admin@example.com");
  Exit no_password = RunToExit(args);
  EXPECT_EQ(no_password.code, 2) << no_password.output;
  EXPECT_THAT(no_password.output, HasSubstr("bootstrap_admin_password"));

  args = *db;
  args.push_back("--signing_key_encryption_key_file=" + kek);
  args.push_back("--bootstrap_admin_email=first.admin@example.com");
  args.push_back("--bootstrap_admin_password_file=" + WriteFile("weak_pw", "password"));
  Exit weak = RunToExit(args);
  EXPECT_EQ(weak.code, 1) << weak.output;
  EXPECT_THAT(weak.output, HasSubstr("bootstrap admin"));
  EXPECT_THAT(weak.output, ::testing::Not(HasSubstr("\"password\"")));

  // One bad value next to a good key-encryption key: exit code 2 naming the flag.
  for (const std::string& bad :
       {"--argon2id_memory_kib=1024", "--token_audiences=catalog",
        "--min_key_rotation_interval=25h", "--caller_check_cache_ttl=11s"}) {
    args = *db;
    args.push_back("--signing_key_encryption_key_file=" + kek);
    args.push_back(bad);
    Exit refused = RunToExit(args);
    EXPECT_EQ(refused.code, 2) << bad << ": " << refused.output;
  }
  args = *db;
  args.push_back("--signing_key_encryption_key_file=" + kek);
  args.push_back("--min_key_rotation_interval=25h");
  EXPECT_THAT(RunToExit(args).output, HasSubstr("min_key_rotation_interval"));
}

TEST(IdentityProcessTest, RefusesASecondKeyRotationWithinTheMinimumInterval) {
  auto identity = IdentityProcess::Start();  // the default interval, 60 s
  ASSERT_TRUE(identity.ok()) << identity.status();
  v1::Identity::Stub* stub = (*identity)->stub();
  auto admin = Login(stub, (*identity)->admin_email(), (*identity)->admin_password());
  ASSERT_TRUE(admin.ok()) << admin.status();
  const std::string token = admin->tokens().access_token();

  v1::RotateSigningKeyRequest first_request;
  first_request.set_request_id("rotation-1");
  v1::RotateSigningKeyResponse first;
  ASSERT_TRUE(
      CallIdentity(stub, &v1::Identity::Stub::RotateSigningKey, first_request, &first, token).ok());

  v1::RotateSigningKeyRequest second_request;
  second_request.set_request_id("rotation-2");
  v1::RotateSigningKeyResponse second;
  grpc::Status too_soon =
      CallIdentity(stub, &v1::Identity::Stub::RotateSigningKey, second_request, &second, token);
  EXPECT_EQ(too_soon.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(too_soon), "ROTATION_TOO_SOON");

  // Nothing changed: the first rotation's keys are still the published ones.
  v1::GetSigningKeysResponse keys;
  ASSERT_TRUE(
      CallIdentity(stub, &v1::Identity::Stub::GetSigningKeys, v1::GetSigningKeysRequest(), &keys)
          .ok());
  ASSERT_GE(keys.keys_size(), 2);
  EXPECT_EQ(keys.keys(0).kid(), first.active_key().kid());
  EXPECT_EQ(keys.keys(1).kid(), first.next_key().kid());
  // A retry of the first request still gets its answer.
  v1::RotateSigningKeyResponse retry;
  ASSERT_TRUE(
      CallIdentity(stub, &v1::Identity::Stub::RotateSigningKey, first_request, &retry, token).ok());
  EXPECT_EQ(retry.active_key().kid(), first.active_key().kid());
}

TEST(IdentityProcessTest, ServesOnlyMutualTlsUnlessPlaintextIsAskedFor) {
  auto db = IdentityProcess::NewDatabaseArgs();
  ASSERT_TRUE(db.ok()) << db.status();
  std::vector<std::string> args = *db;
  args.push_back("--signing_key_encryption_key_file=" + WriteFile("kek_tls", std::string(64, 'd')));

  // Neither TLS nor --insecure: exit 2 before anything is served.
  Exit neither = RunToExit(args, /*tls=*/false);
  EXPECT_EQ(neither.code, 2) << neither.output;
  EXPECT_THAT(neither.output, HasSubstr("--tls_cert_file"));
  // Both.
  std::vector<std::string> both = args;
  both.push_back("--insecure");
  Exit conflict = RunToExit(both);
  EXPECT_EQ(conflict.code, 2) << conflict.output;
  EXPECT_THAT(conflict.output, HasSubstr("--insecure"));
  // A key that is not the certificate's.
  std::vector<std::string> wrong_key = args;
  wrong_key.push_back("--tls_key_file=" + TestTransportSecurity(TestPki::kOther).key_file);
  Exit mismatch = RunToExit(wrong_key);
  EXPECT_EQ(mismatch.code, 2) << mismatch.output;
  EXPECT_THAT(mismatch.output, HasSubstr("is not the key of"));

  // A running process (TLS flags from IdentityProcess) answers mutual TLS only.
  auto process = IdentityProcess::Start();
  ASSERT_TRUE(process.ok()) << process.status();
  v1::GetSigningKeysResponse keys;
  EXPECT_TRUE(CallIdentity((*process)->stub(), &v1::Identity::Stub::GetSigningKeys,
                           v1::GetSigningKeysRequest(), &keys)
                  .ok());
  auto plaintext = v1::Identity::NewStub(
      grpc::CreateChannel((*process)->target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::GetSigningKeysResponse none;
  EXPECT_EQ(plaintext->GetSigningKeys(&context, v1::GetSigningKeysRequest(), &none).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(IdentityProcessTest, KeepsItsKeysAndAdminAcrossRestartsAndRefusesAnotherKek) {
  auto first = IdentityProcess::Start();
  ASSERT_TRUE(first.ok()) << first.status();
  v1::GetSigningKeysResponse keys;
  ASSERT_TRUE(CallIdentity((*first)->stub(), &v1::Identity::Stub::GetSigningKeys,
                           v1::GetSigningKeysRequest(), &keys)
                  .ok());
  const std::vector<std::string> db = (*first)->db_args();
  const std::string admin_email = (*first)->admin_email();
  const std::string admin_password = (*first)->admin_password();
  (*first)->process().Signal(SIGTERM);
  EXPECT_EQ((*first)->process().WaitFor(absl::Seconds(20)), 0);

  // Another KEK cannot open the stored keys: refused, never replaced.
  std::vector<std::string> args = db;
  args.push_back("--signing_key_encryption_key_file=" +
                 WriteFile("kek_other", std::string(64, 'b')));
  Exit wrong = RunToExit(args);
  EXPECT_EQ(wrong.code, 1) << wrong.output;
  EXPECT_THAT(wrong.output, HasSubstr("cannot be decrypted with this key-encryption key"));

  // Same KEK, another bootstrap password: the keys are the same, the admin's password is not
  // reset.
  auto second = IdentityProcess::Start({}, db);
  ASSERT_TRUE(second.ok()) << second.status();
  v1::GetSigningKeysResponse again;
  ASSERT_TRUE(CallIdentity((*second)->stub(), &v1::Identity::Stub::GetSigningKeys,
                           v1::GetSigningKeysRequest(), &again)
                  .ok());
  ASSERT_GE(again.keys_size(), 1);
  EXPECT_EQ(again.keys(0).kid(), keys.keys(0).kid());
  if ((*second)->admin_password() != admin_password) {
    EXPECT_FALSE(Login((*second)->stub(), admin_email, (*second)->admin_password()).ok());
  }
  EXPECT_TRUE(Login((*second)->stub(), admin_email, admin_password).ok());
}

TEST(IdentityProcessTest, ExportsIdentityMetricsAndStopsCleanlyOnSigterm) {
  auto identity = IdentityProcess::Start({"--cleanup_interval=1s"});
  ASSERT_TRUE(identity.ok()) << identity.status();
  v1::Identity::Stub* stub = (*identity)->stub();
  auto login = SignUpAndLogin(stub, v1::BUYER, UniqueEmail("metrics"));
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_FALSE(Login(stub, login->account().email(), "wrong password!!").ok());
  v1::RefreshSessionRequest refresh;
  refresh.set_refresh_token(login->tokens().refresh_token());
  v1::RefreshSessionResponse out;
  ASSERT_TRUE(CallIdentity(stub, &v1::Identity::Stub::RefreshSession, refresh, &out).ok());
  // Presented again after the 2 s allowed to a concurrent refresh: a copy.
  absl::SleepFor(absl::Milliseconds(2200));
  EXPECT_FALSE(CallIdentity(stub, &v1::Identity::Stub::RefreshSession, refresh, &out).ok());
  auto active = Login(stub, login->account().email(), kGoodPassword);
  ASSERT_TRUE(active.ok());

  std::string metrics;
  const absl::Time end = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(200));
    metrics = marketplace::testing::ScrapeMetrics((*identity)->metrics_port());
  } while (marketplace::testing::MetricSample(metrics, "identity_active_sessions") < 1 && absl::Now() < end);
  EXPECT_GE(marketplace::testing::MetricSample(metrics, "identity_logins_total{result=\"success\"}"), 2) << metrics;
  EXPECT_GE(marketplace::testing::MetricSample(metrics, "identity_logins_total{result=\"invalid_credentials\"}"), 1);
  EXPECT_EQ(marketplace::testing::MetricSample(metrics, "identity_refresh_token_reuse_total"), 1);
  EXPECT_GE(marketplace::testing::MetricSample(metrics, "identity_lockouts_total"), 0);
  // The reused session was revoked; the last login's session is active.
  EXPECT_GE(marketplace::testing::MetricSample(metrics, "identity_active_sessions"), 1);
  EXPECT_THAT(metrics, HasSubstr("grpc_server_handled_total"));
  // Secrets never reach the log.
  EXPECT_THAT((*identity)->process().Output(),
              ::testing::Not(HasSubstr((*identity)->admin_password())));
  EXPECT_THAT((*identity)->process().Output(),
              ::testing::Not(HasSubstr(login->tokens().refresh_token())));

  (*identity)->process().Signal(SIGTERM);
  EXPECT_EQ((*identity)->process().WaitFor(absl::Seconds(20)), 0)
      << (*identity)->process().Output();
}

}  // namespace
}  // namespace marketplace::testing
