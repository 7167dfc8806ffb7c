// The SLA scanner and the ticket closer on a real MariaDB, with a manual clock: the ticket
// rules (Tickets) and MySqlTicketStore as support_server wires them, the time moved by hand.
#include <atomic>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "protos/marketplace/support/v1/support.pb.h"
#include "services/support/mysql_ticket_store.h"
#include "services/support/sla/policy.h"
#include "services/support/sla_metrics.h"
#include "services/support/sla_scanner.h"
#include "services/support/ticket_closer.h"
#include "services/support/tickets.h"

namespace marketplace::support {
namespace {

namespace v1 = ::marketplace::support::v1;
using common::testing::DatabaseTest;

const Actor kBuyer{.id = "acc_buyer", .buyer = true};
const Actor kSeller{.id = "acc_seller", .seller = true};
const Actor kAgent{.id = "acc_agent", .agent = true};

// Stored clock state numbers (mysql_ticket_store.cc).
constexpr int64_t kRunning = 1, kPaused = 2, kMet = 3, kBreached = 4, kCancelled = 5;

double CounterValue(prometheus::Registry& registry, const std::string& name,
                    const std::map<std::string, std::string>& labels) {
  double sum = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& l : m.label) found |= (l.name == k && l.value == v);
        match &= found;
      }
      if (match) sum += m.counter.value;
    }
  }
  return sum;
}

class SlaWorkersTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplySupportMigrations(pool()));
    store_ = std::make_unique<MySqlTicketStore>(&pool(), &clock_);
    ASSERT_OK_AND_ASSIGN(sla::Policy seed, sla::DefaultPolicy());
    ASSERT_OK(store_->SeedSlaPolicy(seed.proto()).status());
    metrics_ = std::make_unique<SlaMetrics>(metrics_registry_);
    tickets_ = std::make_unique<Tickets>(&clock_, TicketOptions{});
    tickets_->set_metrics(metrics_.get());
    scanner_ = std::make_unique<SlaScanner>(store_.get(), tickets_.get(), &clock_, metrics_.get(),
                                            SlaScannerOptions{});
    closer_ = std::make_unique<TicketCloser>(store_.get(), tickets_.get(), &clock_,
                                             TicketCloserOptions{});
  }

  TicketRecord Create(const std::string& order, pb::Category category = pb::NOT_RECEIVED,
                      v1::Channel channel = v1::EMAIL) {
    CreateCommand c;
    c.buyer_id = kBuyer.id;
    c.order_id = order;
    c.category = category;
    c.channel = channel;
    c.subject = "Where is it?";
    c.message.body = "Nothing arrived";
    OrderPayment payment{.payment_id = absl::StrCat("pay_", order), .order_id = order,
                         .buyer_id = kBuyer.id, .seller_id = kSeller.id,
                         .amount = {"EUR", 10000}};
    TicketRecord out;
    EXPECT_OK(store_->RunUnit([&](TicketTransaction& tx) -> absl::Status {
      absl::StatusOr<CreateResult> r = tickets_->Create(tx, kBuyer, c, payment);
      if (!r.ok()) return r.status();
      out = r->ticket;
      return absl::OkStatus();
    }));
    return out;
  }

  absl::Status Say(const Actor& who, const std::string& id, bool await_buyer = false) {
    NewMessage m;
    m.body = "hello";
    m.await_buyer = await_buyer;
    return store_->RunUnit([&](TicketTransaction& tx) {
      return tickets_->AddMessage(tx, who, id, m).status();
    });
  }

  absl::Status Resolve(const Actor& who, const std::string& id) {
    ResolveCommand c;
    c.ticket_id = id;
    c.outcome = pb::REPLACEMENT_SENT;
    c.reason_code = "CARRIER_LOST";
    c.explanation = "A new one is on its way.";
    return store_->RunUnit([&](TicketTransaction& tx) {
      return tickets_->Resolve(tx, who, c).status();
    });
  }

  int64_t Count(const std::string& sql, std::vector<common::db::SqlValue> params = {}) {
    auto rows = pool().Query(sql, params);
    EXPECT_OK(rows.status());
    if (!rows.ok() || rows->empty()) return -1;
    return *(*rows)[0].GetInt64("n");
  }
  int64_t Events(const std::string& topic, const std::string& ticket_id) {
    return Count("SELECT COUNT(*) AS n FROM outbox_events WHERE topic = ? AND event_key = ?",
                 {topic, ticket_id});
  }
  template <typename M>
  M LastEvent(const std::string& topic, const std::string& ticket_id) {
    auto rows = pool().Query(
        "SELECT payload FROM outbox_events WHERE topic = ? AND event_key = ? ORDER BY id DESC "
        "LIMIT 1",
        {topic, ticket_id});
    M m;
    EXPECT_OK(rows.status());
    if (rows.ok() && !rows->empty()) {
      EXPECT_TRUE(m.ParseFromString(*(*rows)[0].GetString("payload")));
    }
    return m;
  }
  int64_t ClockState(const std::string& id, v1::SlaMetric metric, v1::TicketLevel level) {
    return Count("SELECT state AS n FROM sla_clocks WHERE ticket_id = ? AND metric = ? AND "
                 "level = ?",
                 {id, static_cast<int64_t>(metric), static_cast<int64_t>(level)});
  }
  TicketRecord Get(const std::string& id) {
    auto t = store_->GetTicket(id);
    EXPECT_OK(t.status());
    return t.ok() && *t ? **t : TicketRecord{};
  }
  SlaScanResult Scan() {
    auto r = scanner_->RunOnce();
    EXPECT_OK(r.status());
    return r.ok() ? *r : SlaScanResult{};
  }
  TicketCloseResult Close() {
    auto r = closer_->RunOnce();
    EXPECT_OK(r.status());
    return r.ok() ? *r : TicketCloseResult{};
  }

  common::ManualClock clock_;
  prometheus::Registry metrics_registry_;
  std::unique_ptr<MySqlTicketStore> store_;
  std::unique_ptr<SlaMetrics> metrics_;
  std::unique_ptr<Tickets> tickets_;
  std::unique_ptr<SlaScanner> scanner_;
  std::unique_ptr<TicketCloser> closer_;
};

