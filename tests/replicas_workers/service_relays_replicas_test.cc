// Multi-replica proof of the outbox relays of support and of catalog (both
// common/outbox/outbox_relay.h; payments' relay: //tests/replicas_payments:payments_replicas_test).
// For each service: two server processes on one database, mutual TLS, an in-test identity
// stand-in (tests/support/support_stack.h's FakeIdentity), each process's relay delivering the
// service's topics ("support." / "catalog.") to one in-test marketplace.events.v1.EventSink
// (tests/support/recording_sink.h: checks the relay's token, records every delivery). Neither
// service has relay interval or batch flags: the relay's defaults apply (20 deliveries claimed
// per round, rounds back to back while there is work, 500 ms apart otherwise).
//
// Events are produced while both relays run:
// - through the service's API on both processes, each call to either process at random
//   (support: 300 NOT_RECEIVED tickets opened by buyers and escalated by agents: one
//   support.ticket_opened and one support.ticket_escalated each; catalog: 300 listings of 300
//   sellers created and submitted, two in three clean (the rules pass them: LIVE,
//   catalog.listing_approved), one in three with a phone number and "whatsapp" (REJECTED,
//   catalog.listing_rejected));
// - and, the API route being too slow for thousands, 4,000 more through common/outbox's
//   Outbox with the service as source (what the service's own writes use), topic
//   "<service>.replica_probe", 20 keys of 200 events, written in transactions of 200 (10 of
//   each key) every 200 ms while the API clients run. 20 keys, one relay batch: two relays'
//   batches taken together hold two events of many keys, so a claim that let them split a
//   key would deliver its events out of order.
// Once the outbox is drained:
// - deliveries = distinct event ids = the events in the service's outbox_events, each event id
//   delivered exactly once (nothing fails here, so the at-least-once relay must not repeat);
// - the events of each key arrived in enqueue order (outbox_events.id);
// - no refused token, no dead letter, no delivery failure;
// - both processes delivered part: outbox_delivered_total{subscriber="sink"} > 0 on each
//   process's own /metrics, summing to the total.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/jwt.h"
#include "common/db/connection_pool.h"
#include "common/testing/mariadb_server.h"
#include "common/testing/status_matchers.h"
#include "common/tls/test_tls.h"
#include "common/tls/transport_security.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/catalog/v1/catalog.grpc.pb.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "protos/marketplace/support/v1/support.grpc.pb.h"
#include "services/catalog/test_listings.h"
#include "tests/replicas_workers/replica_util.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/recording_sink.h"
#include "tests/support/subprocess.h"
#include "tests/support/support_stack.h"

