// sellerkpi through its real server: sellerkpi_server, identity_server and payments_server as
// real processes on one MariaDB (a database each). Every method answers through the
// permission table; events recorded twice and out of order give the same KPIs; bad input is
// refused naming the field and writes nothing; another seller's data answers NOT_FOUND like
// an unknown seller; payments' relay delivers its events to sellerkpi's EventSink.
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "common/tls/test_tls.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/events/v1/events.grpc.pb.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.grpc.pb.h"
#include "protos/marketplace/support/v1/support.pb.h"
#include "tests/identity/identity_process.h"
#include "tests/support/subprocess.h"

namespace marketplace::testing {
namespace {

namespace kpi = ::marketplace::sellerkpi::v1;
namespace payments_v1 = ::marketplace::payments::v1;
namespace events_v1 = ::marketplace::events::v1;
namespace support_v1 = ::marketplace::support::v1;
using identity_v1::Identity;
using KpiStub = kpi::SellerKpiService::Stub;

bool Serving(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  return grpc::health::v1::Health::NewStub(channel)->Check(&ctx, req, &resp).ok() &&
         resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

template <typename Stub, typename Request, typename Response>
grpc::Status Call(Stub* stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                  const Request& request, Response* response, const std::string& token) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  return (stub->*method)(&ctx, request, response);
}

// A fresh seller id of 32 lowercase hex digits (sellers of test data need no account).
std::string NewSellerId() {
  static std::mt19937_64 rng(absl::ToUnixNanos(absl::Now()));
  return absl::StrFormat("%016x%016x", rng(), rng());
}

std::string UniqueId(const std::string& prefix) {
  static int n = 0;
  return absl::StrCat(prefix, "-", absl::ToUnixMicros(absl::Now()), "-", ++n);
}

kpi::SellerEvent Event(const std::string& id, const std::string& seller, absl::Time at,
                       const std::string& order) {
  kpi::SellerEvent e;
  e.set_event_id(id);
  e.set_seller_id(seller);
  *e.mutable_occurred_at() = common::ToTimestamp(at);
  if (!order.empty()) e.mutable_links()->set_order_id(order);
  return e;
}

// A seller's mix of events: `orders` orders over the last days, some rated, disputed,
// claimed, cancelled, shipped late, answered late. Ids are prefixed by `prefix`.
std::vector<kpi::SellerEvent> Mix(const std::string& prefix, const std::string& seller,
                                  int orders) {
  std::vector<kpi::SellerEvent> out;
  const absl::Time now = absl::Now() - absl::Minutes(1);
  for (int i = 0; i < orders; ++i) {
    const std::string order = absl::StrCat("order-", i);
    const absl::Time placed = now - absl::Hours(24 * (i % 20)) - absl::Minutes(i);
    kpi::SellerEvent e = Event(absl::StrCat(prefix, "-placed-", i), seller, placed, order);
    e.mutable_order_placed();
    out.push_back(e);
    kpi::SellerEvent s = Event(absl::StrCat(prefix, "-ship-", i), seller, placed, order);
    s.mutable_shipment_confirmed()->set_late(i % 7 == 0);
    s.mutable_shipment_confirmed()->set_valid_tracking(i % 5 != 0);
    out.push_back(s);
    if (i % 4 == 0) {
      kpi::SellerEvent r = Event(absl::StrCat(prefix, "-rating-", i), seller, now, order);
      r.mutable_rating()->set_stars(1 + i % 5);
      out.push_back(r);
    }
    if (i % 9 == 0) {
      kpi::SellerEvent d = Event(absl::StrCat(prefix, "-dispute-", i), seller, now, order);
      d.mutable_dispute_opened();
      out.push_back(d);
    }
    if (i % 6 == 0) {
      kpi::SellerEvent c = Event(absl::StrCat(prefix, "-claim-", i), seller, now, order);
      c.mutable_claim_filed()->set_counts_against_seller(true);
      out.push_back(c);
      if (i % 12 == 0) {
        kpi::SellerEvent d =
            Event(absl::StrCat(prefix, "-decided-", i), seller, now + absl::Seconds(1), order);
        d.mutable_claim_decided()->set_favoured(kpi::FAVOURS_SELLER);
        d.mutable_claim_decided()->set_counts_against_seller(false);
        out.push_back(d);
      }
    }
    if (i % 11 == 0) {
      kpi::SellerEvent x = Event(absl::StrCat(prefix, "-cancel-", i), seller, now, order);
      x.mutable_order_cancelled()->set_by(kpi::SELLER_CANCELLED);
      out.push_back(x);
    }
  }
  for (int i = 0; i < orders / 3; ++i) {
    kpi::SellerEvent f = Event(absl::StrCat(prefix, "-reply-", i), seller, now, "");
    f.mutable_links()->set_ticket_id(absl::StrCat("ticket-", i));
    f.mutable_ticket_first_response()->set_seconds(600 * (i + 1));
    f.mutable_ticket_first_response()->set_within_sla(i % 4 != 0);
    f.mutable_ticket_first_response()->set_responder(kpi::ATTRIBUTED_SELLER);
    out.push_back(f);
  }
  return out;
}

class SellerKpiServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const int kpi_port = PickFreePort();
    const int payments_port = PickFreePort();
    kpi_target_ = new std::string(absl::StrCat("127.0.0.1:", kpi_port));
    const std::string payments_target = absl::StrCat("127.0.0.1:", payments_port);
    auto identity = IdentityProcess::Start();
    ASSERT_TRUE(identity.ok()) << identity.status();
    identity_ = identity->release();
    auto admin = Login(identity_->stub(), identity_->admin_email(), identity_->admin_password());
    ASSERT_TRUE(admin.ok()) << admin.status();
    tokens_ = new std::map<std::string, std::string>();
    (*tokens_)["admin"] = admin->tokens().access_token();
    (*tokens_)["anonymous"] = "";
    for (auto [who, role] : {std::pair{"support", identity_v1::SUPPORT_AGENT},
                             std::pair{"moderator", identity_v1::MODERATOR}}) {
      identity_v1::CreateStaffAccountRequest req;
      req.set_email(UniqueEmail(who));
      req.set_password(kGoodPassword);
      req.set_display_name(who);
      req.set_role(role);
      identity_v1::Account account;
      grpc::Status s = CallIdentity(identity_->stub(), &Identity::Stub::CreateStaffAccount, req,
                                    &account, Token("admin"));
      ASSERT_TRUE(s.ok()) << s.error_message();
      auto login = Login(identity_->stub(), req.email(), kGoodPassword);
      ASSERT_TRUE(login.ok()) << login.status();
      (*tokens_)[who] = login->tokens().access_token();
    }
    for (auto [who, role] : {std::pair{"buyer", identity_v1::BUYER},
                             std::pair{"seller", identity_v1::SELLER},
                             std::pair{"other_seller", identity_v1::SELLER}}) {
      auto login = SignUpAndLogin(identity_->stub(), role, UniqueEmail(who));
      ASSERT_TRUE(login.ok()) << login.status();
      (*tokens_)[who] = login->tokens().access_token();
      (*tokens_)[std::string(who) + "_id"] = login->account().account_id();
    }
    std::vector<std::string> payments_credentials;
    for (auto [who, scopes] :
         {std::pair<const char*, std::vector<std::string>>{"writer", {"sellerkpi.events.write"}},
          {"reader", {"sellerkpi.read"}},
          {"payments", {"identity.accounts.read", "payments.events.publish"}},
          {"support_relay", {"support.events.publish"}}}) {
      identity_v1::CreateServiceAccountRequest req;
      req.set_display_name(who);
      for (const auto& scope : scopes) req.add_scopes(scope);
      req.set_request_id(UniqueId(who));
      identity_v1::CreateServiceAccountResponse created;
      grpc::Status s = CallIdentity(identity_->stub(), &Identity::Stub::CreateServiceAccount,
                                    req, &created, Token("admin"));
      ASSERT_TRUE(s.ok()) << s.error_message();
      if (std::string(who) == "payments") {
        payments_credentials = {"--service_client_id=" + created.client_id(),
                                "--service_client_secret=" + created.client_secret()};
      }
      identity_v1::IssueServiceTokenRequest issue;
      issue.set_client_id(created.client_id());
      issue.set_client_secret(created.client_secret());
      identity_v1::IssueServiceTokenResponse token;
      s = CallIdentity(identity_->stub(), &Identity::Stub::IssueServiceToken, issue, &token);
      ASSERT_TRUE(s.ok()) << s.error_message();
      (*tokens_)[who] = token.access_token();
    }