TEST_F(SlaWorkersTest, WarningAtSeventyFivePercentThenBreachEscalatesAgainstTheSeller) {
  const absl::Time t0 = clock_.Now();
  TicketRecord t = Create("O-1");  // EMAIL: FIRST_REPLY 6 h, warning at 4.5 h
  clock_.Advance(absl::Hours(4.5) - absl::Seconds(1));
  EXPECT_EQ(Scan().warnings, 0);
  EXPECT_EQ(Events("support.sla_warning", t.ticket_id), 0);

  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Scan().warnings, 1);
  EXPECT_EQ(Scan().warnings, 0);  // once
  ASSERT_EQ(Events("support.sla_warning", t.ticket_id), 1);
  auto w = LastEvent<v1::SlaWarning>("support.sla_warning", t.ticket_id);
  EXPECT_EQ(w.metric(), v1::FIRST_REPLY);
  EXPECT_EQ(w.level(), v1::L1_SELLER);
  EXPECT_EQ(w.party(), v1::SELLER);
  EXPECT_EQ(w.seller_id(), kSeller.id);
  EXPECT_EQ(w.due_at().seconds(), absl::ToUnixSeconds(t0 + absl::Hours(6)));
  EXPECT_EQ(CounterValue(metrics_registry_, "support_sla_warnings_total", {}), 1);
  EXPECT_EQ(Get(t.ticket_id).level, v1::L1_SELLER);

  clock_.Advance(absl::Hours(1.5) - absl::Seconds(1));  // just before due_at
  EXPECT_EQ(Scan().breaches, 0);
  clock_.Advance(absl::Seconds(1));
  const absl::Time breached_at = clock_.Now();
  SlaScanResult r = Scan();
  EXPECT_EQ(r.breaches, 1);
  EXPECT_EQ(r.escalations, 1);
  ASSERT_EQ(Events("support.sla_breached", t.ticket_id), 1);
  auto b = LastEvent<v1::SlaBreached>("support.sla_breached", t.ticket_id);
  EXPECT_EQ(b.metric(), v1::FIRST_REPLY);
  EXPECT_EQ(b.level(), v1::L1_SELLER);
  EXPECT_EQ(b.attributed_to(), v1::SELLER);
  EXPECT_EQ(ClockState(t.ticket_id, v1::FIRST_REPLY, v1::L1_SELLER), kBreached);

  // The escalation EscalateTicket makes: level 2, reason SLA_BREACH, the seller's window
  // cancelled, the OPERATOR's clocks running from now.
  TicketRecord after = Get(t.ticket_id);
  EXPECT_EQ(after.level, v1::L2_OPERATOR);
  EXPECT_EQ(after.escalation_reason, "SLA_BREACH");
  ASSERT_EQ(Events("support.ticket_escalated", t.ticket_id), 1);
  EXPECT_EQ(LastEvent<v1::TicketEscalated>("support.ticket_escalated", t.ticket_id).reason(),
            "SLA_BREACH");
  EXPECT_EQ(ClockState(t.ticket_id, v1::L1_WINDOW, v1::L1_SELLER), kCancelled);
  EXPECT_EQ(ClockState(t.ticket_id, v1::FIRST_REPLY, v1::L2_OPERATOR), kRunning);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM sla_clocks WHERE ticket_id = ? AND level = 2 AND "
                  "metric = 1 AND due_at = ?",
                  {t.ticket_id, breached_at + absl::Hours(24)}),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ticket_history WHERE ticket_id = ? AND kind IN "
                  "('SLA_WARNING', 'SLA_BREACHED', 'ESCALATED')",
                  {t.ticket_id}),
            3);
  EXPECT_EQ(CounterValue(metrics_registry_, "support_sla_clocks_total",
                         {{"metric", "FIRST_REPLY"},
                          {"level", "L1_SELLER"},
                          {"attributed_to", "SELLER"},
                          {"result", "BREACHED"}}),
            1);
  EXPECT_EQ(Scan().breaches, 0);  // nothing fires twice

  // Level 2: the OPERATOR's first reply (24 h) is missed: attributed to the OPERATOR, and the
  // ticket stays where it is (no further level).
  clock_.Advance(absl::Hours(24));
  r = Scan();
  EXPECT_EQ(r.breaches, 1);
  EXPECT_EQ(r.escalations, 0);
  EXPECT_EQ(r.warnings, 0);  // a late scan past both reports the breach only
  ASSERT_EQ(Events("support.sla_breached", t.ticket_id), 2);
  b = LastEvent<v1::SlaBreached>("support.sla_breached", t.ticket_id);
  EXPECT_EQ(b.level(), v1::L2_OPERATOR);
  EXPECT_EQ(b.metric(), v1::FIRST_REPLY);
  EXPECT_EQ(b.attributed_to(), v1::OPERATOR);
  EXPECT_EQ(Events("support.ticket_escalated", t.ticket_id), 1);
  EXPECT_EQ(Get(t.ticket_id).level, v1::L2_OPERATOR);
  EXPECT_EQ(CounterValue(metrics_registry_, "support_sla_clocks_total",
                         {{"attributed_to", "OPERATOR"}, {"result", "BREACHED"}}),
            1);
}

