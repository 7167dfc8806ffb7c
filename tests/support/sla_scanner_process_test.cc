// Two support_server processes on one database scanning the same SLA clocks: 2,000 level-1
// FIRST_REPLY clocks fall due within one minute; each warning, breach and SLA_BREACH
// escalation is written exactly once, and both processes do part of the work.
//
// The tickets: 20 are created through the API (payments' CreatePayment, then support's
// CreateTicket, while the only replica does not scan) under a short SLA policy (--sla_policy_file: FIRST_REPLY 1 minute on EMAIL, so
// the warning is due after 45 s and the breach after 60 s). To reach 2,000 without 2,000
// payments, each is then copied 99 times by SQL, test-only: the `tickets` row and its
// `sla_clocks` rows, with a new ticket id and the same times, so every copy falls due with its
// original. Nothing else about a copy differs from an API-made ticket as the scanner reads it.
// Then every FIRST_REPLY clock is moved (by SQL, keeping its 60 s length and 45 s warning point)
// to fall due 35 to 65 s later, so the replicas, started after that, meet every warning and
// every breach while they scan, however long the setup took.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/db/connection_pool.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "protos/marketplace/support/v1/support.grpc.pb.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/support_stack.h"

namespace marketplace::support {
namespace {

namespace ppb = marketplace::payments::v1;
using testing::Sign;

constexpr char kBuyer[] = "b0b0b000000000000000000000000001";
constexpr char kSeller[] = "5e11e700000000000000000000000001";
constexpr int kApiTickets = 20;
constexpr int kCopies = 99;  // per API ticket
constexpr int kTickets = kApiTickets * (1 + kCopies);

constexpr char kShortPolicy[] = R"pb(
  version: 1
  targets { level: L1_SELLER channel: EMAIL metric: FIRST_REPLY target { seconds: 60 } mode: CALENDAR }
  targets { level: L1_SELLER metric: FIRST_REPLY target { seconds: 86400 } mode: CALENDAR }
  targets { level: L1_SELLER metric: L1_WINDOW target { seconds: 172800 } mode: CALENDAR }
  targets { level: L2_OPERATOR metric: FIRST_REPLY target { seconds: 86400 } mode: CALENDAR }
  warn_percent: 75
)pb";

class SlaScannerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(stack_.Init()); }

  int64_t Count(const std::string& sql) {
    auto rows = pool_->Query(sql);
    EXPECT_OK(rows.status());
    if (!rows.ok() || rows->empty()) return -1;
    return *(*rows)[0].GetInt64("n");
  }

  testing::SupportStack stack_;
  std::unique_ptr<common::db::ConnectionPool> pool_;
};