    auto kpi_db = IdentityProcess::NewDatabaseArgs();
    ASSERT_TRUE(kpi_db.ok()) << kpi_db.status();
    std::vector<std::string> kpi_args = {
        "--listen_address=" + *kpi_target_, "--metrics_address=127.0.0.1:0",
        "--identity_address=" + identity_->target(),
        "--thresholds_file=" + RunfilePath("services/sellerkpi/data/thresholds.textproto"),
        // The tests evaluate explicitly; the background pass runs once at start.
        "--evaluation_interval=24h", "--drain_timeout=2s", "--log_level=warn"};
    kpi_args.insert(kpi_args.end(), kpi_db->begin(), kpi_db->end());
    for (std::string& flag : TestTlsFlags()) kpi_args.push_back(std::move(flag));
    auto kpi_process = Subprocess::Start(RunfilePath("services/sellerkpi/sellerkpi_server"),
                                         kpi_args);
    ASSERT_TRUE(kpi_process.ok()) << kpi_process.status();
    kpi_ = new Subprocess(*std::move(kpi_process));

    auto payments_db = IdentityProcess::NewDatabaseArgs();
    ASSERT_TRUE(payments_db.ok()) << payments_db.status();
    std::vector<std::string> payments_args = {
        "--listen_address=" + payments_target, "--metrics_address=127.0.0.1:0",
        "--identity_address=" + identity_->target(),
        "--event_subscribers=sellerkpi=" + *kpi_target_ + ":payments.", "--drain_timeout=2s",
        "--log_level=warn"};
    payments_args.insert(payments_args.end(), payments_db->begin(), payments_db->end());
    for (std::string& flag : TestTlsFlags()) payments_args.push_back(std::move(flag));
    payments_args.insert(payments_args.end(), payments_credentials.begin(),
                         payments_credentials.end());
    auto payments = Subprocess::Start(RunfilePath("services/payments/payments_server"),
                                      payments_args);
    ASSERT_TRUE(payments.ok()) << payments.status();
    payments_ = new Subprocess(*std::move(payments));

    auto kpi_channel = grpc::CreateChannel(*kpi_target_, TestChannelCredentials());
    auto payments_channel = grpc::CreateChannel(payments_target, TestChannelCredentials());
    const absl::Time end = absl::Now() + absl::Seconds(60);
    while (!Serving(kpi_channel) || !Serving(payments_channel)) {
      ASSERT_FALSE(kpi_->WaitFor(absl::ZeroDuration()).has_value()) << kpi_->Output();
      ASSERT_FALSE(payments_->WaitFor(absl::ZeroDuration()).has_value()) << payments_->Output();
      ASSERT_LT(absl::Now(), end) << kpi_->Output() << payments_->Output();
      absl::SleepFor(absl::Milliseconds(100));
    }
    kpi_stub_ = kpi::SellerKpiService::NewStub(kpi_channel).release();
    kpi_sink_ = events_v1::EventSink::NewStub(kpi_channel).release();
    payments_stub_ = payments_v1::Payments::NewStub(payments_channel).release();
  }

  static void TearDownTestSuite() {
    delete kpi_;
    delete payments_;
    delete identity_;
  }

  void SetUp() override {
    if (kpi_stub_ == nullptr) GTEST_SKIP() << "the processes did not start";
  }

  static const std::string& Token(const std::string& who) { return (*tokens_)[who]; }

  template <typename Request, typename Response>
  static grpc::Status Kpi(grpc::Status (KpiStub::*method)(grpc::ClientContext*, const Request&,
                                                          Response*),
                          const Request& request, Response* response,
                          const std::string& who = "admin") {
    return Call(kpi_stub_, method, request, response, Token(who));
  }

  static grpc::Status Record(const std::vector<kpi::SellerEvent>& events,
                             kpi::RecordSellerEventsResponse* response = nullptr,
                             const std::string& who = "writer") {
    kpi::RecordSellerEventsRequest req;
    req.set_request_id(UniqueId("record"));
    for (const auto& e : events) *req.add_events() = e;
    kpi::RecordSellerEventsResponse ignored;
    return Kpi(&KpiStub::RecordSellerEvents, req, response ? response : &ignored, who);
  }