TEST_F(SlaWorkersTest, ASellerReplyInTimeIsMetAndNothingFires) {
  TicketRecord t = Create("O-1");
  clock_.Advance(absl::Hours(5));  // warned at 4.5 h
  EXPECT_EQ(Scan().warnings, 1);
  ASSERT_OK(Say(kSeller, t.ticket_id));
  EXPECT_EQ(ClockState(t.ticket_id, v1::FIRST_REPLY, v1::L1_SELLER), kMet);
  EXPECT_EQ(ClockState(t.ticket_id, v1::L1_WINDOW, v1::L1_SELLER), kMet);
  clock_.Advance(absl::Hours(100));
  SlaScanResult r = Scan();
  EXPECT_EQ(r.breaches, 0);
  EXPECT_EQ(Events("support.sla_breached", t.ticket_id), 0);
  EXPECT_EQ(Get(t.ticket_id).level, v1::L1_SELLER);
  EXPECT_EQ(CounterValue(metrics_registry_, "support_sla_clocks_total",
                         {{"metric", "FIRST_REPLY"}, {"result", "MET"}}),
            1);
}

TEST_F(SlaWorkersTest, PausedTimeIsNotCountedAndLevelTwoBreachesAreTheOperators) {
  // COUNTERFEIT opens at level 2: REQUESTER_WAIT 72 h for the OPERATOR (warning after 54 h).
  TicketRecord t = Create("O-1", pb::COUNTERFEIT);
  clock_.Advance(absl::Hours(2));
  ASSERT_OK(Say(kAgent, t.ticket_id, /*await_buyer=*/true));  // 70 h left, paused
  EXPECT_EQ(ClockState(t.ticket_id, v1::REQUESTER_WAIT, v1::L2_OPERATOR), kPaused);
  clock_.Advance(absl::Hours(200));  // the buyer takes long: not counted
  SlaScanResult r = Scan();
  EXPECT_EQ(r.warnings + r.breaches, 0);
  ASSERT_OK(Say(kBuyer, t.ticket_id));  // resumed: due in 70 h, warning when 18 h are left
  EXPECT_EQ(ClockState(t.ticket_id, v1::REQUESTER_WAIT, v1::L2_OPERATOR), kRunning);
  clock_.Advance(absl::Hours(52) - absl::Seconds(1));
  EXPECT_EQ(Scan().warnings, 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Scan().warnings, 1);
  EXPECT_EQ(LastEvent<v1::SlaWarning>("support.sla_warning", t.ticket_id).party(), v1::OPERATOR);
  clock_.Advance(absl::Hours(18) - absl::Seconds(1));
  EXPECT_EQ(Scan().breaches, 0);
  clock_.Advance(absl::Seconds(1));
  r = Scan();
  EXPECT_EQ(r.breaches, 1);
  EXPECT_EQ(r.escalations, 0);
  auto b = LastEvent<v1::SlaBreached>("support.sla_breached", t.ticket_id);
  EXPECT_EQ(b.metric(), v1::REQUESTER_WAIT);
  EXPECT_EQ(b.attributed_to(), v1::OPERATOR);
  EXPECT_EQ(Events("support.ticket_escalated", t.ticket_id), 1);  // COUNTERFEIT's opening only
}

