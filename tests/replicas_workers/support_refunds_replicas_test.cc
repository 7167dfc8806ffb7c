// Multi-replica proof of support's refund worker (and its ticket closer): one payments_server
// and two support_server processes on one support database (tests/support/support_stack.h,
// mutual TLS), the refund worker on in both (`--refund_interval=1s`, `--refund_batch=5`, so a
// pass takes a few commands and both processes take part), the closer every 250 ms.
//
// 8 client threads make 200 paid orders (payments CreatePayment, HELD, more than the instant
// refund cap) and carry each through support, every call to either process at random: the
// buyer opens a NOT_RECEIVED claim, a SUPPORT_AGENT escalates it to level 2 and resolves it
// REFUND_FULL (PENDING_REFUND plus a refund command, one transaction). The resolutions are
// made while both workers run, one every 200 ms (40 s in all; the rest goes as fast as it
// can): about as fast as the two workers take them, so the queue stays shorter than a batch and
// a pass of one process regularly meets the commands the other has claimed and is still
// sending -- the case the claim's lock and lease are for (with a deep queue, ordered by
// next_attempt_at, a claimed command goes to the back and is rarely met again). Once every
// ticket's refund_state is REFUNDED:
// - payments: each payment REFUNDED with one refund of its whole amount; VerifyLedger
//   consistent;
// - support: one REFUNDED command per ticket and one REFUND_RESULT history line per ticket
//   (the worker writes it with the command's final state: a command carried out by both
//   processes would have two -- payments alone would not show it, since it makes a repeated
//   request_id's refund once);
// - both processes sent refunds: support_refunds_sent_total{result="REFUNDED"} > 0 on each
//   process's own /metrics, adding up to 200 (no RETRY, no REFUND_REFUSED).
// Then the closer: each ticket's `closes_at` (4 days after SOLVED by the default policy) is
// moved back by SQL, test-only, standing for the window passing; every ticket becomes CLOSED
// with exactly one "SOLVED -> CLOSED" history line (the closer counts nothing per process, so
// which process closed which is not asserted).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/connection_pool.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "protos/marketplace/support/v1/support.grpc.pb.h"
#include "tests/replicas_workers/replica_util.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/support_stack.h"

namespace marketplace::support {
namespace {

namespace ppb = marketplace::payments::v1;
using marketplace::testing::CountRows;
using marketplace::testing::SumSamples;
using testing::Sign;

constexpr int kOrders = 200;
constexpr int kClients = 8;
constexpr int kBuyers = 10;
constexpr int kAgents = 3;
constexpr absl::Duration kResolveSpacing = absl::Milliseconds(200);
constexpr char kSeller[] = "5e11e700000000000000000000000001";

struct Order {
  std::string payment_id;
  int64_t amount_minor = 0;
  std::string ticket_id;
};

class SupportRefundsReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(stack_.Init()); }

  // stack_.Retry, also again after DEADLINE_EXCEEDED (every call here carries a request_id or
  // only reads, so repeating it is safe) -- the machine is shared and loaded.
  template <typename Fn>
  grpc::Status Call(const std::string& token, Fn call) {
    grpc::Status s;
    for (int i = 0; i < 5; ++i) {
      s = stack_.Retry(token, call);
      if (s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) break;
    }
    return s;
  }

  int64_t Count(const std::string& sql) { return CountRows(*pool_, sql); }

  testing::SupportStack stack_;
  std::unique_ptr<common::db::ConnectionPool> pool_;
};