  static grpc::Status Evaluate(const std::vector<std::string>& sellers, absl::Time as_of) {
    kpi::EvaluateSellersRequest req;
    req.set_request_id(UniqueId("evaluate"));
    for (const auto& s : sellers) req.add_seller_ids(s);
    *req.mutable_as_of() = common::ToTimestamp(as_of);
    kpi::EvaluateSellersResponse resp;
    return Kpi(&KpiStub::EvaluateSellers, req, &resp);
  }

  static kpi::SellerScorecard Scorecard(const std::string& seller,
                                        const std::string& who = "admin") {
    kpi::GetSellerScorecardRequest req;
    req.set_seller_id(seller);
    kpi::SellerScorecard card;
    grpc::Status s = Kpi(&KpiStub::GetSellerScorecard, req, &card, who);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return card;
  }

  static grpc::Status PublicRating(const std::string& seller, kpi::PublicSellerRating* out) {
    kpi::GetPublicSellerRatingRequest req;
    req.set_seller_id(seller);
    return Kpi(&KpiStub::GetPublicSellerRating, req, out, "anonymous");
  }

  static inline IdentityProcess* identity_ = nullptr;
  static inline Subprocess* kpi_ = nullptr;
  static inline Subprocess* payments_ = nullptr;
  static inline std::string* kpi_target_ = nullptr;
  static inline std::map<std::string, std::string>* tokens_ = nullptr;
  static inline KpiStub* kpi_stub_ = nullptr;
  static inline events_v1::EventSink::Stub* kpi_sink_ = nullptr;
  static inline payments_v1::Payments::Stub* payments_stub_ = nullptr;
};

// Per KPI: (numerator, denominator).
std::map<int, std::pair<int64_t, int64_t>> Figures(const kpi::SellerScorecard& card) {
  std::map<int, std::pair<int64_t, int64_t>> out;
  for (const auto& f : card.figures()) out[f.kpi()] = {f.numerator(), f.denominator()};
  return out;
}