TEST_F(SlaWorkersTest, EscalatedSolvedAndMergedTicketsClocksDoNotFire) {
  // Escalated by the seller before its first reply: its level-1 clocks stop (CANCELLED).
  TicketRecord escalated = Create("O-1");
  ASSERT_OK(store_->RunUnit([&](TicketTransaction& tx) {
    return tickets_->Escalate(tx, kSeller, escalated.ticket_id, "").status();
  }));
  EXPECT_EQ(ClockState(escalated.ticket_id, v1::FIRST_REPLY, v1::L1_SELLER), kCancelled);
  EXPECT_EQ(ClockState(escalated.ticket_id, v1::L1_WINDOW, v1::L1_SELLER), kCancelled);
  // Solved by the seller without a public message: the reply clocks stop at SOLVED; the
  // scanner cancels what still runs (L1_WINDOW) when it comes due.
  TicketRecord solved = Create("O-2");
  ASSERT_OK(Resolve(kSeller, solved.ticket_id));
  EXPECT_EQ(ClockState(solved.ticket_id, v1::FIRST_REPLY, v1::L1_SELLER), kCancelled);
  // Merged into another ticket of the same order (MergeTickets): a second open ticket of the
  // order, with its own FIRST_REPLY clock, written straight to the store (as a follow-up of
  // another ticket: the order's first ticket is unique).
  TicketRecord target = Create("O-3");
  TicketRecord source = target;
  source.ticket_id = "tkt_merge_source";
  source.follow_up_of = "tkt_merge_predecessor";
  ASSERT_OK_AND_ASSIGN(sla::Policy policy, sla::DefaultPolicy());
  ASSERT_OK_AND_ASSIGN(sla::ClockState first,
                       sla::StartClock(policy, v1::L1_SELLER, v1::EMAIL, v1::FIRST_REPLY,
                                       v1::SELLER, clock_.Now()));
  first.policy_version = 1;
  ASSERT_OK(store_->RunUnit([&](TicketTransaction& tx) -> absl::Status {
    absl::Status s = tx.InsertTicket(source);
    if (!s.ok()) return s;
    return tx.InsertClocks(source.ticket_id, {first}, clock_.Now());
  }));
  ASSERT_OK(store_->RunUnit([&](TicketTransaction& tx) {
    return tickets_->Merge(tx, kAgent, target.ticket_id, source.ticket_id).status();
  }));
  EXPECT_EQ(ClockState(source.ticket_id, v1::FIRST_REPLY, v1::L1_SELLER), kCancelled);

  clock_.Advance(absl::Hours(7));  // every level-1 FIRST_REPLY is past due
  SlaScanResult r = Scan();
  // Only the merge target fires.
  EXPECT_EQ(r.breaches, 1);
  EXPECT_EQ(r.escalations, 1);
  EXPECT_EQ(Events("support.sla_breached", target.ticket_id), 1);
  EXPECT_EQ(Events("support.sla_breached", source.ticket_id), 0);
  EXPECT_EQ(Events("support.sla_breached", solved.ticket_id), 0);
  EXPECT_EQ(Events("support.sla_breached", escalated.ticket_id), 0);
  EXPECT_EQ(Events("support.sla_warning", solved.ticket_id), 0);
  EXPECT_EQ(ClockState(solved.ticket_id, v1::FIRST_REPLY, v1::L1_SELLER), kCancelled);
  EXPECT_EQ(Get(solved.ticket_id).level, v1::L1_SELLER);
}

