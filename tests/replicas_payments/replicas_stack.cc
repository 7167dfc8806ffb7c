#include "tests/replicas_payments/replicas_stack.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/auth/grpc_auth.h"
#include "common/tls/test_tls.h"
#include "common/tls/transport_security.h"
#include "google/protobuf/wrappers.pb.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/support_stack.h"

namespace marketplace::payments::replicas {
namespace {

namespace auth = common::auth;
namespace pv1 = payments::v1;
using marketplace::testing::PickFreePort;
using marketplace::testing::Subprocess;

bool Transient(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::ABORTED || code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

// `call` with a fresh context (10 s deadline, bearer `token`) until it answers something that
// is not transient, for at most 120 s.
template <typename Fn>
grpc::Status Retry(const std::string& token, Fn call) {
  const absl::Time end = absl::Now() + absl::Seconds(120);
  while (true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auth::AttachBearerToken(&ctx, token);
    grpc::Status s = call(&ctx);
    if (!Transient(s.error_code()) || absl::Now() > end) return s;
    absl::SleepFor(absl::Milliseconds(50));
  }
}

// What the payments test reads of an event: the payment of a held / released event, a probe's
// number within its key.
void AnnotatePaymentsEvent(const events::v1::Event& event, Delivery& d) {
  if (event.topic() == "payments.payment_held") {
    pv1::PaymentHeld held;
    if (event.payload().UnpackTo(&held)) d.subject = held.payment_id();
  } else if (event.topic() == "payments.payment_released") {
    pv1::PaymentReleased released;
    if (event.payload().UnpackTo(&released)) d.subject = released.payment_id();
  } else if (event.topic() == kProbeTopic) {
    google::protobuf::Int64Value sequence;
    if (event.payload().UnpackTo(&sequence)) d.sequence = sequence.value();
  }
}

}  // namespace

double SumSamples(const std::string& metrics, const std::string& name, const std::string& label) {
  double sum = 0;
  const std::string prefix = absl::StrCat(name, "{");
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::StartsWith(line, prefix)) continue;
    const size_t close = line.rfind('}');
    if (close == absl::string_view::npos) continue;
    if (!label.empty() && !absl::StrContains(line.substr(0, close), label)) continue;
    double value = 0;
    if (absl::SimpleAtod(absl::StripAsciiWhitespace(line.substr(close + 1)), &value)) sum += value;
  }
  return sum;
}

ReplicaStack::~ReplicaStack() {
  for (Process& p : processes_) {
    if (p.process) {
      p.process->Signal(SIGKILL);
      p.process->WaitFor(absl::Seconds(10));
    }
  }
  if (sink_server_) sink_server_->Shutdown();
  if (identity_server_) identity_server_->Shutdown();
}

std::shared_ptr<grpc::ServerCredentials> ReplicaStack::ServerCredentials() const {
  if (!options_.tls) return grpc::InsecureServerCredentials();
  return common::ServerCredentials(marketplace::testing::TestTransportSecurity());
}

std::shared_ptr<grpc::ChannelCredentials> ReplicaStack::ChannelCredentials() const {
  if (!options_.tls) return grpc::InsecureChannelCredentials();
  return marketplace::testing::TestChannelCredentials();
}

absl::Status ReplicaStack::Init() {
  if (options_.db.database.empty()) return absl::InvalidArgumentError("db.database: required");
  absl::StatusOr<auth::Ed25519KeyPair> keys = auth::GenerateEd25519KeyPair();
  if (!keys.ok()) return keys.status();
  keys_ = *std::move(keys);
  identity_ = std::make_unique<support::testing::FakeIdentity>(keys_);
  {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", ServerCredentials(), &identity_port_);
    builder.RegisterService(identity_.get());
    identity_server_ = builder.BuildAndStart();
    if (identity_server_ == nullptr) return absl::InternalError("identity stand-in did not start");
  }
  sink_ = std::make_unique<RecordingSink>(keys_.public_key, AnnotatePaymentsEvent);
  {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", ServerCredentials(), &sink_port_);
    builder.RegisterService(sink_.get());
    sink_server_ = builder.BuildAndStart();
    if (sink_server_ == nullptr) return absl::InternalError("event sink did not start");
  }
  common::db::DbOptions db = options_.db;
  db.pool_size = 4;
  absl::StatusOr<std::unique_ptr<common::db::ConnectionPool>> pool =
      common::db::ConnectionPool::Create(db);
  if (!pool.ok()) return pool.status();
  pool_ = *std::move(pool);
  return absl::OkStatus();
}