TEST_F(SellerKpiServerTest, RoleByMethodMatrix) {
  const std::vector<std::string> callers = {"anonymous", "buyer",  "seller", "support",
                                            "moderator", "admin",  "writer", "reader"};
  // 'U': UNAUTHENTICATED, 'D': PERMISSION_DENIED, '.': through the permission table.
  struct Row {
    std::string method;
    std::function<grpc::Status(const std::string&)> call;
    std::string expected;  // one character per caller, in `callers` order
  };
  const std::string seller = Token("seller_id");
  std::vector<Row> rows = {
      {"RecordSellerEvents",
       [](const std::string& who) {  // an empty batch: INVALID_ARGUMENT, nothing recorded
         kpi::RecordSellerEventsRequest r;
         kpi::RecordSellerEventsResponse out;
         return Kpi(&KpiStub::RecordSellerEvents, r, &out, who);
       },
       "UDDDD..D"},
      {"GetSellerScorecard",
       [&](const std::string& who) {
         kpi::GetSellerScorecardRequest r;
         r.set_seller_id(seller);
         kpi::SellerScorecard out;
         return Kpi(&KpiStub::GetSellerScorecard, r, &out, who);
       },
       "UD....D."},
      {"ListKpiEvidence",
       [&](const std::string& who) {
         kpi::ListKpiEvidenceRequest r;
         r.set_seller_id(seller);
         r.set_kpi(kpi::ORDER_DEFECT_RATE);
         kpi::ListKpiEvidenceResponse out;
         return Kpi(&KpiStub::ListKpiEvidence, r, &out, who);
       },
       "UD....D."},
      {"GetKpiHistory",
       [&](const std::string& who) {
         kpi::GetKpiHistoryRequest r;
         r.set_seller_id(seller);
         r.set_kpi(kpi::ORDER_DEFECT_RATE);
         kpi::GetKpiHistoryResponse out;
         return Kpi(&KpiStub::GetKpiHistory, r, &out, who);
       },
       "UD....D."},
      {"ListEnforcementActions",
       [&](const std::string& who) {
         kpi::ListEnforcementActionsRequest r;
         r.set_seller_id(seller);
         kpi::ListEnforcementActionsResponse out;
         return Kpi(&KpiStub::ListEnforcementActions, r, &out, who);
       },
       "UD....D."},
      {"GetPublicSellerRating",
       [&](const std::string& who) {
         kpi::GetPublicSellerRatingRequest r;
         r.set_seller_id(seller);
         kpi::PublicSellerRating out;
         return Kpi(&KpiStub::GetPublicSellerRating, r, &out, who);
       },
       "........"},
      {"AppealEnforcement",
       [](const std::string& who) {
         kpi::AppealEnforcementRequest r;
         kpi::EnforcementAction out;
         return Kpi(&KpiStub::AppealEnforcement, r, &out, who);
       },
       "UD..DDDD"},
      {"ExcludeSellerEvent",
       [](const std::string& who) {
         kpi::ExcludeSellerEventRequest r;
         kpi::ExcludeSellerEventResponse out;
         return Kpi(&KpiStub::ExcludeSellerEvent, r, &out, who);
       },
       "UDD.D.DD"},
      {"ListSellersByHealth",
       [](const std::string& who) {
         kpi::ListSellersByHealthRequest r;
         r.set_page_size(1);
         kpi::ListSellersByHealthResponse out;
         return Kpi(&KpiStub::ListSellersByHealth, r, &out, who);
       },
       "UDD...DD"},
      {"EvaluateSellers",
       [](const std::string& who) {
         kpi::EvaluateSellersRequest r;
         r.add_seller_ids("not-an-id");  // INVALID_ARGUMENT: nothing evaluated
         kpi::EvaluateSellersResponse out;
         return Kpi(&KpiStub::EvaluateSellers, r, &out, who);
       },
       "UDDDD.DD"},
      {"GetThresholds",
       [](const std::string& who) {
         kpi::GetThresholdsRequest r;
         kpi::Thresholds out;
         return Kpi(&KpiStub::GetThresholds, r, &out, who);
       },
       "UDDDD.DD"},
      {"UpdateThresholds",
       [](const std::string& who) {
         kpi::UpdateThresholdsRequest r;  // no thresholds: INVALID_ARGUMENT
         kpi::Thresholds out;
         return Kpi(&KpiStub::UpdateThresholds, r, &out, who);
       },
       "UDDDD.DD"},
      {"DecideAppeal",
       [](const std::string& who) {
         kpi::DecideAppealRequest r;
         kpi::EnforcementAction out;
         return Kpi(&KpiStub::DecideAppeal, r, &out, who);
       },
       "UDDDD.DD"},
      {"ReplaySellerKpis",
       [](const std::string& who) {
         kpi::ReplaySellerKpisRequest r;
         kpi::ReplaySellerKpisResponse out;
         return Kpi(&KpiStub::ReplaySellerKpis, r, &out, who);
       },
       "UDDDD.DD"},
  };
  ASSERT_EQ(rows.size(), 14u);
  for (const Row& row : rows) {
    for (size_t i = 0; i < callers.size(); ++i) {
      const grpc::Status s = row.call(callers[i]);
      const char expected = row.expected[i];
      SCOPED_TRACE(row.method + " as " + callers[i] + ": " + std::to_string(s.error_code()) +
                   " " + s.error_message());
      if (expected == 'U') {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      } else if (expected == 'D') {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      } else {
        EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
        EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      }
    }
  }
  // The enforcement methods once the caller may call them: bad input named, unknown actions
  // NOT_FOUND, and no action yet for a seller (no evaluation creates one in this version).
  kpi::DecideAppealRequest decide;
  kpi::EnforcementAction decided;
  EXPECT_EQ(Kpi(&KpiStub::DecideAppeal, decide, &decided).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  decide.set_action_id("act_0123456789abcdef01234567");
  decide.set_decision(kpi::UPHOLD);
  EXPECT_EQ(Kpi(&KpiStub::DecideAppeal, decide, &decided).error_code(),
            grpc::StatusCode::NOT_FOUND);
  kpi::AppealEnforcementRequest appeal;
  appeal.set_action_id("act_0123456789abcdef01234567");
  appeal.set_statement(std::string(5001, 'x'));
  EXPECT_EQ(Kpi(&KpiStub::AppealEnforcement, appeal, &decided, "seller").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  appeal.set_statement("I ship on time");
  EXPECT_EQ(Kpi(&KpiStub::AppealEnforcement, appeal, &decided, "seller").error_code(),
            grpc::StatusCode::NOT_FOUND);
  // An id of another kind or length is not an action id: INVALID_ARGUMENT, not NOT_FOUND.
  for (const char* other : {"pay_0123456789abcdef01234567", "0123456789abcdef0123456789abcdef",
                            "act_0123456789abcdef0123456789abcdef"}) {
    appeal.set_action_id(other);
    EXPECT_EQ(Kpi(&KpiStub::AppealEnforcement, appeal, &decided, "seller").error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << other;
    decide.set_action_id(other);
    EXPECT_EQ(Kpi(&KpiStub::DecideAppeal, decide, &decided).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << other;
  }
}

TEST_F(SellerKpiServerTest, EveryEventTwiceAndOutOfOrderGivesTheSameKpis) {
  const std::string in_order = NewSellerId();
  const std::string shuffled = NewSellerId();
  std::vector<kpi::SellerEvent> a = Mix("a" + in_order, in_order, 60);
  std::vector<kpi::SellerEvent> b = Mix("b" + shuffled, shuffled, 60);
  for (size_t i = 0; i < a.size(); i += 100) {
    std::vector<kpi::SellerEvent> batch(a.begin() + i, a.begin() + std::min(a.size(), i + 100));
    ASSERT_TRUE(Record(batch).ok());
  }
  std::vector<kpi::SellerEvent> twice = b;
  twice.insert(twice.end(), b.begin(), b.end());
  std::shuffle(twice.begin(), twice.end(), std::mt19937(42));
  int recorded = 0, duplicates = 0;
  for (size_t i = 0; i < twice.size(); i += 37) {
    std::vector<kpi::SellerEvent> batch(twice.begin() + i,
                                        twice.begin() + std::min(twice.size(), i + 37));
    kpi::RecordSellerEventsResponse resp;
    grpc::Status s = Record(batch, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    recorded += resp.recorded();
    duplicates += resp.duplicates();
  }
  EXPECT_EQ(recorded, static_cast<int>(b.size()));
  EXPECT_EQ(duplicates, static_cast<int>(b.size()));

  const absl::Time as_of = absl::Now();
  ASSERT_TRUE(Evaluate({in_order, shuffled}, as_of).ok());
  const kpi::SellerScorecard first = Scorecard(in_order);
  const kpi::SellerScorecard second = Scorecard(shuffled);
  ASSERT_EQ(first.figures_size(), 10);
  EXPECT_EQ(Figures(first), Figures(second));
  EXPECT_EQ(first.health(), second.health());
  // 60 orders; odr defects: disputes (i%9), low ratings (i%4 with 1-2 stars), claims that
  // count (i%6 but not i%12) each order once.
  const auto figures = Figures(first);
  EXPECT_EQ(figures.at(kpi::ORDER_DEFECT_RATE).second, 60);
  EXPECT_GT(figures.at(kpi::ORDER_DEFECT_RATE).first, 0);
  EXPECT_EQ(first.health(), kpi::CRITICAL);

  // Replaying the log finds the live counters, for these sellers and for all.
  kpi::ReplaySellerKpisRequest replay;
  replay.set_request_id(UniqueId("replay"));
  replay.add_seller_ids(in_order);
  replay.add_seller_ids(shuffled);
  kpi::ReplaySellerKpisResponse replayed;
  grpc::Status s = Kpi(&KpiStub::ReplaySellerKpis, replay, &replayed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(replayed.sellers(), 2);
  EXPECT_EQ(replayed.events_replayed(), static_cast<int64_t>(a.size() + b.size()));
  EXPECT_EQ(replayed.aggregate_differences(), 0) << replayed.DebugString();
  // Their one evaluation each, replayed from the log, gives what was stored.
  EXPECT_EQ(replayed.evaluations_replayed(), 2);
  EXPECT_EQ(replayed.health_differences(), 0) << replayed.DebugString();
  replay.clear_seller_ids();
  ASSERT_TRUE(Kpi(&KpiStub::ReplaySellerKpis, replay, &replayed).ok());
  EXPECT_EQ(replayed.aggregate_differences(), 0) << replayed.DebugString();
  EXPECT_GE(replayed.evaluations_replayed(), 2);
  EXPECT_EQ(replayed.health_differences(), 0) << replayed.DebugString();
}

TEST_F(SellerKpiServerTest, BadInputIsRefusedNamingTheFieldAndWritesNothing) {
  struct Case {
    std::string name;
    std::function<void(kpi::SellerEvent&)> spoil;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"missing event_id", [](kpi::SellerEvent& e) { e.clear_event_id(); }, "events[1].event_id"},
      {"unknown type", [](kpi::SellerEvent& e) { e.clear_payload(); }, "events[1].payload"},
      {"stars 0", [](kpi::SellerEvent& e) { e.mutable_rating()->set_stars(0); },
       "events[1].rating.stars"},
      {"stars 6", [](kpi::SellerEvent& e) { e.mutable_rating()->set_stars(6); },
       "events[1].rating.stars"},
      {"future", [](kpi::SellerEvent& e) {
         *e.mutable_occurred_at() = common::ToTimestamp(absl::Now() + absl::Minutes(10));
       }, "events[1].occurred_at"},
      {"seller id", [](kpi::SellerEvent& e) { e.set_seller_id("SELLER"); },
       "events[1].seller_id"},
      {"output only", [](kpi::SellerEvent& e) {
         e.mutable_event_excluded()->set_excluded_event_id("x");
       }, "events[1].payload"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string seller = NewSellerId();
    kpi::SellerEvent good = Event(UniqueId("good"), seller, absl::Now(), "o1");
    good.mutable_order_placed();
    kpi::SellerEvent bad = Event(UniqueId("bad"), seller, absl::Now(), "o1");
    bad.mutable_rating()->set_stars(4);
    c.spoil(bad);
    grpc::Status s = Record({good, bad});
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    const std::vector<std::string> fields = BadFieldsOf(s);
    EXPECT_NE(std::find(fields.begin(), fields.end(), c.field), fields.end())
        << s.error_message();
    kpi::PublicSellerRating rating;
    EXPECT_EQ(PublicRating(seller, &rating).error_code(), grpc::StatusCode::NOT_FOUND)
        << "the valid event of the batch was recorded";
  }
  // Over 500 events.
  const std::string seller = NewSellerId();
  std::vector<kpi::SellerEvent> many;
  for (int i = 0; i < 501; ++i) {
    kpi::SellerEvent e = Event(UniqueId("many"), seller, absl::Now(), absl::StrCat("o", i));
    e.mutable_order_placed();
    many.push_back(e);
  }
  grpc::Status s = Record(many);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadFieldsOf(s), std::vector<std::string>{"events"});
  kpi::PublicSellerRating rating;
  EXPECT_EQ(PublicRating(seller, &rating).error_code(), grpc::StatusCode::NOT_FOUND);

  // The same event_id with another content: ALREADY_EXISTS, the whole batch refused.
  const std::string first_seller = NewSellerId();
  const std::string second_seller = NewSellerId();
  const std::string id = UniqueId("conflict");
  kpi::SellerEvent original = Event(id, first_seller, absl::Now(), "o1");
  original.mutable_order_placed();
  ASSERT_TRUE(Record({original}).ok());
  kpi::SellerEvent fresh = Event(UniqueId("fresh"), second_seller, absl::Now(), "o2");
  fresh.mutable_order_placed();
  kpi::SellerEvent changed = original;
  changed.mutable_links()->set_order_id("o9");
  s = Record({fresh, changed});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ReasonOf(s), "EVENT_ID_CONFLICT");
  EXPECT_EQ(PublicRating(second_seller, &rating).error_code(), grpc::StatusCode::NOT_FOUND);
  // The same content again is a duplicate, not an error.
  kpi::RecordSellerEventsResponse resp;
  ASSERT_TRUE(Record({original}, &resp).ok());
  EXPECT_EQ(resp.duplicates(), 1);
  EXPECT_EQ(resp.recorded(), 0);
}

TEST_F(SellerKpiServerTest, AnotherSellersDataAnswersLikeAnUnknownSeller) {
  const std::string own = Token("seller_id");
  const std::string other = Token("other_seller_id");
  for (const std::string& seller : {own, other}) {
    kpi::SellerEvent e = Event(UniqueId("own"), seller, absl::Now(), UniqueId("order"));
    e.mutable_order_placed();
    ASSERT_TRUE(Record({e}).ok());
  }
  kpi::GetSellerScorecardRequest req;
  req.set_seller_id(own);
  kpi::SellerScorecard card;
  grpc::Status s = Kpi(&KpiStub::GetSellerScorecard, req, &card, "seller");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(card.seller_id(), own);

  req.set_seller_id(other);
  grpc::Status theirs = Kpi(&KpiStub::GetSellerScorecard, req, &card, "seller");
  const std::string unknown = NewSellerId();
  req.set_seller_id(unknown);
  grpc::Status nobody = Kpi(&KpiStub::GetSellerScorecard, req, &card, "seller");
  EXPECT_EQ(theirs.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(nobody.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(theirs), "SELLER_NOT_FOUND");
  EXPECT_EQ(ReasonOf(nobody), "SELLER_NOT_FOUND");
  // Staff see any seller; an unknown one is NOT_FOUND for them too.
  req.set_seller_id(other);
  EXPECT_TRUE(Kpi(&KpiStub::GetSellerScorecard, req, &card, "support").ok());
  EXPECT_TRUE(Kpi(&KpiStub::GetSellerScorecard, req, &card, "reader").ok());
  req.set_seller_id(unknown);
  EXPECT_EQ(Kpi(&KpiStub::GetSellerScorecard, req, &card, "support").error_code(),
            grpc::StatusCode::NOT_FOUND);
  req.set_seller_id("NOT-AN-ID");
  EXPECT_EQ(Kpi(&KpiStub::GetSellerScorecard, req, &card, "support").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SellerKpiServerTest, ExcludedEventsLeaveTheKpis) {
  const std::string seller = NewSellerId();
  std::vector<kpi::SellerEvent> events;
  for (int i = 0; i < 10; ++i) {
    kpi::SellerEvent e = Event(UniqueId("p"), seller, absl::Now() - absl::Hours(1),
                               absl::StrCat("o", i));
    e.mutable_order_placed();
    events.push_back(e);
  }
  kpi::SellerEvent claim = Event(UniqueId("claim"), seller, absl::Now(), "o3");
  claim.mutable_claim_filed()->set_counts_against_seller(true);
  events.push_back(claim);
  ASSERT_TRUE(Record(events).ok());
  ASSERT_TRUE(Evaluate({seller}, absl::Now()).ok());
  EXPECT_EQ(Figures(Scorecard(seller)).at(kpi::ORDER_DEFECT_RATE).first, 1);

  kpi::ExcludeSellerEventRequest req;
  req.set_request_id(UniqueId("exclude"));
  req.set_event_id(claim.event_id());
  kpi::ExcludeSellerEventResponse resp;
  EXPECT_EQ(Kpi(&KpiStub::ExcludeSellerEvent, req, &resp, "support").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // no reason
  req.set_reason("the buyer's claim was fraudulent");
  grpc::Status s = Kpi(&KpiStub::ExcludeSellerEvent, req, &resp, "support");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(resp.event().excluded());
  EXPECT_EQ(resp.event().event_id(), claim.event_id());
  ASSERT_TRUE(Kpi(&KpiStub::ExcludeSellerEvent, req, &resp, "admin").ok());  // no effect
  ASSERT_TRUE(Evaluate({seller}, absl::Now()).ok());
  EXPECT_EQ(Figures(Scorecard(seller)).at(kpi::ORDER_DEFECT_RATE),
            std::make_pair(int64_t{0}, int64_t{10}));
  req.set_event_id(UniqueId("unknown"));
  s = Kpi(&KpiStub::ExcludeSellerEvent, req, &resp, "admin");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonOf(s), "EVENT_NOT_FOUND");
}

TEST_F(SellerKpiServerTest, EvidenceHistoryPublicRatingHealthListAndThresholds) {
  const std::string seller = NewSellerId();
  std::vector<kpi::SellerEvent> events;
  const absl::Time now = absl::Now() - absl::Minutes(1);
  for (int i = 0; i < 10; ++i) {
    kpi::SellerEvent e = Event(UniqueId("p"), seller, now - absl::Hours(1), absl::StrCat("o", i));
    e.mutable_order_placed();
    events.push_back(e);
  }
  kpi::SellerEvent low = Event(UniqueId("r"), seller, now, "o1");
  low.mutable_rating()->set_stars(1);
  kpi::SellerEvent dispute = Event(UniqueId("d"), seller, now, "o2");
  dispute.mutable_dispute_opened();
  kpi::SellerEvent dispute_again = Event(UniqueId("d"), seller, now, "o1");  // o1 once
  dispute_again.mutable_dispute_opened();
  events.insert(events.end(), {low, dispute, dispute_again});
  ASSERT_TRUE(Record(events).ok());
  ASSERT_TRUE(Evaluate({seller}, absl::Now()).ok());

  const kpi::SellerScorecard card = Scorecard(seller);
  const auto figures = Figures(card);
  EXPECT_EQ(figures.at(kpi::ORDER_DEFECT_RATE), std::make_pair(int64_t{2}, int64_t{10}));
  EXPECT_EQ(card.health(), kpi::AT_RISK);  // 20 % but 2 events: not CRITICAL
  EXPECT_EQ(card.thresholds_version() >= 1, true);

  // Evidence, a page at a time, newest first.
  kpi::ListKpiEvidenceRequest ev;
  ev.set_seller_id(seller);
  ev.set_kpi(kpi::ORDER_DEFECT_RATE);
  ev.set_page_size(2);
  std::vector<std::string> ids;
  for (int page = 0; page < 3; ++page) {
    kpi::ListKpiEvidenceResponse resp;
    grpc::Status s = Kpi(&KpiStub::ListKpiEvidence, ev, &resp, "support");
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const auto& e : resp.events()) ids.push_back(e.event_id());
    if (resp.next_page_token().empty()) break;
    ev.set_page_token(resp.next_page_token());
  }
  std::vector<std::string> expected = {low.event_id(), dispute.event_id(),
                                       dispute_again.event_id()};
  std::sort(ids.begin(), ids.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ids, expected);
  ev.set_kpi(kpi::KPI_UNSPECIFIED);
  kpi::ListKpiEvidenceResponse none;
  grpc::Status bad = Kpi(&KpiStub::ListKpiEvidence, ev, &none);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  kpi::GetKpiHistoryRequest hist;
  hist.set_seller_id(seller);
  hist.set_kpi(kpi::ORDER_DEFECT_RATE);
  hist.set_days(3);
  kpi::GetKpiHistoryResponse points;
  ASSERT_TRUE(Kpi(&KpiStub::GetKpiHistory, hist, &points).ok());
  ASSERT_EQ(points.points_size(), 3);
  EXPECT_DOUBLE_EQ(points.points(2).value(), 0.2);
  hist.set_days(366);
  EXPECT_EQ(Kpi(&KpiStub::GetKpiHistory, hist, &points).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  kpi::PublicSellerRating rating;
  ASSERT_TRUE(PublicRating(seller, &rating).ok());
  EXPECT_EQ(rating.rating_count(), 1);
  EXPECT_EQ(rating.rating(), 0);  // fewer than 5 ratings
  EXPECT_FALSE(rating.top_badge());

  // The seller is listed among the AT_RISK ones.
  kpi::ListSellersByHealthRequest list;
  list.set_health(kpi::AT_RISK);
  list.set_page_size(200);
  bool found = false;
  for (int page = 0; page < 50 && !found; ++page) {
    kpi::ListSellersByHealthResponse resp;
    ASSERT_TRUE(Kpi(&KpiStub::ListSellersByHealth, list, &resp, "moderator").ok());
    for (const auto& s : resp.sellers()) {
      EXPECT_EQ(s.health(), kpi::AT_RISK);
      found = found || s.seller_id() == seller;
    }
    if (resp.next_page_token().empty()) break;
    list.set_page_token(resp.next_page_token());
  }
  EXPECT_TRUE(found);

  // Thresholds: a stale version is refused, the right one makes a new version.
  kpi::Thresholds current;
  ASSERT_TRUE(Kpi(&KpiStub::GetThresholds, kpi::GetThresholdsRequest(), &current).ok());
  EXPECT_GE(current.version(), 1);
  EXPECT_EQ(current.lines_size(), 8);
  kpi::UpdateThresholdsRequest update;
  update.set_request_id(UniqueId("thresholds"));
  update.mutable_thresholds()->set_improvement_days(current.improvement_days() + 1);
  update.mutable_update_mask()->add_paths("improvement_days");
  update.set_expected_version(current.version() + 5);
  kpi::Thresholds updated;
  grpc::Status stale = Kpi(&KpiStub::UpdateThresholds, update, &updated);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(stale), "THRESHOLDS_VERSION_MISMATCH");
  update.set_expected_version(current.version());
  ASSERT_TRUE(Kpi(&KpiStub::UpdateThresholds, update, &updated).ok());
  EXPECT_EQ(updated.version(), current.version() + 1);
  EXPECT_EQ(updated.lines_size(), 8);  // the mask kept the lines
  EXPECT_EQ(updated.improvement_days(), current.improvement_days() + 1);
  // A line above its critical line is refused, naming it.
  update.set_expected_version(updated.version());
  update.mutable_update_mask()->clear_paths();
  update.mutable_update_mask()->add_paths("lines");
  auto* line = update.mutable_thresholds()->add_lines();
  line->set_kpi(kpi::ORDER_DEFECT_RATE);
  line->set_at_risk(0.5);
  line->set_critical(0.01);
  grpc::Status wrong = Kpi(&KpiStub::UpdateThresholds, update, &updated);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadFieldsOf(wrong), std::vector<std::string>{"thresholds.lines[0].at_risk"});
  // Hold days: the seed's 21 / 14 / 7; a TOP hold above the GOOD one is refused, naming it,
  // and nothing changes; the mask "hold_days" replaces the three and keeps the rest.
  EXPECT_EQ(updated.hold_days_at_risk(), 21);
  EXPECT_EQ(updated.hold_days_good(), 14);
  EXPECT_EQ(updated.hold_days_top(), 7);
  kpi::UpdateThresholdsRequest holds;
  holds.set_request_id(UniqueId("thresholds"));
  holds.set_expected_version(updated.version());
  holds.mutable_update_mask()->add_paths("hold_days");
  holds.mutable_thresholds()->set_hold_days_at_risk(28);
  holds.mutable_thresholds()->set_hold_days_good(10);
  holds.mutable_thresholds()->set_hold_days_top(12);
  kpi::Thresholds after;
  wrong = Kpi(&KpiStub::UpdateThresholds, holds, &after);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadFieldsOf(wrong), std::vector<std::string>{"thresholds.hold_days_top"});
  ASSERT_TRUE(Kpi(&KpiStub::GetThresholds, kpi::GetThresholdsRequest(), &after).ok());
  EXPECT_EQ(after.version(), updated.version());
  holds.mutable_thresholds()->set_hold_days_at_risk(91);
  holds.mutable_thresholds()->set_hold_days_top(5);
  wrong = Kpi(&KpiStub::UpdateThresholds, holds, &after);
  EXPECT_EQ(BadFieldsOf(wrong), std::vector<std::string>{"thresholds.hold_days_at_risk"});
  holds.mutable_thresholds()->set_hold_days_at_risk(28);
  ASSERT_TRUE(Kpi(&KpiStub::UpdateThresholds, holds, &after).ok());
  EXPECT_EQ(after.version(), updated.version() + 1);
  EXPECT_EQ(after.hold_days_at_risk(), 28);
  EXPECT_EQ(after.hold_days_good(), 10);
  EXPECT_EQ(after.hold_days_top(), 5);
  EXPECT_EQ(after.improvement_days(), updated.improvement_days());
  EXPECT_EQ(after.lines_size(), 8);
}

// A claim opening that sellerkpi refuses (older than 400 days) leaves nothing behind: not the
// claim, not the ticket, so the ticket's later events are refused as of an unknown ticket
// (FAILED_PRECONDITION TICKET_NOT_KNOWN) rather than counted without their opening.
TEST_F(SellerKpiServerTest, ARefusedClaimOpeningRemembersNoTicket) {
  const std::string seller = NewSellerId();
  std::random_device random;
  const std::string ticket = absl::StrFormat("tkt_%08x%08x%08x", random(), random(), random());
  auto deliver = [&](const std::string& topic, absl::Time at,
                     const google::protobuf::Message& payload) {
    events_v1::DeliverRequest req;
    events_v1::Event* event = req.mutable_event();
    event->set_event_id(UniqueId("evt-support"));
    event->set_topic(topic);
    event->set_source("support");
    event->set_key(ticket);
    *event->mutable_occurred_at() = common::ToTimestamp(at);
    event->mutable_payload()->PackFrom(payload);
    events_v1::DeliverResponse resp;
    return Call(kpi_sink_, &events_v1::EventSink::Stub::Deliver, req, &resp,
                Token("support_relay"));
  };
  support_v1::TicketOpened opened;
  opened.set_ticket_id(ticket);
  opened.set_seller_id(seller);
  opened.set_order_id(UniqueId("order"));
  opened.set_is_claim(true);
  grpc::Status s = deliver("support.ticket_opened", absl::Now() - absl::Hours(24 * 401), opened);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  support_v1::TicketResolved resolved;
  resolved.set_ticket_id(ticket);
  resolved.set_seller_id(seller);
  resolved.set_is_claim(true);
  resolved.set_favoured(support_v1::FAVOURS_BUYER);
  resolved.set_counts_against_seller(true);
  s = deliver("support.ticket_resolved", absl::Now() - absl::Minutes(1), resolved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_EQ(ReasonOf(s), "TICKET_NOT_KNOWN") << s.error_message();
}

// What payments' relay sends, delivered by hand with payments' own token: twice each and out
// of order (the dispute before the order), the KPIs are those of one delivery in order.
TEST_F(SellerKpiServerTest, PaymentsEventsTwiceAndOutOfOrderThroughEventSink) {
  const std::string seller = NewSellerId();
  const std::string order = UniqueId("order");
  auto deliver = [&](const std::string& id, const std::string& topic,
                     const google::protobuf::Message& payload) {
    events_v1::DeliverRequest req;
    events_v1::Event* event = req.mutable_event();
    event->set_event_id(id);
    event->set_topic(topic);
    event->set_source("payments");
    event->set_key(seller);
    *event->mutable_occurred_at() = common::ToTimestamp(absl::Now() - absl::Minutes(1));
    event->mutable_payload()->PackFrom(payload);
    events_v1::DeliverResponse resp;
    return Call(kpi_sink_, &events_v1::EventSink::Stub::Deliver, req, &resp, Token("payments"));
  };
  payments_v1::PaymentHeld held;
  held.set_payment_id("pay_aaaaaaaaaaaaaaaaaaaaaaaa");
  held.set_order_id(order);
  held.set_seller_id(seller);
  payments_v1::DisputeOpened opened;
  opened.set_payment_id(held.payment_id());
  opened.set_order_id(order);
  opened.set_seller_id(seller);
  const std::string held_id = UniqueId("evt-held");
  const std::string opened_id = UniqueId("evt-opened");
  for (int round = 0; round < 2; ++round) {
    grpc::Status s = deliver(opened_id, "payments.dispute_opened", opened);
    ASSERT_TRUE(s.ok()) << s.error_message();
    s = deliver(held_id, "payments.payment_held", held);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // A payload that is not the topic's message: INVALID_ARGUMENT, nothing applied.
  EXPECT_EQ(deliver(UniqueId("evt-bad"), "payments.payment_held", opened).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(Evaluate({seller}, absl::Now()).ok());
  const auto figures = Figures(Scorecard(seller));
  EXPECT_EQ(figures.at(kpi::ORDER_DEFECT_RATE), std::make_pair(int64_t{1}, int64_t{1}));
  EXPECT_EQ(figures.at(kpi::DISPUTE_RATE), std::make_pair(int64_t{1}, int64_t{1}));
}

TEST_F(SellerKpiServerTest, PaymentsEventsReachSellerKpiThroughTheRelay) {
  // An approved seller, a buyer's payment, a dispute: payments' relay delivers
  // payments.payment_held and payments.dispute_opened to sellerkpi's EventSink.
  auto seller = SignUpAndLogin(identity_->stub(), identity_v1::SELLER, UniqueEmail("paid"));
  ASSERT_TRUE(seller.ok()) << seller.status();
  const std::string seller_id = seller->account().account_id();
  identity_v1::SubmitSellerApplicationRequest apply;
  apply.set_name("accounts/me/sellerProfile");
  auto* a = apply.mutable_application();
  a->set_legal_name("Example Trading GmbH");
  a->set_registration_number("HRB 12345");
  a->set_country_code("DE");
  a->set_payout_account_ref("payout:acct_123");
  a->set_contact_email("onboarding@example.com");
  a->set_contact_phone("+4915112345678");
  identity_v1::SellerProfile profile;
  grpc::Status s = CallIdentity(identity_->stub(), &Identity::Stub::SubmitSellerApplication,
                                apply, &profile, seller->tokens().access_token());
  ASSERT_TRUE(s.ok()) << s.error_message();
  identity_v1::ReviewSellerApplicationRequest review;
  review.set_name("accounts/" + seller_id + "/sellerProfile");
  review.set_decision(identity_v1::APPROVE);
  s = CallIdentity(identity_->stub(), &Identity::Stub::ReviewSellerApplication, review, &profile,
                   Token("admin"));
  ASSERT_TRUE(s.ok()) << s.error_message();

  payments_v1::CreatePaymentRequest pay;
  pay.set_request_id(UniqueId("pay"));
  pay.set_order_id(UniqueId("order"));
  pay.set_buyer_id(Token("buyer_id"));
  pay.set_seller_id(seller_id);
  pay.mutable_amount()->set_currency_code("EUR");
  pay.mutable_amount()->set_amount_minor(2500);
  pay.set_payment_method_token("tok_sandbox_success");
  payments_v1::Payment payment;
  s = Call(payments_stub_, &payments_v1::Payments::Stub::CreatePayment, pay, &payment,
           Token("buyer"));
  ASSERT_TRUE(s.ok()) << s.error_message();
  payments_v1::OpenDisputeRequest dispute;
  dispute.set_request_id(UniqueId("dispute"));
  dispute.set_payment_id(payment.payment_id());
  dispute.set_reason_code("NOT_RECEIVED");
  dispute.set_description("never arrived");
  s = Call(payments_stub_, &payments_v1::Payments::Stub::OpenDispute, dispute, &payment,
           Token("buyer"));
  ASSERT_TRUE(s.ok()) << s.error_message();

  // Both events arrive within seconds (the relay polls twice a second).
  const absl::Time end = absl::Now() + absl::Seconds(20);
  std::vector<kpi::SellerEvent> evidence;
  while (absl::Now() < end) {
    kpi::ListKpiEvidenceRequest ev;
    ev.set_seller_id(seller_id);
    ev.set_kpi(kpi::DISPUTE_RATE);
    kpi::ListKpiEvidenceResponse resp;
    if (Kpi(&KpiStub::ListKpiEvidence, ev, &resp, "reader").ok() && resp.events_size() > 0) {
      evidence.assign(resp.events().begin(), resp.events().end());
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(evidence.size(), 1u) << "payments' events did not reach sellerkpi";
  EXPECT_EQ(evidence[0].source(), "payments");
  EXPECT_TRUE(evidence[0].has_dispute_opened());
  EXPECT_EQ(evidence[0].links().order_id(), pay.order_id());
  EXPECT_EQ(evidence[0].links().dispute_id(), payment.payment_id());

  ASSERT_TRUE(Evaluate({seller_id}, absl::Now()).ok());
  const auto figures = Figures(Scorecard(seller_id));
  EXPECT_EQ(figures.at(kpi::ORDER_DEFECT_RATE), std::make_pair(int64_t{1}, int64_t{1}));
  EXPECT_EQ(figures.at(kpi::DISPUTE_RATE), std::make_pair(int64_t{1}, int64_t{1}));

  // The same order reported by an outside system too counts once.
  kpi::SellerEvent external = Event(UniqueId("ext"), seller_id, absl::Now(), pay.order_id());
  external.mutable_order_placed();
  ASSERT_TRUE(Record({external}).ok());
  ASSERT_TRUE(Evaluate({seller_id}, absl::Now()).ok());
  EXPECT_EQ(Figures(Scorecard(seller_id)).at(kpi::ORDER_DEFECT_RATE).second, 1);

  // Deliver from a caller without payments.events.publish: refused, nothing applied.
  events_v1::DeliverRequest forged;
  events_v1::Event* event = forged.mutable_event();
  event->set_event_id(UniqueId("forged"));
  event->set_topic("payments.dispute_opened");
  event->set_source("payments");
  event->set_key(seller_id);
  *event->mutable_occurred_at() = common::ToTimestamp(absl::Now());
  payments_v1::DisputeOpened payload;
  payload.set_payment_id("pay_000000000000000000000000");
  payload.set_order_id("forged-order");
  payload.set_seller_id(seller_id);
  event->mutable_payload()->PackFrom(payload);
  events_v1::DeliverResponse delivered;
  s = Call(kpi_sink_, &events_v1::EventSink::Stub::Deliver, forged, &delivered, Token("writer"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace marketplace::testing