TEST_F(SlaWorkersTest, SolvedTicketsCloseAfterFourDaysAndAskForARatingOnce) {
  TicketRecord t = Create("O-1");
  ASSERT_OK(Say(kSeller, t.ticket_id));
  const absl::Time solved_at = clock_.Now();
  ASSERT_OK(Resolve(kSeller, t.ticket_id));

  clock_.Advance(absl::Hours(24) - absl::Seconds(1));
  EXPECT_EQ(Close().csat_requests, 0);
  clock_.Advance(absl::Seconds(1));  // the policy's csat_delay: 24 h
  TicketCloseResult r = Close();
  EXPECT_EQ(r.csat_requests, 1);
  EXPECT_EQ(r.closed, 0);
  EXPECT_EQ(Close().csat_requests, 0);  // once
  ASSERT_EQ(Events("support.csat_requested", t.ticket_id), 1);
  auto e = LastEvent<v1::CsatRequested>("support.csat_requested", t.ticket_id);
  EXPECT_EQ(e.buyer_id(), kBuyer.id);
  EXPECT_EQ(e.seller_id(), kSeller.id);
  EXPECT_EQ(e.order_id(), "O-1");
  EXPECT_EQ(e.outcome(), pb::REPLACEMENT_SENT);
  EXPECT_EQ(e.solved_at().seconds(), absl::ToUnixSeconds(solved_at));
  EXPECT_EQ(e.rate_before().seconds(), absl::ToUnixSeconds(solved_at + absl::Hours(28 * 24)));
  EXPECT_EQ(Get(t.ticket_id).status, pb::SOLVED);

  // The buyer may reopen until 4 days after SOLVED; the closer closes it then.
  clock_.Advance(absl::Hours(72) - absl::Seconds(1));
  EXPECT_EQ(Close().closed, 0);
  EXPECT_EQ(Get(t.ticket_id).status, pb::SOLVED);
  clock_.Advance(absl::Seconds(1));
  r = Close();
  EXPECT_EQ(r.closed, 1);
  EXPECT_EQ(r.csat_requests, 0);
  TicketRecord closed = Get(t.ticket_id);
  EXPECT_EQ(closed.status, pb::CLOSED);
  ASSERT_TRUE(closed.closed_at.has_value());
  EXPECT_EQ(*closed.closed_at, solved_at + absl::Hours(96));
  EXPECT_EQ(Close().closed, 0);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ticket_history WHERE ticket_id = ? AND kind = "
                  "'STATUS' AND detail = 'SOLVED -> CLOSED'",
                  {t.ticket_id}),
            1);
  absl::Status reopen = store_->RunUnit([&](TicketTransaction& tx) {
    return tickets_->Reopen(tx, kBuyer, t.ticket_id, "again").status();
  });
  EXPECT_EQ(reopen.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(reopen.message()), ::testing::HasSubstr("closed"));
  EXPECT_EQ(Events("support.csat_requested", t.ticket_id), 1);
}

TEST_F(SlaWorkersTest, ATicketClosedBeforeItsRatingRequestStillGetsItOnce) {
  // A policy with csat_delay 3 days and close_after 1 h: closed first, asked later.
  ASSERT_OK_AND_ASSIGN(std::optional<v1::SlaPolicy> current, store_->CurrentSlaPolicy());
  ASSERT_TRUE(current.has_value());
  v1::SlaPolicy next = *current;
  next.set_version(2);
  next.mutable_csat_delay()->set_seconds(3 * 24 * 3600);
  next.mutable_close_after()->set_seconds(3600);
  ASSERT_OK(store_->RunUnit([&](TicketTransaction& tx) { return tx.InsertSlaPolicy(next); }));
  TicketRecord t = Create("O-1");
  ASSERT_OK(Resolve(kSeller, t.ticket_id));
  clock_.Advance(absl::Hours(2));
  TicketCloseResult r = Close();
  EXPECT_EQ(r.closed, 1);
  EXPECT_EQ(r.csat_requests, 0);
  clock_.Advance(absl::Hours(70));
  r = Close();
  EXPECT_EQ(r.csat_requests, 1);
  EXPECT_EQ(Close().csat_requests, 0);
  EXPECT_EQ(Events("support.csat_requested", t.ticket_id), 1);
}

