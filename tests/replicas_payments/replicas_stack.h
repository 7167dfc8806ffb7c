#ifndef MARKETPLACE_TESTS_REPLICAS_PAYMENTS_REPLICAS_STACK_H_
#define MARKETPLACE_TESTS_REPLICAS_PAYMENTS_REPLICAS_STACK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/jwt.h"
#include "common/db/connection_pool.h"
#include "common/db/db_options.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "tests/support/recording_sink.h"
#include "tests/support/subprocess.h"

// Several payments_server processes on one database, for the multi-replica proof
// (//tests/replicas_payments:payments_replicas_test) and its benchmark
// (bench/replicas_payments_bench.sh): an in-process identity stand-in, an in-process
// EventSink that records every delivery, a "loader" payments_server that makes a backlog of
// due payments without releasing or relaying anything, and replicas with every worker on.
namespace marketplace::payments::replicas {

// The subscriber name the replicas' relays deliver to the RecordingSink under.
inline constexpr char kSinkSubscriber[] = "sink";
// Topic of the events EnqueueProbeEvents writes (the replicas' subscriber takes "payments.").
inline constexpr char kProbeTopic[] = "payments.replica_probe";

// The sink (tests/support/recording_sink.h); the payments annotator fills a Delivery's
// subject (payments.payment_held / payment_released: the payment id) and sequence (probes: the
// number within the key).
using marketplace::testing::Delivery;
using marketplace::testing::RecordingSink;

struct StackOptions {
  // Mutual TLS with the build's test certificates (tests), or every link plaintext and the
  // binaries started with --insecure (benchmarks).
  bool tls = true;
  // The payments_server binary.
  std::string server_binary;
  // The database (it must exist; payments_server migrates it). `database` is required.
  common::db::DbOptions db;
  // When not empty, every payments_server is started under `taskset -c <cpus>`.
  std::string server_cpus;
  // Extra flags of every payments_server (after the stack's own, so they win).
  std::vector<std::string> extra_flags;
};

// Counters a replica exports, read from its /metrics.
struct ReplicaCounters {
  double auto_released = -1;     // payments_auto_released_total
  double release_failures = -1;  // payments_release_failures_total
  double relay_delivered = 0;    // outbox_delivered_total{subscriber="sink"}, all topics
  double relay_failures = 0;     // outbox_delivery_failures_total{subscriber="sink"}
  double dead_lettered = 0;      // outbox_dead_lettered_total{subscriber="sink"}
};

class ReplicaStack {
 public:
  explicit ReplicaStack(StackOptions options) : options_(std::move(options)) {}
  ~ReplicaStack();  // kills what still runs
  ReplicaStack(const ReplicaStack&) = delete;
  ReplicaStack& operator=(const ReplicaStack&) = delete;

  // Starts the identity stand-in and the sink; opens a pool on the database.
  absl::Status Init();

  // Starts one payments_server; returns its index. `relay`: its relay delivers "payments."
  // events to the sink; otherwise --event_subscribers is empty (events wait in the outbox).
  // `flags` come after the common ones.
  absl::StatusOr<int> Start(bool relay, const std::vector<std::string>& flags);
  // A loader: no relay, release worker asleep (--release_interval=1000h), hold period 1 s, so
  // the payments it takes are due a second later and wait for the replicas.
  absl::StatusOr<int> StartLoader();
  // Replicas with every worker on and short intervals (release 1 s, batch 20, completion 1 s);
  // `relay` as in Start.
  absl::StatusOr<int> StartReplica(bool relay, const std::vector<std::string>& extra = {});
  // Waits until the process answers on its gRPC port (a Payments call gets past transport).
  absl::Status WaitServing(int index, absl::Duration timeout = absl::Seconds(60));
  // SIGTERM and wait (SIGKILL after 20 s).
  void Stop(int index);
  void StopAll();
  std::string Output(int index) const;

  // `count` payments taken through process `index` (HELD, EUR, 1000 + i minor units) with
  // `threads` concurrent clients, over `sellers` sellers; each call retried with its
  // request_id while transient. Their ids, in order.
  absl::StatusOr<std::vector<std::string>> CreatePayments(int index, int count, int sellers,
                                                          int threads,
                                                          const std::string& tag);
  // `count` events of topic kProbeTopic written into the database's outbox the way payments
  // writes its own (common/outbox Outbox, source "payments"), over `keys` keys, each key's
  // events numbered 0, 1, ... in enqueue order (payload google.protobuf.Int64Value). Their
  // event ids.
  absl::StatusOr<std::vector<std::string>> EnqueueProbeEvents(int count, int keys,
                                                              const std::string& tag);

  // VerifyLedger through process `index` with an ADMIN token.
  absl::StatusOr<payments::v1::VerifyLedgerResponse> VerifyLedger(int index);

  ReplicaCounters Counters(int index) const;
  std::string ScrapeMetrics(int index) const;

  // A single-row integer query on the database ("... AS n").
  absl::StatusOr<int64_t> Count(const std::string& sql);

  RecordingSink& sink() { return *sink_; }
  common::db::ConnectionPool& pool() { return *pool_; }
  const common::auth::Ed25519KeyPair& keys() const { return keys_; }
  int grpc_port(int index) const { return processes_[index].port; }

 private:
  struct Process {
    int port = 0;
    int metrics_port = 0;
    std::optional<marketplace::testing::Subprocess> process;
    std::unique_ptr<payments::v1::Payments::Stub> stub;
  };
  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;

  StackOptions options_;
  common::auth::Ed25519KeyPair keys_;
  std::unique_ptr<identity::v1::Identity::Service> identity_;
  std::unique_ptr<RecordingSink> sink_;
  std::unique_ptr<grpc::Server> identity_server_;
  std::unique_ptr<grpc::Server> sink_server_;
  int identity_port_ = 0;
  int sink_port_ = 0;
  std::unique_ptr<common::db::ConnectionPool> pool_;
  std::vector<Process> processes_;
};

// Sums the samples of `name{...}` lines whose labels contain `label` (e.g.
// subscriber="sink"); 0 when there are none.
double SumSamples(const std::string& metrics, const std::string& name, const std::string& label);

}  // namespace marketplace::payments::replicas

#endif  // MARKETPLACE_TESTS_REPLICAS_PAYMENTS_REPLICAS_STACK_H_