TEST_F(SupportRefundsReplicasTest, TwoReplicasRefundEachTicketOnceAndCloseEachOnce) {
  ASSERT_OK(stack_.StartPayments());
  const std::vector<std::string> args = {"--refund_interval=1s", "--refund_batch=5",
                                         "--close_interval=250ms"};
  ASSERT_OK(stack_.StartSupport(args).status());
  ASSERT_OK(stack_.StartSupport(args).status());
  ASSERT_OK_AND_ASSIGN(pool_, common::db::ConnectionPool::Create(stack_.support_db().options));

  const std::string checkout = Sign(stack_.keys(), "5e7c0000000000000000000000000009",
                                    {"SERVICE"}, {"payments.checkout"});
  const std::string admin = Sign(stack_.keys(), "ad000000000000000000000000000001", {"ADMIN"}, {});
  std::vector<std::string> buyers, agents;
  for (int i = 0; i < kBuyers; ++i) {
    buyers.push_back(
        Sign(stack_.keys(), absl::StrCat("b0b0b0000000000000000000000000", 10 + i), {"BUYER"}, {}));
  }
  for (int i = 0; i < kAgents; ++i) {
    agents.push_back(Sign(stack_.keys(), absl::StrCat("a9e470000000000000000000000000", 10 + i),
                          {"SUPPORT_AGENT"}, {}));
  }
  // Both processes serve before the clients start (so both workers run while they resolve).
  for (int r = 0; r < stack_.replicas(); ++r) {
    v1::ListTicketsRequest list;
    v1::ListTicketsResponse listed;
    grpc::Status s = Call(agents[0], [&](grpc::ClientContext* c) {
      return stack_.support(r).ListTickets(c, list, &listed);
    });
    ASSERT_TRUE(s.ok()) << "replica " << r << ": " << s.error_code() << " " << s.error_message()
                        << "\n"
                        << stack_.support_process(r).Output();
  }

  std::vector<Order> orders(kOrders);
  std::atomic<int> next{0};
  absl::Mutex mu;
  std::vector<std::string> errors;  // guarded by mu
  const absl::Time clients_start = absl::Now();
  std::vector<std::thread> clients;
  for (int k = 0; k < kClients; ++k) {
    clients.emplace_back([&, k] {
      std::mt19937 rng(1000 + k);
      auto any_replica = [&] { return static_cast<int>(rng() % stack_.replicas()); };
      auto fail = [&](int i, const char* what, const grpc::Status& s) {
        absl::MutexLock lock(&mu);
        errors.push_back(absl::StrCat("order ", i, " ", what, ": ", s.error_code(), " ",
                                      s.error_message()));
      };
      for (int i = next++; i < kOrders; i = next++) {
        const std::string& buyer = buyers[i % kBuyers];
        const std::string buyer_id = absl::StrCat("b0b0b0000000000000000000000000", 10 + i % kBuyers);
        const std::string& agent = agents[rng() % kAgents];
        const std::string order_id = absl::StrCat("O-", i);
        ppb::CreatePaymentRequest pay;
        pay.set_request_id(absl::StrCat("pay-", i));
        pay.set_order_id(order_id);
        pay.set_buyer_id(buyer_id);
        pay.set_seller_id(kSeller);
        pay.mutable_amount()->set_currency_code("EUR");
        pay.mutable_amount()->set_amount_minor(4200 + i);  // above the instant refund cap
        pay.set_payment_method_token("tok_sandbox_success");
        ppb::Payment payment;
        grpc::Status s = Call(checkout, [&](grpc::ClientContext* c) {
          return stack_.payments().CreatePayment(c, pay, &payment);
        });
        if (!s.ok()) return fail(i, "CreatePayment", s);

        v1::CreateTicketRequest create;
        create.set_request_id(absl::StrCat("t-", i));
        create.set_order_id(order_id);
        create.set_category(v1::NOT_RECEIVED);
        create.set_channel(v1::WEB_FORM);
        create.set_subject("Where is it?");
        create.set_body("Nothing arrived");
        v1::CreateTicketResponse created;
        const int at_create = any_replica();
        s = Call(buyer, [&](grpc::ClientContext* c) {
          return stack_.support(at_create).CreateTicket(c, create, &created);
        });
        if (!s.ok()) return fail(i, "CreateTicket", s);
        const std::string ticket_id = created.ticket().ticket_id();

        v1::EscalateTicketRequest escalate;
        escalate.set_request_id(absl::StrCat("e-", i));
        escalate.set_ticket_id(ticket_id);
        v1::Ticket escalated;
        const int at_escalate = any_replica();
        s = Call(agent, [&](grpc::ClientContext* c) {
          return stack_.support(at_escalate).EscalateTicket(c, escalate, &escalated);
        });
        if (!s.ok()) return fail(i, "EscalateTicket", s);

        v1::ResolveTicketRequest resolve;
        resolve.set_request_id(absl::StrCat("r-", i));
        resolve.set_ticket_id(ticket_id);
        resolve.set_outcome(v1::REFUND_FULL);
        resolve.set_reason_code("CARRIER_LOST");
        resolve.set_explanation("Refunded in full");
        v1::Ticket resolved;
        absl::SleepFor(clients_start + kResolveSpacing * i - absl::Now());  // its turn
        const int at_resolve = any_replica();
        s = Call(agent, [&](grpc::ClientContext* c) {
          return stack_.support(at_resolve).ResolveTicket(c, resolve, &resolved);
        });
        if (!s.ok()) return fail(i, "ResolveTicket", s);
        if (resolved.refund_request_id().rfind(absl::StrCat("support:", ticket_id, ":"), 0) !=
            0) {
          return fail(i, "ResolveTicket: refund_request_id", grpc::Status::OK);
        }
        orders[i] = {payment.payment_id(), pay.amount().amount_minor(), ticket_id};
      }
    });
  }
  for (std::thread& t : clients) t.join();
  const absl::Duration clients_took = absl::Now() - clients_start;
  ASSERT_TRUE(errors.empty()) << errors.size() << " failed, first: " << errors[0] << "\n"
                              << stack_.support_process(0).Output() << "\n"
                              << stack_.support_process(1).Output();
  ASSERT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands"), kOrders);
  const int64_t refunded_by_then =
      Count("SELECT COUNT(*) AS n FROM tickets WHERE refund_state = 2");
  // Part of them were refunded while the clients still resolved: the workers ran meanwhile.
  // (Printed, not asserted: it depends on timing.)
  std::cout << "clients took " << absl::FormatDuration(clients_took) << "; " << refunded_by_then
            << " of " << kOrders << " refunded by then\n";

  const absl::Time end = absl::Now() + absl::Seconds(120);
  while (absl::Now() < end &&
         Count("SELECT COUNT(*) AS n FROM tickets WHERE refund_state = 2") < kOrders) {
    absl::SleepFor(absl::Milliseconds(250));
  }
  std::cout << "all refunded " << absl::FormatDuration(absl::Now() - clients_start)
            << " after the clients started\n";
  absl::SleepFor(absl::Seconds(2));  // a duplicate, were there one, would show by now

  // Support: every ticket REFUNDED, each command finished once.
  ASSERT_EQ(Count("SELECT COUNT(*) AS n FROM tickets WHERE refund_state = 2 AND status = 3"),
            kOrders)
      << stack_.support_process(0).Output() << "\n"
      << stack_.support_process(1).Output();
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands WHERE state = 2"), kOrders);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT ticket_id) AS n FROM refund_commands"), kOrders);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ticket_history WHERE kind = 'REFUND_RESULT'"),
            kOrders);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM (SELECT ticket_id FROM ticket_history WHERE kind = "
                  "'REFUND_RESULT' GROUP BY ticket_id HAVING COUNT(*) = 1) AS once"),
            kOrders);

  // Payments: one refund of the whole amount per payment, the ledger balanced.
  int wrong = 0;
  for (const Order& o : orders) {
    ppb::GetPaymentRequest get;
    get.set_payment_id(o.payment_id);
    ppb::Payment p;
    grpc::Status s = Call(admin, [&](grpc::ClientContext* c) {
      return stack_.payments().GetPayment(c, get, &p);
    });
    ASSERT_TRUE(s.ok()) << o.payment_id << ": " << s.error_message();
    if (p.state() != ppb::REFUNDED || p.refunded().amount_minor() != o.amount_minor ||
        p.refunds_size() != 1) {
      if (++wrong <= 5) ADD_FAILURE() << "payment of " << o.ticket_id << ":\n" << p.DebugString();
    }
  }
  EXPECT_EQ(wrong, 0);
  ppb::VerifyLedgerRequest verify;
  ppb::VerifyLedgerResponse verified;
  grpc::Status s = Call(admin, [&](grpc::ClientContext* c) {
    return stack_.payments().VerifyLedger(c, verify, &verified);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(verified.consistent()) << verified.DebugString();

  // Each process counts the refunds it sent: together all of them, each a part.
  double sent = 0;
  for (int r = 0; r < stack_.replicas(); ++r) {
    const std::string metrics = marketplace::testing::ScrapeMetrics(stack_.support_metrics_port(r));
    const double refunded =
        SumSamples(metrics, "support_refunds_sent_total", {"result=\"REFUNDED\""});
    std::cout << "replica " << r << " refunded " << refunded << "\n";
    EXPECT_GT(refunded, 0) << "replica " << r << " sent no refund\n" << metrics;
    EXPECT_EQ(SumSamples(metrics, "support_refunds_sent_total", {"result=\"RETRY\""}), 0);
    EXPECT_EQ(SumSamples(metrics, "support_refunds_sent_total", {"result=\"REFUND_REFUSED\""}),
              0);
    sent += refunded;
  }
  EXPECT_EQ(sent, kOrders);

  // The closer: the close window passes (test-only SQL), each ticket CLOSED once.
  ASSERT_EQ(Count("SELECT COUNT(*) AS n FROM ticket_history WHERE detail = 'SOLVED -> CLOSED'"),
            0);
  ASSERT_OK(pool_->Execute("UPDATE tickets SET closes_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND "
                           "WHERE status = 3")
                .status());
  const absl::Time close_end = absl::Now() + absl::Seconds(60);
  while (absl::Now() < close_end &&
         Count("SELECT COUNT(*) AS n FROM tickets WHERE status = 4") < kOrders) {
    absl::SleepFor(absl::Milliseconds(250));
  }
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM tickets WHERE status = 4"), kOrders);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ticket_history WHERE kind = 'STATUS' AND "
                  "detail = 'SOLVED -> CLOSED'"),
            kOrders);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM (SELECT ticket_id FROM ticket_history WHERE kind = "
                  "'STATUS' AND detail = 'SOLVED -> CLOSED' GROUP BY ticket_id HAVING COUNT(*) "
                  "= 1) AS once"),
            kOrders);
}

}  // namespace
}  // namespace marketplace::support