// Two scanners (two replicas: each its own pool and store) on the same 300 due clocks at the
// same time: every warning, breach and escalation is written once, and both did part of it.
TEST_F(SlaWorkersTest, TwoConcurrentScannersFireEachClockOnce) {
  constexpr int kTickets = 150;
  std::vector<std::string> ids;
  for (int i = 0; i < kTickets; ++i) ids.push_back(Create(absl::StrCat("O-", i)).ticket_id);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<common::db::ConnectionPool> other_pool, NewPool(4));
  MySqlTicketStore other_store(other_pool.get(), &clock_);
  prometheus::Registry other_registry;
  SlaMetrics other_metrics(other_registry);
  Tickets other_tickets(&clock_, TicketOptions{});
  SlaScannerOptions small{.batch_size = 40};
  SlaScanner a(store_.get(), tickets_.get(), &clock_, metrics_.get(), small);
  SlaScanner b(&other_store, &other_tickets, &clock_, &other_metrics, small);

  auto race = [&](int* warnings, int* breaches, int* escalations) {
    std::atomic<int> done{0};
    SlaScanResult ra_total, rb_total;
    auto drain = [&](SlaScanner& s, SlaScanResult& total) {
      for (;;) {
        absl::StatusOr<SlaScanResult> r = s.RunOnce();
        ASSERT_OK(r.status());
        total.warnings += r->warnings;
        total.breaches += r->breaches;
        total.escalations += r->escalations;
        if (r->warnings + r->breaches + r->cancelled + r->skipped == 0) break;
      }
      done++;
    };
    std::thread ta([&] { drain(a, ra_total); });
    std::thread tb([&] { drain(b, rb_total); });
    ta.join();
    tb.join();
    *warnings = ra_total.warnings + rb_total.warnings;
    *breaches = ra_total.breaches + rb_total.breaches;
    *escalations = ra_total.escalations + rb_total.escalations;
    return std::make_pair(ra_total.warnings + ra_total.breaches,
                          rb_total.warnings + rb_total.breaches);
  };

  clock_.Advance(absl::Hours(5));  // every FIRST_REPLY warns
  int warnings = 0, breaches = 0, escalations = 0;
  auto [wa, wb] = race(&warnings, &breaches, &escalations);
  EXPECT_EQ(warnings, kTickets);
  EXPECT_EQ(breaches, 0);
  clock_.Advance(absl::Hours(1));  // every FIRST_REPLY is breached and escalates
  auto [ba, bb] = race(&warnings, &breaches, &escalations);
  EXPECT_EQ(breaches, kTickets);
  EXPECT_EQ(escalations, kTickets);
  EXPECT_GT(wa + ba, 0);
  EXPECT_GT(wb + bb, 0);
  for (const std::string& id : ids) {
    EXPECT_EQ(Events("support.sla_warning", id), 1) << id;
    EXPECT_EQ(Events("support.sla_breached", id), 1) << id;
    EXPECT_EQ(Events("support.ticket_escalated", id), 1) << id;
    EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ticket_history WHERE ticket_id = ? AND kind = "
                    "'ESCALATED'",
                    {id}),
              1);
  }
  EXPECT_EQ(CounterValue(metrics_registry_, "support_sla_warnings_total", {}) +
                CounterValue(other_registry, "support_sla_warnings_total", {}),
            kTickets);
}

// Two passes claiming at once take disjoint clocks; a claimed clock stays out of other claims
// until its lease ends or it is released.
TEST_F(SlaWorkersTest, ClaimsAreDisjointUntilTheLeaseEndsOrARelease) {
  constexpr int kTickets = 30;
  for (int i = 0; i < kTickets; ++i) Create(absl::StrCat("O-", i));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<common::db::ConnectionPool> other_pool, NewPool(4));
  MySqlTicketStore other_store(other_pool.get(), &clock_);
  clock_.Advance(absl::Hours(5));  // every FIRST_REPLY is past its warning point
  const absl::Duration lease = absl::Minutes(1);
  auto key = [](const DueClock& c) {
    return absl::StrCat(c.ticket_id, "/", c.metric, "/", c.level);
  };

  std::vector<DueClock> a, b;
  std::thread ta([&] {
    for (int i = 0; i < 3; ++i) {
      auto got = store_->ClaimDueClocks(clock_.Now(), lease, 7);
      ASSERT_OK(got.status());
      a.insert(a.end(), got->begin(), got->end());
    }
  });
  std::thread tb([&] {
    for (int i = 0; i < 3; ++i) {
      auto got = other_store.ClaimDueClocks(clock_.Now(), lease, 7);
      ASSERT_OK(got.status());
      b.insert(b.end(), got->begin(), got->end());
    }
  });
  ta.join();
  tb.join();
  std::set<std::string> seen;
  for (const DueClock& c : a) EXPECT_TRUE(seen.insert(key(c)).second) << key(c);
  for (const DueClock& c : b) EXPECT_TRUE(seen.insert(key(c)).second) << key(c) << " twice";
  EXPECT_EQ(a.size() + b.size(), std::min<size_t>(42, kTickets));

  // Claimed: none for another pass, until a release or the lease's end.
  ASSERT_OK_AND_ASSIGN(std::vector<DueClock> none, store_->ClaimDueClocks(clock_.Now(), lease, 100));
  EXPECT_TRUE(none.empty());
  ASSERT_FALSE(a.empty());
  ASSERT_OK(store_->ReleaseClockClaim(a[0]));
  ASSERT_OK_AND_ASSIGN(std::vector<DueClock> released,
                       other_store.ClaimDueClocks(clock_.Now(), lease, 100));
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(key(released[0]), key(a[0]));
  clock_.Advance(lease);
  ASSERT_OK_AND_ASSIGN(std::vector<DueClock> again, store_->ClaimDueClocks(clock_.Now(), lease, 100));
  EXPECT_EQ(again.size(), static_cast<size_t>(kTickets));

  // The scanner, once their lease ended, warns each once.
  clock_.Advance(lease);
  EXPECT_EQ(Scan().warnings, kTickets);
  EXPECT_EQ(Scan().warnings, 0);
}