absl::StatusOr<int> ReplicaStack::Start(bool relay, const std::vector<std::string>& flags) {
  Process p;
  p.port = PickFreePort();
  p.metrics_port = PickFreePort();
  const common::db::DbOptions& db = options_.db;
  std::vector<std::string> args = {
      absl::StrCat("--listen_address=127.0.0.1:", p.port),
      absl::StrCat("--metrics_address=127.0.0.1:", p.metrics_port),
      absl::StrCat("--db_host=", db.host),
      absl::StrCat("--db_port=", db.port),
      absl::StrCat("--db_name=", db.database),
      absl::StrCat("--db_user=", db.user),
      absl::StrCat("--db_password=", db.password),
      "--db_pool_size=8",
      absl::StrCat("--identity_address=127.0.0.1:", identity_port_),
      "--token_issuer=identity",
      "--service_client_id=payments",
      "--service_client_secret=payments-secret",
      relay ? absl::StrCat("--event_subscribers=", kSinkSubscriber, "=127.0.0.1:", sink_port_,
                           ":payments.")
            : "--event_subscribers=",
      "--log_level=warn",
  };
  if (options_.tls) {
    for (std::string& flag : marketplace::testing::TestTlsFlags()) args.push_back(std::move(flag));
  } else {
    args.push_back("--insecure");
  }
  args.insert(args.end(), options_.extra_flags.begin(), options_.extra_flags.end());
  args.insert(args.end(), flags.begin(), flags.end());
  std::string binary = options_.server_binary;
  if (!options_.server_cpus.empty()) {
    args.insert(args.begin(), {"-c", options_.server_cpus, binary});
    binary = "/usr/bin/taskset";
  }
  absl::StatusOr<Subprocess> process = Subprocess::Start(binary, args);
  if (!process.ok()) return process.status();
  p.process.emplace(*std::move(process));
  p.stub = pv1::Payments::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", p.port), ChannelCredentials()));
  processes_.push_back(std::move(p));
  return static_cast<int>(processes_.size()) - 1;
}

absl::StatusOr<int> ReplicaStack::StartLoader() {
  return Start(/*relay=*/false, {"--release_interval=1000h", "--default_hold_period=1s",
                                 "--completion_interval=1000h"});
}

