// Closed-loop load on a running identity_server; prints rows of the benchmark table (see
// bench/identity_bench.sh). Accounts are made by signing up; nothing is assumed to exist.
//   GetAccount       accounts/me with a valid access token (verified, revocation-checked)
//   GetSigningKeys   public, no token
//   Login            Argon2id verification of the password on every call
//   Login+GetAccount both at once: Login throughput while GetAccount keeps its latency
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/loadgen.h"
#include "common/config.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"

namespace {

namespace v1 = ::marketplace::identity::v1;
namespace bench = ::marketplace::bench;

constexpr char kPassword[] = "benchmark passphrase of a buyer";

struct Options {
  std::string target = "127.0.0.1:7001";
  std::string mode = "GetAccount";
  int64_t concurrency = 32;
  int64_t login_concurrency = 4;
  int64_t accounts = 8;
  int64_t server_pid = 0;
  double reference_qps = 0;
  std::string reference_qps_text;
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(2);
  bool header = false;
};

struct BenchAccount {
  std::string email;
  std::string token;
};

// Signs up `n` buyers (unique per run) and logs each in once.
std::vector<BenchAccount> MakeAccounts(v1::Identity::Stub* stub, int n) {
  std::vector<BenchAccount> out;
  const std::string run = std::to_string(absl::ToUnixMicros(absl::Now()));
  for (int i = 0; i < n; ++i) {
    BenchAccount a;
    a.email = absl::StrCat("bench.", run, ".", i, "@example.com");
    v1::SignUpRequest signup;
    signup.set_email(a.email);
    signup.set_password(kPassword);
    signup.set_display_name("Bench buyer");
    signup.set_role(v1::BUYER);
    v1::Account account;
    grpc::ClientContext c1;
    grpc::Status s = stub->SignUp(&c1, signup, &account);
    if (!s.ok()) {
      std::fprintf(stderr, "SignUp: %s\n", s.error_message().c_str());
      std::exit(1);
    }
    v1::LoginRequest login;
    login.set_email(a.email);
    login.set_password(kPassword);
    v1::LoginResponse resp;
    grpc::ClientContext c2;
    s = stub->Login(&c2, login, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "Login: %s\n", s.error_message().c_str());
      std::exit(1);
    }
    a.token = resp.tokens().access_token();
    out.push_back(a);
  }
  return out;
}

template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
};

bench::IssueFn GetAccountLoad(v1::Identity::Stub* stub, const std::vector<BenchAccount>& accounts) {
  return [stub, &accounts](int slot, std::function<void(bool)> done) {
    auto call = std::make_shared<Call<v1::GetAccountRequest, v1::Account>>();
    call->context.AddMetadata("authorization", "Bearer " + accounts[slot % accounts.size()].token);
    call->request.set_name("accounts/me");
    stub->async()->GetAccount(&call->context, &call->request, &call->response,
                              [call, done](grpc::Status s) mutable { bench::Report(call, done, s.ok()); });
  };
}

bench::IssueFn SigningKeysLoad(v1::Identity::Stub* stub) {
  return [stub](int, std::function<void(bool)> done) {
    auto call = std::make_shared<Call<v1::GetSigningKeysRequest, v1::GetSigningKeysResponse>>();
    stub->async()->GetSigningKeys(&call->context, &call->request, &call->response,
                                  [call, done](grpc::Status s) mutable { bench::Report(call, done, s.ok()); });
  };
}

bench::IssueFn LoginLoad(v1::Identity::Stub* stub, const std::vector<BenchAccount>& accounts) {
  return [stub, &accounts](int slot, std::function<void(bool)> done) {
    auto call = std::make_shared<Call<v1::LoginRequest, v1::LoginResponse>>();
    call->request.set_email(accounts[slot % accounts.size()].email);
    call->request.set_password(kPassword);
    stub->async()->Login(&call->context, &call->request, &call->response,
                         [call, done](grpc::Status s) mutable { bench::Report(call, done, s.ok()); });
  };
}

}  // namespace