// A seller's reply racing the scanner's breach of the same clock: the clock ends in one state,
// and the ticket is escalated exactly when the breach won.
TEST_F(SlaWorkersTest, AReplyRacingTheBreachEndsInOneState) {
  constexpr int kTickets = 40;
  std::vector<std::string> ids;
  for (int i = 0; i < kTickets; ++i) ids.push_back(Create(absl::StrCat("O-", i)).ticket_id);
  clock_.Advance(absl::Hours(6) - absl::Milliseconds(1));
  // The replies are on time by the clock (the clock does not move during the race); move the
  // scanner's view past due with a clock of its own.
  common::ManualClock late(clock_.Now() + absl::Seconds(1));
  SlaScanner scanner(store_.get(), tickets_.get(), &late, nullptr, SlaScannerOptions{});
  std::thread replies([&] {
    for (const std::string& id : ids) EXPECT_OK(Say(kSeller, id));
  });
  std::thread scan([&] {
    for (int i = 0; i < 20; ++i) EXPECT_OK(scanner.RunOnce().status());
  });
  replies.join();
  scan.join();
  for (const std::string& id : ids) {
    const int64_t state = ClockState(id, v1::FIRST_REPLY, v1::L1_SELLER);
    const int64_t breached = Events("support.sla_breached", id);
    const int64_t escalated = Events("support.ticket_escalated", id);
    if (state == kMet) {
      EXPECT_EQ(breached, 0) << id;
      EXPECT_EQ(escalated, 0) << id;
      EXPECT_EQ(Get(id).level, v1::L1_SELLER);
    } else {
      EXPECT_EQ(state, kBreached) << id;
      EXPECT_EQ(breached, 1) << id;
      EXPECT_EQ(escalated, 1) << id;
    }
  }
}


