#ifndef MARKETPLACE_TESTS_SUPPORT_RECORDING_SINK_H_
#define MARKETPLACE_TESTS_SUPPORT_RECORDING_SINK_H_

// An in-test consumer of a service's outbox relay, and the probe events a test writes for it,
// for the multi-replica proofs of the relays (tests/replicas_payments, tests/replicas_workers).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/db/connection_pool.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/events/v1/events.grpc.pb.h"

namespace marketplace::testing {

// One Deliver the sink accepted.
struct Delivery {
  std::string event_id;
  std::string topic;
  std::string source;
  std::string key;
  // Filled by the sink's `annotate` (e.g. the payment an event is about; a probe's sequence
  // number within its key); else empty / -1.
  std::string subject;
  int64_t sequence = -1;
  absl::Time received_at;
};

// marketplace.events.v1.EventSink as a consumer would serve it, minus the applying: it checks
// the relay's token like every consumer (an EdDSA token signed with `public_key`, role SERVICE,
// scope "<source>.events.publish"; else UNAUTHENTICATED / PERMISSION_DENIED) and records every
// accepted delivery, duplicates included, in the order they arrived, so a test can count
// deliveries against distinct event ids.
class RecordingSink final : public events::v1::EventSink::Service {
 public:
  // Fills a Delivery's subject / sequence from the event (runs on every accepted delivery).
  using Annotate = std::function<void(const events::v1::Event&, Delivery&)>;

  explicit RecordingSink(std::string public_key, Annotate annotate = nullptr)
      : public_key_(std::move(public_key)), annotate_(std::move(annotate)) {}
  grpc::Status Deliver(grpc::ServerContext* context, const events::v1::DeliverRequest* request,
                       events::v1::DeliverResponse* response) override;

  std::vector<Delivery> deliveries() const;
  int64_t delivered() const;
  int64_t distinct() const;
  int64_t refused() const;
  void Clear();

 private:
  const std::string public_key_;
  const Annotate annotate_;
  mutable absl::Mutex mu_;
  std::vector<Delivery> deliveries_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> seen_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> verified_tokens_ ABSL_GUARDED_BY(mu_);  // token -> source
  int64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
};

// `count` events of `topic` written into the outbox of `pool` the way service `source` writes
// its own (common/outbox Outbox), over `keys` keys ("<tag>-key-<k>"), each key's events
// numbered 0, 1, ... in enqueue order (payload google.protobuf.Int64Value), `per_transaction`
// in each transaction, `pause` after each. Their event ids, in enqueue order.
absl::StatusOr<std::vector<std::string>> EnqueueProbeEvents(
    common::db::ConnectionPool& pool, const std::string& source, const std::string& topic,
    int count, int keys, const std::string& tag, int per_transaction = 500,
    absl::Duration pause = absl::ZeroDuration());

}  // namespace marketplace::testing

#endif  // MARKETPLACE_TESTS_SUPPORT_RECORDING_SINK_H_