TEST_F(SlaScannerProcessTest, TwoReplicasFireEachOfTwoThousandClocksOnce) {
  const std::string policy_path = absl::StrCat(getenv("TEST_TMPDIR"), "/short_policy.textproto");
  {
    std::ofstream out(policy_path);
    out << kShortPolicy;
  }
  ASSERT_OK(stack_.StartPayments());
  // First one replica that scans only at its start (nothing is due then), so that no clock
  // fires before the copies are made; then two replicas scanning every 250 ms.
  const std::vector<std::string> quiet = {"--sla_scan_interval=1h",
                                          absl::StrCat("--sla_policy_file=", policy_path),
                                          "--refund_interval=1h", "--close_interval=1h"};
  const std::vector<std::string> scanning = {"--sla_scan_interval=250ms", "--sla_scan_batch=100",
                                             absl::StrCat("--sla_policy_file=", policy_path),
                                             "--refund_interval=1h", "--close_interval=1h"};
  ASSERT_OK(stack_.StartSupport(quiet).status());

  const std::string checkout = Sign(stack_.keys(), "5e7c0000000000000000000000000009",
                                    {"SERVICE"}, {"payments.checkout"});
  const std::string buyer = Sign(stack_.keys(), kBuyer, {"BUYER"}, {});
  std::vector<std::string> originals;
  for (int i = 0; i < kApiTickets; ++i) {
    const std::string order = absl::StrCat("O-", i);
    ppb::CreatePaymentRequest pay;
    pay.set_request_id(absl::StrCat("pay-", i));
    pay.set_order_id(order);
    pay.set_buyer_id(kBuyer);
    pay.set_seller_id(kSeller);
    pay.mutable_amount()->set_currency_code("EUR");
    pay.mutable_amount()->set_amount_minor(4200);
    pay.set_payment_method_token("tok_sandbox_success");
    ppb::Payment payment;
    grpc::Status s = stack_.Retry(checkout, [&](grpc::ClientContext* c) {
      return stack_.payments().CreatePayment(c, pay, &payment);
    });
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::CreateTicketRequest create;
    create.set_request_id(absl::StrCat("t-", i));
    create.set_order_id(order);
    create.set_category(v1::NOT_RECEIVED);
    create.set_channel(v1::EMAIL);
    create.set_subject("Where is it?");
    create.set_body("Nothing arrived");
    v1::CreateTicketResponse created;
    s = stack_.Retry(buyer, [&](grpc::ClientContext* c) {
      return stack_.support(0).CreateTicket(c, create, &created);
    });
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message() << "\n"
                        << stack_.support_process(0).Output();
    originals.push_back(created.ticket().ticket_id());
  }

  // The test-only copies (see the top of the file).
  ASSERT_OK_AND_ASSIGN(pool_, common::db::ConnectionPool::Create(stack_.support_db().options));
  auto columns = [&](const std::string& table) {
    auto rows = pool_->Query(
        "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = ? AND "
        "table_name = ? AND column_name <> 'ticket_id' ORDER BY ordinal_position",
        {stack_.support_db().name, table});
    EXPECT_OK(rows.status());
    std::vector<std::string> names;
    if (rows.ok()) {
      for (const auto& r : *rows) names.push_back(*r.GetString("c"));
    }
    return absl::StrJoin(names, ", ");
  };
  const std::string ticket_columns = columns("tickets");
  const std::string clock_columns = columns("sla_clocks");
  ASSERT_OK(pool_->Execute("CREATE TABLE copy_numbers (n INT PRIMARY KEY)").status());
  std::vector<std::string> numbers;
  for (int n = 1; n <= kCopies; ++n) numbers.push_back(absl::StrCat("(", n, ")"));
  ASSERT_OK(pool_->Execute(absl::StrCat("INSERT INTO copy_numbers VALUES ",
                                        absl::StrJoin(numbers, ", ")))
                .status());
  const std::string new_id = "CONCAT('c', LPAD(k.n, 3, '0'), SUBSTRING(x.ticket_id, 5))";
  // Each copy about an order of its own (an order's first ticket is unique).
  std::vector<std::string> ticket_values = absl::StrSplit(ticket_columns, ", ");
  for (std::string& c : ticket_values) {
    if (c == "order_id") c = "CONCAT(x.order_id, '-', k.n)";
  }
  ASSERT_OK(
      pool_
          ->Execute(absl::StrCat("INSERT INTO tickets (ticket_id, ", ticket_columns, ") SELECT ",
                                 new_id, ", ", absl::StrJoin(ticket_values, ", "),
                                 " FROM tickets x JOIN copy_numbers k WHERE "
                                 "x.ticket_id LIKE 'tkt\\_%'"))
          .status());
  ASSERT_OK(pool_->Execute(absl::StrCat("INSERT INTO sla_clocks (ticket_id, ", clock_columns,
                                        ") SELECT ", new_id, ", ", clock_columns,
                                        " FROM sla_clocks x JOIN copy_numbers k WHERE "
                                        "x.ticket_id LIKE 'tkt\\_%'"))
                .status());
  // Creating and copying may take longer than the 45 s to the warning on a loaded machine:
  // move every level-1 FIRST_REPLY clock (still 60 s long, warning 15 s before due) to fall due
  // 35 to 65 s from now, spread by ticket id, so that both replicas see every warning and every
  // breach come due while they scan.
  ASSERT_OK(pool_->Execute(
                      "UPDATE sla_clocks SET "
                      "warn_at = UTC_TIMESTAMP(6) + INTERVAL 20 SECOND + "
                      "INTERVAL (CRC32(ticket_id) % 30000) * 1000 MICROSECOND, "
                      "due_at = UTC_TIMESTAMP(6) + INTERVAL 35 SECOND + "
                      "INTERVAL (CRC32(ticket_id) % 30000) * 1000 MICROSECOND, "
                      "started_at = UTC_TIMESTAMP(6) - INTERVAL 25 SECOND + "
                      "INTERVAL (CRC32(ticket_id) % 30000) * 1000 MICROSECOND "
                      "WHERE metric = 1 AND level = 1")
                .status());
  ASSERT_EQ(Count("SELECT COUNT(*) AS n FROM tickets"), kTickets);
  ASSERT_EQ(Count("SELECT COUNT(*) AS n FROM sla_clocks WHERE metric = 1 AND level = 1"),
            kTickets);
  // All fall due within one minute of the first creation.
  EXPECT_LE(Count("SELECT TIMESTAMPDIFF(SECOND, MIN(due_at), MAX(due_at)) AS n FROM sla_clocks "
                  "WHERE metric = 1 AND level = 1"),
            60);

  ASSERT_EQ(Count("SELECT COUNT(*) AS n FROM outbox_events WHERE topic = 'support.sla_warning'"),
            0);
  ASSERT_OK(stack_.RestartSupport(0, scanning));
  ASSERT_OK(stack_.StartSupport(scanning).status());

  // Wait for every breach (60 s after creation) and its escalation.
  const absl::Time end = absl::Now() + absl::Minutes(4);
  while (absl::Now() < end &&
         Count("SELECT COUNT(*) AS n FROM tickets WHERE level = 2") < kTickets) {
    absl::SleepFor(absl::Seconds(1));
  }
  absl::SleepFor(absl::Seconds(2));  // a duplicate, were there one, would show by now

  for (const char* topic : {"support.sla_warning", "support.sla_breached",
                            "support.ticket_escalated"}) {
    SCOPED_TRACE(topic);
    EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(DISTINCT event_key) AS n FROM outbox_events "
                                 "WHERE topic = '", topic, "'")),
              kTickets);
    EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) AS n FROM (SELECT event_key FROM "
                                 "outbox_events WHERE topic = '", topic,
                                 "' GROUP BY event_key HAVING COUNT(*) <> 1) AS d")),
              0);
  }
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM (SELECT ticket_id FROM ticket_history WHERE kind "
                  "= 'ESCALATED' GROUP BY ticket_id HAVING COUNT(*) = 1) AS d"),
            kTickets);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM tickets WHERE escalation_reason = 'SLA_BREACH'"),
            kTickets);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM sla_clocks WHERE metric = 1 AND level = 1 AND "
                  "state = 4"),
            kTickets);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM sla_clocks WHERE metric = 1 AND level = 2 AND "
                  "state = 1"),
            kTickets);

  // Each process counts what it did: together everything, each a part.
  const std::string warnings =
      "support_sla_warnings_total{level=\"L1_SELLER\",metric=\"FIRST_REPLY\",party=\"SELLER\"}";
  double total_warnings = 0, total_escalations = 0;
  for (int i = 0; i < stack_.replicas(); ++i) {
    const std::string metrics = marketplace::testing::ScrapeMetrics(stack_.support_metrics_port(i));
    const double w = std::max(0.0, marketplace::testing::MetricSample(metrics, warnings));
    const double e = std::max(
        0.0, marketplace::testing::MetricSample(metrics, "support_sla_escalations_total"));
    EXPECT_GT(w + e, 0) << "replica " << i << " did nothing\n" << metrics;
    total_warnings += w;
    total_escalations += e;
  }
  EXPECT_EQ(total_warnings, kTickets);
  EXPECT_EQ(total_escalations, kTickets);
}

}  // namespace
}  // namespace marketplace::support