TEST_F(SlaWorkersTest, AnAgentsQuestionToTheSellerAtLevelTwoRunsTheSellersClock) {
  NewMessage ask;
  ask.body = "Please send the tracking number.";
  ask.await_seller = true;
  auto say = [&](const Actor& who, const std::string& id, const NewMessage& m) {
    return store_->RunUnit([&](TicketTransaction& tx) {
      return tickets_->AddMessage(tx, who, id, m).status();
    });
  };
  TicketRecord t = Create("O-1");
  // Level 1: the seller answers anyway; parties never ask the seller this way.
  EXPECT_EQ(common::ReasonOf(say(kAgent, t.ticket_id, ask)), "WRONG_LEVEL");
  EXPECT_EQ(say(kBuyer, t.ticket_id, ask).code(), absl::StatusCode::kPermissionDenied);
  ASSERT_OK(store_->RunUnit([&](TicketTransaction& tx) {
    return tickets_->Escalate(tx, kAgent, t.ticket_id, "").status();
  }));
  EXPECT_EQ(say(kSeller, t.ticket_id, ask).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ClockState(t.ticket_id, v1::SELLER_REPLY, v1::L2_OPERATOR), -1);  // no row

  const absl::Time asked = clock_.Now();
  ASSERT_OK(say(kAgent, t.ticket_id, ask));
  EXPECT_EQ(ClockState(t.ticket_id, v1::SELLER_REPLY, v1::L2_OPERATOR), kRunning);
  ASSERT_OK(say(kAgent, t.ticket_id, ask));  // asked again: the running clock keeps its start
  clock_.Advance(absl::Hours(18));            // 75 % of 24 h
  Scan();
  auto w = LastEvent<v1::SlaWarning>("support.sla_warning", t.ticket_id);
  ASSERT_EQ(w.metric(), v1::SELLER_REPLY);
  EXPECT_EQ(w.party(), v1::SELLER);
  EXPECT_EQ(w.due_at().seconds(), absl::ToUnixSeconds(asked + absl::Hours(24)));
  clock_.Advance(absl::Hours(6));
  const int64_t escalations = Events("support.ticket_escalated", t.ticket_id);
  Scan();
  auto b = LastEvent<v1::SlaBreached>("support.sla_breached", t.ticket_id);
  ASSERT_EQ(b.metric(), v1::SELLER_REPLY);
  EXPECT_EQ(b.level(), v1::L2_OPERATOR);
  EXPECT_EQ(b.attributed_to(), v1::SELLER);  // the one level-2 breach that is the seller's
  EXPECT_EQ(Events("support.ticket_escalated", t.ticket_id), escalations);  // never escalates
  EXPECT_EQ(ClockState(t.ticket_id, v1::SELLER_REPLY, v1::L2_OPERATOR), kBreached);
  EXPECT_EQ(CounterValue(metrics_registry_, "support_sla_clocks_total",
                         {{"metric", "SELLER_REPLY"}, {"attributed_to", "SELLER"},
                          {"result", "BREACHED"}}),
            1);

  // Asked again after the breach: a new clock; the seller's public reply meets it.
  ASSERT_OK(say(kAgent, t.ticket_id, ask));
  EXPECT_EQ(ClockState(t.ticket_id, v1::SELLER_REPLY, v1::L2_OPERATOR), kRunning);
  clock_.Advance(absl::Hours(1));
  ASSERT_OK(Say(kSeller, t.ticket_id));
  EXPECT_EQ(ClockState(t.ticket_id, v1::SELLER_REPLY, v1::L2_OPERATOR), kMet);
  // Solved while the seller is awaited: its clock stops without a result.
  ASSERT_OK(say(kAgent, t.ticket_id, ask));
  ASSERT_OK(Resolve(kAgent, t.ticket_id));
  EXPECT_EQ(ClockState(t.ticket_id, v1::SELLER_REPLY, v1::L2_OPERATOR), kCancelled);
  EXPECT_EQ(common::ReasonOf(say(kAgent, t.ticket_id, ask)), "ALREADY_SOLVED");
}

TEST_F(SlaWorkersTest, AReopenedTicketRunsItsReplyClocksAgain) {
  // Answered, solved, reopened: the buyer's message waits for the seller's next reply.
  TicketRecord answered = Create("O-1");
  ASSERT_OK(Say(kSeller, answered.ticket_id));
  ASSERT_OK(Resolve(kSeller, answered.ticket_id));
  clock_.Advance(absl::Hours(30));
  const absl::Time reopened = clock_.Now();
  ASSERT_OK(store_->RunUnit([&](TicketTransaction& tx) {
    return tickets_->Reopen(tx, kBuyer, answered.ticket_id, "It broke again").status();
  }));
  EXPECT_EQ(ClockState(answered.ticket_id, v1::NEXT_REPLY, v1::L1_SELLER), kRunning);
  // Solved without a reply, reopened by the buyer's message: FIRST_REPLY runs from now.
  TicketRecord unanswered = Create("O-2");
  ASSERT_OK(Resolve(kSeller, unanswered.ticket_id));
  EXPECT_EQ(ClockState(unanswered.ticket_id, v1::FIRST_REPLY, v1::L1_SELLER), kCancelled);
  ASSERT_OK(Say(kBuyer, unanswered.ticket_id));
  EXPECT_EQ(Get(unanswered.ticket_id).status, pb::OPEN);
  EXPECT_EQ(ClockState(unanswered.ticket_id, v1::FIRST_REPLY, v1::L1_SELLER), kRunning);

  // The restarted clocks fire: NEXT_REPLY (24 h) breaches and escalates against the seller.
  clock_.Advance(absl::Hours(24));
  Scan();
  auto b = LastEvent<v1::SlaBreached>("support.sla_breached", answered.ticket_id);
  EXPECT_EQ(b.metric(), v1::NEXT_REPLY);
  EXPECT_EQ(b.attributed_to(), v1::SELLER);
  EXPECT_EQ(Get(answered.ticket_id).level, v1::L2_OPERATOR);
  auto first = LastEvent<v1::SlaBreached>("support.sla_breached", unanswered.ticket_id);
  EXPECT_EQ(first.metric(), v1::FIRST_REPLY);  // EMAIL: 6 h from the reopening message
  EXPECT_GE(clock_.Now(), reopened + absl::Hours(24));
}

}  // namespace
}  // namespace marketplace::support