absl::StatusOr<int> ReplicaStack::StartReplica(bool relay, const std::vector<std::string>& extra) {
  std::vector<std::string> flags = {"--release_interval=1s", "--release_batch=20",
                                    "--completion_interval=1s",
                                    "--processor_retry_initial_backoff=1s",
                                    "--default_hold_period=1s"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return Start(relay, flags);
}

absl::Status ReplicaStack::WaitServing(int index, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  Process& p = processes_[index];
  while (absl::Now() < end) {
    // An unauthenticated call: UNAUTHENTICATED means the server is up and answering.
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    pv1::GetPaymentRequest req;
    req.set_payment_id("pay_000000000000000000000000");
    pv1::Payment resp;
    grpc::Status s = p.stub->GetPayment(&ctx, req, &resp);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE &&
        s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return absl::OkStatus();
    }
    if (p.process->WaitFor(absl::ZeroDuration()).has_value()) {
      return absl::InternalError(
          absl::StrCat("payments_server ", index, " exited: ", p.process->Output()));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("payments_server ", index, " not serving: ", p.process->Output()));
}

void ReplicaStack::Stop(int index) {
  Process& p = processes_[index];
  if (!p.process) return;
  p.process->Signal(SIGTERM);
  if (!p.process->WaitFor(absl::Seconds(20)).has_value()) {
    p.process->Signal(SIGKILL);
    p.process->WaitFor(absl::Seconds(10));
  }
  p.process.reset();
}

void ReplicaStack::StopAll() {
  for (size_t i = 0; i < processes_.size(); ++i) Stop(static_cast<int>(i));
}

std::string ReplicaStack::Output(int index) const {
  const Process& p = processes_[index];
  return p.process ? p.process->Output() : "";
}

absl::StatusOr<std::vector<std::string>> ReplicaStack::CreatePayments(int index, int count,
                                                                      int sellers, int threads,
                                                                      const std::string& tag) {
  const std::string token = support::testing::Sign(keys_, "5e7c0000000000000000000000000009",
                                                   {"SERVICE"}, {"payments.checkout"});
  pv1::Payments::Stub& stub = *processes_[index].stub;
  std::vector<std::string> ids(count);
  std::vector<grpc::Status> results(count);
  std::atomic<int> next{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        pv1::CreatePaymentRequest req;
        req.set_request_id(absl::StrCat(tag, "-create-", i));
        req.set_order_id(absl::StrCat(tag, "-order-", i));
        req.set_buyer_id(absl::StrFormat("b0b0%028x", i));
        req.set_seller_id(absl::StrFormat("5e11e7%026x", i % sellers));
        req.mutable_amount()->set_currency_code("EUR");
        req.mutable_amount()->set_amount_minor(1000 + i);
        req.set_payment_method_token("tok_sandbox_success");
        pv1::Payment payment;
        results[i] = Retry(token, [&](grpc::ClientContext* ctx) {
          return stub.CreatePayment(ctx, req, &payment);
        });
        if (results[i].ok()) ids[i] = payment.payment_id();
      }
    });
  }
  for (std::thread& c : clients) c.join();
  for (int i = 0; i < count; ++i) {
    if (!results[i].ok()) {
      return absl::InternalError(absl::StrCat("CreatePayment ", i, ": ", results[i].error_code(),
                                              " ", results[i].error_message()));
    }
  }
  return ids;
}

absl::StatusOr<std::vector<std::string>> ReplicaStack::EnqueueProbeEvents(int count, int keys,
                                                                          const std::string& tag) {
  return marketplace::testing::EnqueueProbeEvents(*pool_, "payments", kProbeTopic, count, keys,
                                                  tag);
}

absl::StatusOr<pv1::VerifyLedgerResponse> ReplicaStack::VerifyLedger(int index) {
  const std::string admin =
      support::testing::Sign(keys_, "ad000000000000000000000000000001", {"ADMIN"}, {});
  pv1::VerifyLedgerRequest req;
  pv1::VerifyLedgerResponse resp;
  grpc::Status s = Retry(admin, [&](grpc::ClientContext* ctx) {
    return processes_[index].stub->VerifyLedger(ctx, req, &resp);
  });
  if (!s.ok()) return absl::InternalError(absl::StrCat("VerifyLedger: ", s.error_message()));
  return resp;
}

std::string ReplicaStack::ScrapeMetrics(int index) const {
  return marketplace::testing::ScrapeMetrics(processes_[index].metrics_port);
}

ReplicaCounters ReplicaStack::Counters(int index) const {
  const std::string metrics = ScrapeMetrics(index);
  const std::string sink_label = absl::StrCat("subscriber=\"", kSinkSubscriber, "\"");
  ReplicaCounters c;
  c.auto_released = marketplace::testing::MetricSample(metrics, "payments_auto_released_total");
  c.release_failures =
      marketplace::testing::MetricSample(metrics, "payments_release_failures_total");
  c.relay_delivered = SumSamples(metrics, "outbox_delivered_total", sink_label);
  c.relay_failures = SumSamples(metrics, "outbox_delivery_failures_total", sink_label);
  c.dead_lettered = SumSamples(metrics, "outbox_dead_lettered_total", sink_label);
  return c;
}

absl::StatusOr<int64_t> ReplicaStack::Count(const std::string& sql) {
  absl::StatusOr<std::vector<common::db::Row>> rows = pool_->Query(sql);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::NotFoundError("no row");
  absl::StatusOr<std::optional<int64_t>> n = rows->at(0).GetOptionalInt64("n");
  if (!n.ok()) return n.status();
  return n->value_or(0);
}

}  // namespace marketplace::payments::replicas