namespace marketplace::testing {
namespace {

namespace catalog_v1 = ::marketplace::catalog::v1;
namespace payments_v1 = ::marketplace::payments::v1;
namespace support_v1 = ::marketplace::support::v1;
using ::marketplace::support::testing::FakeIdentity;
using ::marketplace::support::testing::Sign;
using ::marketplace::support::testing::SupportStack;

constexpr int kApiItems = 300;  // tickets / listings
constexpr int kClients = 8;
constexpr int kProbeEvents = 4000;
constexpr int kProbeKeys = 20;
constexpr int kProbesPerTransaction = 200;
constexpr char kSubscriber[] = "sink";

// The sink on mutual TLS in the test process.
struct SinkServer {
  std::unique_ptr<RecordingSink> sink;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  absl::Status Start(const std::string& public_key) {
    sink = std::make_unique<RecordingSink>(public_key);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", common::ServerCredentials(TestTransportSecurity()),
                             &port);
    builder.RegisterService(sink.get());
    server = builder.BuildAndStart();
    return server ? absl::OkStatus() : absl::InternalError("event sink did not start");
  }
  // The relay's subscriber flag: every topic of `prefix` to this sink.
  std::string SubscribersFlag(const std::string& prefix) const {
    return absl::StrCat("--event_subscribers=", kSubscriber, "=127.0.0.1:", port, ":", prefix);
  }
  ~SinkServer() {
    if (server) server->Shutdown();
  }
};

// A thread writing the probes of `source` (see the top) while the API clients run: 4,000
// events of "<source>.replica_probe", one transaction of 200 every 200 ms. `*status` once
// joined.
std::thread StartProbes(common::db::ConnectionPool& pool, const std::string& source,
                        absl::Status* status) {
  return std::thread([&pool, source, status] {
    *status =
        EnqueueProbeEvents(pool, source, absl::StrCat(source, ".replica_probe"), kProbeEvents,
                           kProbeKeys, "probe", kProbesPerTransaction, absl::Milliseconds(200))
            .status();
  });
}

// Waits (60 s at most) until the outbox of `pool` is drained and the sink holds as many
// distinct events as it; then checks each event delivered once, each key in enqueue order,
// and both processes (their /metrics ports) delivering part of the events.
void ExpectEachEventOnceInOrderByBoth(common::db::ConnectionPool& pool, const RecordingSink& sink,
                                      const std::vector<int>& metrics_ports,
                                      const std::string& source) {
  const std::string topics = absl::StrCat("topic LIKE '", source, ".%'");
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(60);
  while (
      absl::Now() < end &&
      (CountRows(pool, "SELECT COUNT(*) AS n FROM outbox_events WHERE fanned_out_at IS NULL") > 0 ||
       CountRows(pool, "SELECT COUNT(*) AS n FROM outbox_deliveries") > 0 ||
       sink.distinct() < CountRows(pool, absl::StrCat("SELECT COUNT(*) AS n FROM "
                                                      "outbox_events WHERE ",
                                                      topics)))) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  std::printf("%s: outbox drained %s after the producers finished\n", source.c_str(),
              absl::FormatDuration(absl::Now() - start).c_str());
  // A second delivery, were there one, would show within a relay round or two.
  absl::SleepFor(absl::Seconds(2));

  // What was enqueued, in enqueue order.
  absl::StatusOr<std::vector<common::db::Row>> rows = pool.Query(absl::StrCat(
      "SELECT event_id, event_key, topic FROM outbox_events WHERE ", topics, " ORDER BY id"));
  ASSERT_OK(rows.status());
  EXPECT_EQ(CountRows(pool, "SELECT COUNT(*) AS n FROM outbox_events"),
            static_cast<int64_t>(rows->size()))
      << "events of other topics";
  std::map<std::string, std::vector<std::string>> enqueued_by_key;
  std::map<std::string, int> topics_enqueued;
  for (const common::db::Row& row : *rows) {
    enqueued_by_key[*row.GetString("event_key")].push_back(*row.GetString("event_id"));
    ++topics_enqueued[*row.GetString("topic")];
  }
  const size_t enqueued = rows->size();

  const std::vector<Delivery> deliveries = sink.deliveries();
  std::map<std::string, int> times;
  std::map<std::string, std::vector<std::string>> delivered_by_key;  // arrival order
  for (const Delivery& d : deliveries) {
    ++times[d.event_id];
    delivered_by_key[d.key].push_back(d.event_id);
  }
  int duplicates = 0;
  for (const auto& [id, n] : times) duplicates += n - 1;
  int missing = 0;
  for (const auto& [key, ids] : enqueued_by_key) {
    for (const std::string& id : ids) missing += times.count(id) == 0 ? 1 : 0;
  }
  int keys_out_of_order = 0;
  for (const auto& [key, ids] : enqueued_by_key) {
    if (delivered_by_key[key] != ids && ++keys_out_of_order <= 3) {
      ADD_FAILURE() << "key " << key << ": " << ids.size() << " enqueued, "
                    << delivered_by_key[key].size()
                    << " delivered, not the same ids in the same order";
    }
  }
  std::printf("%s: %zu events enqueued (", source.c_str(), enqueued);
  for (const auto& [topic, n] : topics_enqueued) std::printf(" %s %d", topic.c_str(), n);
  std::printf(
      " ), %zu deliveries of %zu distinct events, %d duplicates, %d missing, %d keys "
      "out of order\n",
      deliveries.size(), times.size(), duplicates, missing, keys_out_of_order);
  EXPECT_GE(enqueued, static_cast<size_t>(kProbeEvents + kApiItems));
  EXPECT_EQ(deliveries.size(), enqueued) << duplicates << " duplicate deliveries";
  EXPECT_EQ(times.size(), enqueued);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(keys_out_of_order, 0) << "events of a key not delivered in enqueue order";
  EXPECT_EQ(sink.refused(), 0) << "the relays' tokens were refused";
  EXPECT_EQ(CountRows(pool, "SELECT COUNT(*) AS n FROM outbox_dead_letters"), 0);

  // Both processes delivered part: their own counters.
  const std::string label = absl::StrCat("subscriber=\"", kSubscriber, "\"");
  double total = 0;
  for (size_t r = 0; r < metrics_ports.size(); ++r) {
    const std::string metrics = ScrapeMetrics(metrics_ports[r]);
    const double delivered = SumSamples(metrics, "outbox_delivered_total", {label});
    std::printf("%s replica %zu delivered %.0f\n", source.c_str(), r, delivered);
    EXPECT_GT(delivered, 0) << source << " replica " << r << " delivered nothing\n" << metrics;
    EXPECT_EQ(SumSamples(metrics, "outbox_delivery_failures_total", {label}), 0);
    EXPECT_EQ(SumSamples(metrics, "outbox_dead_lettered_total", {label}), 0);
    total += delivered;
  }
  EXPECT_EQ(total, static_cast<double>(enqueued));
}

// Runs `work(i, rng)` for i in [0, kApiItems) on kClients threads; the failures' messages.
template <typename Fn>
std::vector<std::string> RunClients(Fn work) {
  std::atomic<int> next{0};
  absl::Mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> clients;
  for (int k = 0; k < kClients; ++k) {
    clients.emplace_back([&, k] {
      std::mt19937 rng(2000 + k);
      for (int i = next++; i < kApiItems; i = next++) {
        std::string error = work(i, rng);
        if (!error.empty()) {
          absl::MutexLock lock(&mu);
          errors.push_back(absl::StrCat("item ", i, ": ", error));
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  return errors;
}

// stack.Retry (on UNAVAILABLE), also again after ABORTED (a transaction the server gave up
// after deadlocks) or DEADLINE_EXCEEDED: every call here carries a request_id, so repeating it
// is safe.
template <typename Fn>
grpc::Status Call(SupportStack& stack, const std::string& token, Fn call) {
  grpc::Status s;
  for (int i = 0; i < 5; ++i) {
    s = stack.Retry(token, call);
    if (s.error_code() != grpc::StatusCode::ABORTED &&
        s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      break;
    }
  }
  return s;
}

std::string Failed(const char* what, const grpc::Status& s) {
  return s.ok() ? "" : absl::StrCat(what, ": ", s.error_code(), " ", s.error_message());
}

TEST(ServiceRelaysReplicasTest, SupportRelaysDeliverEachEventOnceInKeyOrderFromBoth) {
  SupportStack stack;
  ASSERT_OK(stack.Init());
  SinkServer sink;
  ASSERT_OK(sink.Start(stack.keys().public_key));
  ASSERT_OK(stack.StartPayments());
  const std::vector<std::string> args = {sink.SubscribersFlag("support.")};
  ASSERT_OK(stack.StartSupport(args).status());
  ASSERT_OK(stack.StartSupport(args).status());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<common::db::ConnectionPool> pool,
                       common::db::ConnectionPool::Create(stack.support_db().options));

  const std::string checkout =
      Sign(stack.keys(), "5e7c0000000000000000000000000009", {"SERVICE"}, {"payments.checkout"});
  const std::string agent =
      Sign(stack.keys(), "a9e47000000000000000000000000010", {"SUPPORT_AGENT"}, {});
  // Both serve before the clients start.
  for (int r = 0; r < stack.replicas(); ++r) {
    support_v1::ListTicketsRequest list;
    support_v1::ListTicketsResponse listed;
    grpc::Status s = Call(stack, agent, [&](grpc::ClientContext* c) {
      return stack.support(r).ListTickets(c, list, &listed);
    });
    ASSERT_TRUE(s.ok()) << "replica " << r << ": " << s.error_message() << "\n"
                        << stack.support_process(r).Output();
  }

  const absl::Time started = absl::Now();
  absl::Status probes;
  std::thread prober = StartProbes(*pool, "support", &probes);
  const std::vector<std::string> errors = RunClients([&](int i, std::mt19937& rng) {
    const std::string buyer_id = absl::StrFormat("b0b0b0%026x", i % 20);
    const std::string buyer = Sign(stack.keys(), buyer_id, {"BUYER"}, {});
    const std::string order_id = absl::StrCat("O-", i);
    payments_v1::CreatePaymentRequest pay;
    pay.set_request_id(absl::StrCat("pay-", i));
    pay.set_order_id(order_id);
    pay.set_buyer_id(buyer_id);
    pay.set_seller_id("5e11e700000000000000000000000001");
    pay.mutable_amount()->set_currency_code("EUR");
    pay.mutable_amount()->set_amount_minor(4200 + i);  // above the instant refund cap
    pay.set_payment_method_token("tok_sandbox_success");
    payments_v1::Payment payment;
    grpc::Status s = Call(stack, checkout, [&](grpc::ClientContext* c) {
      return stack.payments().CreatePayment(c, pay, &payment);
    });
    if (!s.ok()) return Failed("CreatePayment", s);
    support_v1::CreateTicketRequest create;
    create.set_request_id(absl::StrCat("t-", i));
    create.set_order_id(order_id);
    create.set_category(support_v1::NOT_RECEIVED);
    create.set_channel(support_v1::WEB_FORM);
    create.set_subject("Where is it?");
    create.set_body("Nothing arrived");
    support_v1::CreateTicketResponse created;
    const int at_create = static_cast<int>(rng() % 2);
    s = Call(stack, buyer, [&](grpc::ClientContext* c) {
      return stack.support(at_create).CreateTicket(c, create, &created);
    });
    if (!s.ok()) return Failed("CreateTicket", s);
    support_v1::EscalateTicketRequest escalate;
    escalate.set_request_id(absl::StrCat("e-", i));
    escalate.set_ticket_id(created.ticket().ticket_id());
    support_v1::Ticket escalated;
    const int at_escalate = static_cast<int>(rng() % 2);
    s = Call(stack, agent, [&](grpc::ClientContext* c) {
      return stack.support(at_escalate).EscalateTicket(c, escalate, &escalated);
    });
    return Failed("EscalateTicket", s);
  });
  prober.join();
  std::printf("support: producers took %s\n", absl::FormatDuration(absl::Now() - started).c_str());
  ASSERT_TRUE(errors.empty()) << errors.size() << " failed, first: " << errors[0];
  ASSERT_OK(probes);
  EXPECT_EQ(CountRows(*pool,
                      "SELECT COUNT(*) AS n FROM outbox_events WHERE topic = "
                      "'support.ticket_opened'"),
            kApiItems);
  EXPECT_EQ(CountRows(*pool,
                      "SELECT COUNT(*) AS n FROM outbox_events WHERE topic = "
                      "'support.ticket_escalated'"),
            kApiItems);

  ExpectEachEventOnceInOrderByBoth(
      *pool, *sink.sink, {stack.support_metrics_port(0), stack.support_metrics_port(1)}, "support");
}

TEST(ServiceRelaysReplicasTest, CatalogRelaysDeliverEachEventOnceInKeyOrderFromBoth) {
  ASSERT_OK(common::testing::MariaDbServer::Shared().status());
  ASSERT_OK_AND_ASSIGN(common::testing::TestDatabase db,
                       common::testing::CreateTestDatabase("catalog_relays"));
  struct DropDb {
    std::string name;
    ~DropDb() { (void)common::testing::DropTestDatabase(name); }
  } drop{db.name};
  ASSERT_OK_AND_ASSIGN(common::auth::Ed25519KeyPair keys, common::auth::GenerateEd25519KeyPair());
  FakeIdentity identity(keys);
  int identity_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", common::ServerCredentials(TestTransportSecurity()),
                           &identity_port);
  builder.RegisterService(&identity);
  std::unique_ptr<grpc::Server> identity_server = builder.BuildAndStart();
  ASSERT_NE(identity_server, nullptr);
  SinkServer sink;
  ASSERT_OK(sink.Start(keys.public_key));

  struct Replica {
    int metrics_port = 0;
    std::unique_ptr<Subprocess> process;
    std::unique_ptr<catalog_v1::CatalogService::Stub> stub;
  };
  std::vector<Replica> replicas;
  for (int r = 0; r < 2; ++r) {
    Replica replica;
    const std::string target = absl::StrCat("127.0.0.1:", PickFreePort());
    replica.metrics_port = PickFreePort();
    std::vector<std::string> args = {
        "--listen_address=" + target,
        absl::StrCat("--metrics_address=127.0.0.1:", replica.metrics_port),
        absl::StrCat("--identity_address=127.0.0.1:", identity_port), "--token_issuer=identity",
        "--categories_file=" + RunfilePath("services/catalog/data/categories.json"),
        "--moderation_rules_file=" + RunfilePath("services/catalog/data/moderation_rules.json"),
        "--category_model_file=" + RunfilePath("services/catalog/data/category_model.ftz"),
        // No seller counts as new: the rules decide every listing at submission.
        "--new_seller_listings=0", "--service_client_id=catalog",
        "--service_client_secret=catalog-secret", sink.SubscribersFlag("catalog."),
        "--drain_timeout=2s", "--log_level=warn"};
    for (std::string& flag : DbFlags(db)) args.push_back(std::move(flag));
    for (std::string& flag : TestTlsFlags()) args.push_back(std::move(flag));
    ASSERT_OK_AND_ASSIGN(Subprocess process,
                         Subprocess::Start(RunfilePath("services/catalog/catalog_server"), args));
    replica.process = std::make_unique<Subprocess>(std::move(process));
    auto channel = grpc::CreateChannel(target, TestChannelCredentials());
    ASSERT_OK(WaitServing(channel, *replica.process, absl::StrCat("catalog_server ", r)));
    replica.stub = catalog_v1::CatalogService::NewStub(channel);
    replicas.push_back(std::move(replica));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<common::db::ConnectionPool> pool,
                       common::db::ConnectionPool::Create(db.options));

  auto call = [](const std::string& token, auto fn) {
    grpc::Status s;
    for (int attempt = 0; attempt < 5; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      ctx.AddMetadata("authorization", "Bearer " + token);
      s = fn(&ctx);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE &&
          s.error_code() != grpc::StatusCode::ABORTED) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    return s;
  };
  const absl::Time started = absl::Now();
  absl::Status probes;
  std::thread prober = StartProbes(*pool, "catalog", &probes);
  std::atomic<int> live{0}, rejected{0};
  const std::vector<std::string> errors = RunClients([&](int i, std::mt19937& rng) {
    // One seller per listing: no listing is a near-duplicate of another of its seller.
    const std::string seller = Sign(keys, absl::StrFormat("5e11e7%026x", i), {"SELLER"}, {});
    catalog_v1::CreateListingRequest create;
    *create.mutable_listing() =
        catalog::testing::CleanPlush(absl::StrCat("Peluche ourson brun 30 cm modele ", i), 1);
    if (i % 3 == 2) {  // OFF_PLATFORM_CONTACT: REJECT
      create.mutable_listing()->set_description(absl::StrCat(
          create.listing().description(), " Ecrivez-moi sur whatsapp au 0612345678 pour le prix."));
    }
    create.set_request_id(absl::StrCat("listing-", i));
    catalog_v1::Listing created;
    auto& at_create = *replicas[rng() % 2].stub;
    grpc::Status s = call(seller, [&](grpc::ClientContext* c) {
      return at_create.CreateListing(c, create, &created);
    });
    if (!s.ok()) return Failed("CreateListing", s);
    catalog_v1::SubmitListingRequest submit;
    submit.set_listing_id(created.listing_id());
    catalog_v1::Listing submitted;
    auto& at_submit = *replicas[rng() % 2].stub;
    s = call(seller, [&](grpc::ClientContext* c) {
      return at_submit.SubmitListing(c, submit, &submitted);
    });
    if (!s.ok()) return Failed("SubmitListing", s);
    if (submitted.state() == catalog_v1::LIVE) ++live;
    if (submitted.state() == catalog_v1::REJECTED) ++rejected;
    return std::string();
  });
  prober.join();
  std::printf("catalog: producers took %s; %d listings LIVE, %d REJECTED\n",
              absl::FormatDuration(absl::Now() - started).c_str(), live.load(), rejected.load());
  ASSERT_TRUE(errors.empty()) << errors.size() << " failed, first: " << errors[0];
  ASSERT_OK(probes);
  EXPECT_EQ(live.load() + rejected.load(), kApiItems) << "listings left in review";
  EXPECT_GT(rejected.load(), 0);
  EXPECT_EQ(CountRows(*pool,
                      "SELECT COUNT(*) AS n FROM outbox_events WHERE topic = "
                      "'catalog.listing_approved'"),
            live.load());
  EXPECT_EQ(CountRows(*pool,
                      "SELECT COUNT(*) AS n FROM outbox_events WHERE topic = "
                      "'catalog.listing_rejected'"),
            rejected.load());

  ExpectEachEventOnceInOrderByBoth(*pool, *sink.sink,
                                   {replicas[0].metrics_port, replicas[1].metrics_port}, "catalog");
}

}  // namespace
}  // namespace marketplace::testing