int Main(int argc, char** argv) {
  Options o;
  marketplace::common::Flags flags("identity_load", "Load on a running identity_server.");
  flags.AddString("target", &o.target, o.target, "identity_server host:port.");
  flags.AddEnum("mode", &o.mode, o.mode,
                {"GetAccount", "GetSigningKeys", "Login", "Login+GetAccount"}, "What to load.");
  flags.AddInt64("concurrency", &o.concurrency, o.concurrency, 1, 10000,
                 "Calls in flight (GetAccount / GetSigningKeys).");
  flags.AddInt64("login_concurrency", &o.login_concurrency, o.login_concurrency, 1, 1000,
                 "Login calls in flight.");
  flags.AddInt64("accounts", &o.accounts, o.accounts, 1, 10000, "Buyers made for the run.");
  flags.AddInt64("server_pid", &o.server_pid, 0, 0, 1 << 30, "Server process, for CPU and RSS.");
  flags.AddString("reference_qps", &o.reference_qps_text, "0",
                  "Raw echo QPS of the same run (ratio column).");
  flags.AddDuration("duration", &o.duration, o.duration, "Measured time.");
  flags.AddDuration("warmup", &o.warmup, o.warmup, "Unmeasured time first.");
  flags.AddBool("header", &o.header, false, "Print the table header first.");
  flags.ParseOrExit(argc, argv);
  o.reference_qps = std::atof(o.reference_qps_text.c_str());

  auto stub =
      v1::Identity::NewStub(grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials()));
  const std::vector<BenchAccount> accounts = MakeAccounts(stub.get(), static_cast<int>(o.accounts));
  const pid_t pid = static_cast<pid_t>(o.server_pid);
  if (o.header) std::printf("%s\n", bench::HeaderRow().c_str());

  auto run = [&](const std::string& name, int concurrency, const bench::IssueFn& issue) {
    auto before = bench::ReadProcessStats(pid);
    auto result = bench::RunClosedLoop({concurrency, o.warmup, o.duration}, issue);
    auto after = bench::ReadProcessStats(pid);
    double cpu = before.ok() && after.ok() ? after->cpu_seconds - before->cpu_seconds : 0;
    std::printf("%s\n", bench::FormatRow(name, result, o.reference_qps, cpu,
                                         after.ok() ? after->rss_bytes : 0)
                            .c_str());
    return result;
  };

  if (o.mode == "GetAccount") {
    return run("identity GetAccount", o.concurrency, GetAccountLoad(stub.get(), accounts)).calls > 0
               ? 0
               : 1;
  }
  if (o.mode == "GetSigningKeys") {
    return run("identity GetSigningKeys", o.concurrency, SigningKeysLoad(stub.get())).calls > 0 ? 0
                                                                                                : 1;
  }
  if (o.mode == "Login") {
    return run("identity Login", o.login_concurrency, LoginLoad(stub.get(), accounts)).calls > 0
               ? 0
               : 1;
  }
  // Both at once: one row each, measured over the same window (server CPU is shared).
  bench::LoadResult login_result, get_result;
  std::thread login_thread([&] {
    login_result =
        bench::RunClosedLoop({static_cast<int>(o.login_concurrency), o.warmup, o.duration},
                             LoginLoad(stub.get(), accounts));
  });
  get_result = bench::RunClosedLoop({static_cast<int>(o.concurrency), o.warmup, o.duration},
                                    GetAccountLoad(stub.get(), accounts));
  login_thread.join();
  std::printf(
      "%s\n",
      bench::FormatRow("identity Login (mixed)", login_result, o.reference_qps, 0, 0).c_str());
  std::printf(
      "%s\n",
      bench::FormatRow("identity GetAccount (mixed)", get_result, o.reference_qps, 0, 0).c_str());
  std::printf("GetAccount p99 under Login load: %.3f ms (target < 20 ms): %s\n",
              absl::ToDoubleMilliseconds(get_result.p99),
              get_result.p99 < absl::Milliseconds(20) ? "met" : "NOT met");
  return login_result.calls > 0 && get_result.calls > 0 ? 0 : 1;
}

int main(int argc, char** argv) { marketplace::bench::ExitLoadTool(Main(argc, argv)); }
