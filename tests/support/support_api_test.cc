// Support through its gRPC server, on a real MariaDB, with the real payments service (its API
// and gRPC server over the same MariaDB) as the order directory. Access tokens are signed by a
// test key standing in for identity's published keys.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/auth/fake_key_fetcher.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/jwt.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/events/event_consumer.h"
#include "common/executor.h"
#include "common/identity_client/fake_seller_directory.h"
#include "common/identity_client/identity_client.h"
#include "common/outbox/outbox.h"
#include "common/proto_time.h"
#include "common/server/unary_call.h"
#include "common/status_mapping.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/events/v1/events.pb.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "protos/marketplace/support/v1/support.grpc.pb.h"
#include "services/payments/mysql_payment_store.h"
#include "services/payments/payments_service.h"
#include "services/payments/sandbox_processor.h"
#include "services/support/backlog_metrics.h"
#include "services/support/grpc_order_directory.h"
#include "services/support/grpc_refund_sender.h"
#include "services/support/mysql_ticket_store.h"
#include "services/support/paid_order_events.h"
#include "services/support/refund_worker.h"
#include "services/support/sla/policy.h"
#include "services/support/support_service.h"
#include "services/support/tickets.h"
#include "tests/payments/payments_harness.h"

namespace marketplace::support {
namespace {

namespace auth = common::auth;
namespace ppb = ::marketplace::payments::v1;
using grpc::StatusCode;

struct Who {
  std::string subject;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
};

const Who kBuyer{"b0b0b000000000000000000000000001", {"BUYER"}, {}};
const Who kOtherBuyer{"b0b0b000000000000000000000000002", {"BUYER"}, {}};
const Who kSeller{"5e11e700000000000000000000000001", {"SELLER"}, {}};
const Who kOtherSeller{"5e11e700000000000000000000000002", {"SELLER"}, {}};
const Who kAgent{"a9e47000000000000000000000000001", {"SUPPORT_AGENT"}, {}};
const Who kOtherAgent{"a9e47000000000000000000000000002", {"SUPPORT_AGENT"}, {}};
const Who kAdmin{"ad000000000000000000000000000001", {"ADMIN"}, {}};
const Who kModerator{"70d00000000000000000000000000001", {"MODERATOR"}, {}};
const Who kIntake{"5e7c0000000000000000000000000001", {"SERVICE"}, {"support.intake"}};
const Who kCheckout{"5e7c0000000000000000000000000002", {"SERVICE"}, {"payments.checkout"}};
// support's own account at payments.
const Who kSupportService{"5e7c0000000000000000000000000003", {"SERVICE"}, {"payments.read"}};
// support's account with the refund scope (the refund worker).
const Who kSupportRefunds{"5e7c0000000000000000000000000003", {"SERVICE"}, {"payments.refunds"}};
const Who kPaymentsRelay{"5e7c0000000000000000000000000004",
                         {"SERVICE"},
                         {"payments.events.publish"}};

// The reason and metadata of a status's ErrorInfo, and its violated fields.
struct Details {
  std::string reason;
  std::map<std::string, std::string> metadata;
  std::vector<std::string> fields;
};
Details DetailsOf(const grpc::Status& status) {
  Details d;
  google::rpc::Status s;
  if (!s.ParseFromString(status.error_details())) return d;
  for (const google::protobuf::Any& any : s.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&info)) {
      d.reason = info.reason();
      for (const auto& [k, v] : info.metadata()) d.metadata[k] = v;
    } else if (any.UnpackTo(&bad)) {
      for (const auto& f : bad.field_violations()) d.fields.push_back(f.field());
    }
  }
  return d;
}

class SupportApiTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(payments::ApplyPaymentsMigrations(pool()));
    ASSERT_OK(ApplySupportMigrations(pool()));
    sellers_.Set(kSeller.subject, true);
    sellers_.Set(kOtherSeller.subject, true);
    ASSERT_OK_AND_ASSIGN(keys_, auth::GenerateEd25519KeyPair());
    fetcher_.SetKeys({{"k1", "EdDSA", keys_.public_key}});
    executor_ = std::make_unique<common::BoundedExecutor>(8, 256);

    // payments, as payments_server serves it.
    payments_verifier_ = std::make_unique<auth::TokenVerifier>(
        &fetcher_, auth::VerifierOptions{.issuer = "identity", .audience = "payments"},
        common::SystemClock::Get());
    payments_auth_ =
        std::make_unique<auth::Authenticator>(payments_verifier_.get(), std::set<std::string>{});
    payments_runner_ = std::make_unique<common::UnaryRunner>(executor_.get(), payments_auth_.get());
    payments_ = std::make_unique<payments::testing::TestPayments>(
        &pool(), &processor_, &sellers_, common::SystemClock::Get());
    payments_service_ =
        std::make_unique<payments::PaymentsService>(payments_runner_.get(), payments_.get());
    payments_server_ = Start(payments_service_.get(), &payments_port_);
    payments_stub_ = ppb::Payments::NewStub(Channel(payments_port_));

    // support, as support_server wires it.
    support_verifier_ = std::make_unique<auth::TokenVerifier>(
        &fetcher_, auth::VerifierOptions{.issuer = "identity", .audience = "support"},
        common::SystemClock::Get());
    support_auth_ =
        std::make_unique<auth::Authenticator>(support_verifier_.get(), std::set<std::string>{});
    support_runner_ = std::make_unique<common::UnaryRunner>(executor_.get(), support_auth_.get());
    orders_ = std::make_unique<GrpcOrderDirectory>(
        Channel(payments_port_),
        GrpcOrderDirectory::Options{
            .token = [this]() -> absl::StatusOr<std::string> {
              return Token(kSupportService, "payments");
            }});
    store_ = std::make_unique<MySqlTicketStore>(&pool(), &clock_);
    ASSERT_OK_AND_ASSIGN(sla::Policy seed, sla::DefaultPolicy());
    ASSERT_OK_AND_ASSIGN(bool seeded, store_->SeedSlaPolicy(seed.proto()));
    ASSERT_TRUE(seeded);
    tickets_ = std::make_unique<Tickets>(&clock_, TicketOptions{});
    api_ = std::make_unique<SupportApi>(store_.get(), orders_.get(), tickets_.get());
    service_ = std::make_unique<SupportService>(support_runner_.get(), api_.get());
    server_ = Start(service_.get(), &port_);
    stub_ = v1::SupportService::NewStub(Channel(port_));
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    if (payments_server_) payments_server_->Shutdown();
    if (executor_) executor_->Shutdown();
    DatabaseTest::TearDown();
  }

  static std::unique_ptr<grpc::Server> Start(grpc::Service* service, int* port) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), port);
    builder.RegisterService(service);
    return builder.BuildAndStart();
  }
  static std::shared_ptr<grpc::Channel> Channel(int port) {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                               grpc::InsecureChannelCredentials());
  }

  std::string Token(const Who& who, const std::string& audience = "support") {
    auth::JwtHeader header;
    header.kid = "k1";
    auth::JwtClaims claims;
    claims.issuer = "identity";
    claims.subject = who.subject;
    claims.audiences = {audience};
    claims.issued_at = absl::Now();
    claims.expires_at = absl::Now() + absl::Minutes(15);
    claims.token_id = absl::StrCat("t-", ++token_counter_);
    claims.roles = who.roles;
    claims.scopes = who.scopes;
    auto token = auth::SignJwt(header, claims, keys_.private_key);
    EXPECT_OK(token.status());
    return token.ok() ? *token : "";
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const Who& who, const std::string& audience = "support") {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auth::AttachBearerToken(ctx.get(), Token(who, audience));
    return ctx;
  }

  // A HELD payment of `buyer` to kSeller for `order` (100.00 EUR).
  std::string Pay(const std::string& order, const Who& buyer = kBuyer,
                  const Who& seller = kSeller, int64_t amount_minor = 10000) {
    ppb::CreatePaymentRequest req;
    req.set_request_id("pay-" + order);
    req.set_order_id(order);
    req.set_buyer_id(buyer.subject);
    req.set_seller_id(seller.subject);
    req.mutable_amount()->set_currency_code("EUR");
    req.mutable_amount()->set_amount_minor(amount_minor);
    req.set_payment_method_token(std::string(payments::SandboxProcessor::kSuccessToken));
    ppb::Payment out;
    grpc::Status s = payments_stub_->CreatePayment(Ctx(kCheckout, "payments").get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.payment_id();
  }

  grpc::Status Create(const Who& who, const std::string& order, v1::CreateTicketResponse* out,
                      v1::Category category = v1::NOT_RECEIVED, const std::string& body = "Where?",
                      const std::string& request_id = "") {
    v1::CreateTicketRequest req;
    req.set_request_id(request_id.empty() ? absl::StrCat("c-", ++request_counter_) : request_id);
    req.set_order_id(order);
    if (who.roles[0] != "BUYER") req.set_buyer_id(kBuyer.subject);
    req.set_category(category);
    req.set_channel(v1::EMAIL);
    req.set_subject("My order");
    req.set_body(body);
    return stub_->CreateTicket(Ctx(who).get(), req, out);
  }
  v1::Ticket MustCreate(const std::string& order, v1::Category category = v1::NOT_RECEIVED) {
    v1::CreateTicketResponse out;
    grpc::Status s = Create(kBuyer, order, &out, category);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.ticket();
  }

  grpc::Status Get(const Who& who, const std::string& id, v1::Ticket* out) {
    v1::GetTicketRequest req;
    req.set_ticket_id(id);
    return stub_->GetTicket(Ctx(who).get(), req, out);
  }
  v1::Ticket MustGet(const Who& who, const std::string& id) {
    v1::Ticket t;
    grpc::Status s = Get(who, id, &t);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return t;
  }

  grpc::Status Message(const Who& who, const std::string& id, const std::string& body,
                       v1::MessageVisibility visibility = v1::PUBLIC, bool await_buyer = false) {
    v1::AddTicketMessageRequest req;
    req.set_request_id(absl::StrCat("m-", ++request_counter_));
    req.set_ticket_id(id);
    req.set_body(body);
    req.set_visibility(visibility);
    req.set_await_buyer(await_buyer);
    v1::TicketMessage out;
    return stub_->AddTicketMessage(Ctx(who).get(), req, &out);
  }

  grpc::Status Escalate(const Who& who, const std::string& id, v1::Ticket* out = nullptr,
                        const std::string& note = "") {
    v1::EscalateTicketRequest req;
    req.set_request_id(absl::StrCat("e-", ++request_counter_));
    req.set_ticket_id(id);
    req.set_note(note);
    v1::Ticket t;
    return stub_->EscalateTicket(Ctx(who).get(), req, out ? out : &t);
  }

  grpc::Status Resolve(const Who& who, const std::string& id, v1::Outcome outcome,
                       const std::string& reason_code = "CARRIER_LOST",
                       v1::Ticket* out = nullptr, int64_t partial_minor = 0) {
    v1::ResolveTicketRequest req;
    req.set_request_id(absl::StrCat("r-", ++request_counter_));
    req.set_ticket_id(id);
    req.set_outcome(outcome);
    req.set_reason_code(reason_code);
    req.set_explanation("We are sorry.");
    if (partial_minor > 0) {
      req.mutable_refund_amount()->set_currency_code("EUR");
      req.mutable_refund_amount()->set_amount_minor(partial_minor);
    }
    v1::Ticket t;
    return stub_->ResolveTicket(Ctx(who).get(), req, out ? out : &t);
  }

  grpc::Status Reopen(const Who& who, const std::string& id) {
    v1::ReopenTicketRequest req;
    req.set_request_id(absl::StrCat("o-", ++request_counter_));
    req.set_ticket_id(id);
    req.set_body("Still broken");
    v1::Ticket t;
    return stub_->ReopenTicket(Ctx(who).get(), req, &t);
  }

  grpc::Status Rate(const Who& who, const std::string& id, int score,
                    const std::string& comment = "") {
    v1::RateTicketRequest req;
    req.set_request_id(absl::StrCat("s-", ++request_counter_));
    req.set_ticket_id(id);
    req.set_score(score);
    req.set_comment(comment);
    v1::Ticket t;
    return stub_->RateTicket(Ctx(who).get(), req, &t);
  }

  std::vector<v1::TicketMessage> Messages(const Who& who, const std::string& id) {
    v1::ListTicketMessagesRequest req;
    req.set_ticket_id(id);
    v1::ListTicketMessagesResponse out;
    grpc::Status s = stub_->ListTicketMessages(Ctx(who).get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {out.messages().begin(), out.messages().end()};
  }

  // The refund worker as support_server runs it, sending to the payments server.
  std::unique_ptr<RefundWorker> MakeRefundWorker(RefundWorkerOptions options = {}) {
    refund_sender_ = std::make_unique<GrpcRefundSender>(
        Channel(payments_port_), GrpcRefundSender::Options{
                                     .token = [this]() -> absl::StatusOr<std::string> {
                                       return Token(kSupportRefunds, "payments");
                                     }});
    return std::make_unique<RefundWorker>(store_.get(), refund_sender_.get(), &clock_, options);
  }
  ppb::Payment Payment(const std::string& payment_id) {
    ppb::GetPaymentRequest req;
    req.set_payment_id(payment_id);
    ppb::Payment out;
    grpc::Status s = payments_stub_->GetPayment(Ctx(kAdmin, "payments").get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  int64_t Count(const std::string& sql) {
    auto rows = pool().Query(sql);
    EXPECT_OK(rows.status());
    if (!rows.ok() || rows->empty()) return -1;
    auto n = (*rows)[0].GetInt64("n");
    return n.ok() ? *n : -1;
  }
  int64_t Events(const std::string& topic) {
    return Count(absl::StrCat("SELECT COUNT(*) AS n FROM outbox_events WHERE topic = '", topic,
                              "'"));
  }
  // Every row of support's state: tickets, messages, attachments, history, refunds, events.
  // (A refusal decided inside the unit of work is remembered under its request_id, as the
  // idempotency rule says; that key is not the ticket's state and is not counted here.)
  std::string Footprint() {
    return absl::StrCat(
        Count("SELECT COUNT(*) AS n FROM tickets"), "/",
        Count("SELECT COUNT(*) AS n FROM ticket_messages"), "/",
        Count("SELECT COUNT(*) AS n FROM ticket_attachments"), "/",
        Count("SELECT COUNT(*) AS n FROM ticket_history"), "/",
        Count("SELECT COUNT(*) AS n FROM refund_commands"), "/",
        Count("SELECT COUNT(*) AS n FROM outbox_events WHERE topic LIKE 'support.%'"), "/",
        Count("SELECT COALESCE(SUM(history_seq), 0) AS n FROM tickets"));
  }

  common::ManualClock clock_;
  payments::SandboxProcessor processor_;
  common::identity_client::FakeSellerDirectory sellers_;
  auth::Ed25519KeyPair keys_;
  auth::FakeKeyFetcher fetcher_;
  std::unique_ptr<common::BoundedExecutor> executor_;
  std::unique_ptr<auth::TokenVerifier> payments_verifier_;
  std::unique_ptr<auth::Authenticator> payments_auth_;
  std::unique_ptr<common::UnaryRunner> payments_runner_;
  std::unique_ptr<payments::testing::TestPayments> payments_;
  std::unique_ptr<payments::PaymentsService> payments_service_;
  std::unique_ptr<grpc::Server> payments_server_;
  int payments_port_ = 0;
  std::unique_ptr<ppb::Payments::Stub> payments_stub_;
  std::unique_ptr<auth::TokenVerifier> support_verifier_;
  std::unique_ptr<auth::Authenticator> support_auth_;
  std::unique_ptr<common::UnaryRunner> support_runner_;
  std::unique_ptr<GrpcOrderDirectory> orders_;
  std::unique_ptr<GrpcRefundSender> refund_sender_;
  std::unique_ptr<MySqlTicketStore> store_;
  std::unique_ptr<Tickets> tickets_;
  std::unique_ptr<SupportApi> api_;
  std::unique_ptr<SupportService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<v1::SupportService::Stub> stub_;
  std::atomic<int> token_counter_{0};
  std::atomic<int> request_counter_{0};
};

TEST_F(SupportApiTest, BuyerOpensATicketOnItsPaidOrderAtLevelOne) {
  const std::string payment_id = Pay("O-1");
  v1::Ticket t = MustCreate("O-1");
  EXPECT_EQ(t.buyer_id(), kBuyer.subject);
  EXPECT_EQ(t.seller_id(), kSeller.subject);  // from payments
  EXPECT_EQ(t.payment_id(), payment_id);
  EXPECT_EQ(t.level(), v1::L1_SELLER);
  EXPECT_EQ(t.status(), v1::OPEN);
  EXPECT_TRUE(t.is_claim());
  EXPECT_EQ(t.escalation_allowed_at().seconds(),
            absl::ToUnixSeconds(clock_.Now() + absl::Hours(48)));
  EXPECT_EQ(t.message_count(), 1);
  EXPECT_EQ(Events("support.ticket_opened"), 1);

  // Its parties and staff see it; another buyer or seller gets exactly what a made-up id gets.
  EXPECT_EQ(MustGet(kSeller, t.ticket_id()).ticket_id(), t.ticket_id());
  EXPECT_EQ(MustGet(kAgent, t.ticket_id()).history_size(), 1);  // CREATED
  v1::Ticket ignored;
  grpc::Status other = Get(kOtherBuyer, t.ticket_id(), &ignored);
  grpc::Status made_up = Get(kOtherBuyer, "tkt_000000000000000000000000", &ignored);
  EXPECT_EQ(other.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(DetailsOf(other).reason, "TICKET_NOT_FOUND");
  EXPECT_EQ(other.error_code(), made_up.error_code());
  EXPECT_EQ(DetailsOf(other).reason, DetailsOf(made_up).reason);
  // The message too: each names the id asked for, nothing else.
  const std::string made_up_id = "tkt_000000000000000000000000";
  EXPECT_EQ(other.error_message(),
            absl::StrReplaceAll(made_up.error_message(), {{made_up_id, t.ticket_id()}}));
  EXPECT_EQ(Get(kOtherSeller, t.ticket_id(), &ignored).error_code(), StatusCode::NOT_FOUND);
  // ListTicketMessages answers the same.
  const auto list = [&](const std::string& id) {
    v1::ListTicketMessagesRequest req;
    req.set_ticket_id(id);
    v1::ListTicketMessagesResponse out;
    return stub_->ListTicketMessages(Ctx(kOtherBuyer).get(), req, &out);
  };
  grpc::Status other_list = list(t.ticket_id());
  grpc::Status made_up_list = list(made_up_id);
  EXPECT_EQ(other_list.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(other_list.error_code(), made_up_list.error_code());
  EXPECT_EQ(DetailsOf(other_list).reason, DetailsOf(made_up_list).reason);
  EXPECT_EQ(other_list.error_message(),
            absl::StrReplaceAll(made_up_list.error_message(), {{made_up_id, t.ticket_id()}}));
  // A party never sees the history.
  EXPECT_EQ(MustGet(kBuyer, t.ticket_id()).history_size(), 0);
}

// GetTicket reads through the store's batched reader: many calls at once, by parties, staff
// and strangers, on several tickets, each get their own ticket in their own view.
TEST_F(SupportApiTest, ConcurrentReadsEachGetTheirTicketInTheirView) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    const std::string order = absl::StrCat("ord-concurrent-", i);
    Pay(order);
    ids.push_back(MustCreate(order).ticket_id());
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 16; ++r) {
    readers.emplace_back([&, r] {
      for (int i = 0; i < 25; ++i) {
        const std::string& id = ids[(r + i) % ids.size()];
        v1::Ticket t;
        switch ((r + i) % 4) {
          case 0:  // the buyer: the public view
            if (!Get(kBuyer, id, &t).ok() || t.ticket_id() != id || t.history_size() != 0) ++wrong;
            break;
          case 1:  // an agent: with the history (a second read, off the reader's thread)
            if (!Get(kAgent, id, &t).ok() || t.ticket_id() != id || t.history_size() != 1) ++wrong;
            break;
          case 2:  // another buyer: what a made-up id gets
            if (Get(kOtherBuyer, id, &t).error_code() != StatusCode::NOT_FOUND) ++wrong;
            break;
          default:  // a made-up id
            if (Get(kSeller, "tkt_000000000000000000000000", &t).error_code() !=
                StatusCode::NOT_FOUND) {
              ++wrong;
            }
        }
      }
    });
  }
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(wrong.load(), 0);
  // A malformed id is refused before any read, naming the field.
  v1::Ticket ignored;
  grpc::Status bad = Get(kBuyer, "not a ticket id", &ignored);
  EXPECT_EQ(bad.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("ticket_id"), std::string::npos) << bad.error_message();
}

TEST_F(SupportApiTest, AnOrderTheBuyerDidNotPayIsNotFoundAndNothingIsWritten) {
  Pay("O-other", kOtherBuyer);
  const std::string before = Footprint();
  v1::CreateTicketResponse out;
  grpc::Status unknown = Create(kBuyer, "O-none", &out);
  grpc::Status others = Create(kBuyer, "O-other", &out);
  EXPECT_EQ(unknown.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(DetailsOf(unknown).reason, "ORDER_NOT_FOUND");
  EXPECT_EQ(others.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(DetailsOf(others).reason, "ORDER_NOT_FOUND");
  EXPECT_EQ(Footprint(), before);
}

TEST_F(SupportApiTest, InternalNotesNeverReachPartiesNorEvents) {
  Pay("O-1");
  v1::Ticket t = MustCreate("O-1");
  ASSERT_TRUE(Message(kAgent, t.ticket_id(), "SECRET-NOTE seller is on a watch list",
                      v1::INTERNAL)
                  .ok());
  ASSERT_TRUE(Message(kSeller, t.ticket_id(), "Shipped on Monday").ok());
  // A party may not write one.
  EXPECT_EQ(Message(kBuyer, t.ticket_id(), "x", v1::INTERNAL).error_code(),
            StatusCode::PERMISSION_DENIED);

  for (const Who& party : {kBuyer, kSeller}) {
    std::vector<v1::TicketMessage> seen = Messages(party, t.ticket_id());
    ASSERT_EQ(seen.size(), 2u);
    for (const auto& m : seen) {
      EXPECT_EQ(m.visibility(), v1::PUBLIC);
      EXPECT_EQ(m.body().find("SECRET-NOTE"), std::string::npos);
    }
    EXPECT_EQ(MustGet(party, t.ticket_id()).message_count(), 2);
  }
  EXPECT_EQ(Messages(kAgent, t.ticket_id()).size(), 3u);
  EXPECT_EQ(MustGet(kAgent, t.ticket_id()).message_count(), 3);
  // No event carries the note (nor any message body).
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM outbox_events WHERE payload LIKE '%SECRET-NOTE%'"),
            0);
  EXPECT_GT(Count("SELECT COUNT(*) AS n FROM outbox_events WHERE topic LIKE 'support.%'"), 0);
  // The seller's first public reply is its first response, within the level-1 window.
  EXPECT_EQ(Events("support.first_response"), 1);
}

TEST_F(SupportApiTest, ListTicketsNarrowsPartiesAndFiltersTheQueue) {
  Pay("O-1");
  Pay("O-2");
  Pay("O-3", kOtherBuyer, kOtherSeller);
  MustCreate("O-1");
  MustCreate("O-2", v1::COUNTERFEIT);  // level 2
  v1::CreateTicketResponse other;
  {
    v1::CreateTicketRequest r;
    r.set_request_id("other-1");
    r.set_order_id("O-3");
    r.set_category(v1::QUESTION);
    r.set_channel(v1::CHAT);
    r.set_subject("Q");
    r.set_body("Hi");
    ASSERT_TRUE(stub_->CreateTicket(Ctx(kOtherBuyer).get(), r, &other).ok());
  }
  auto list = [&](const Who& who, v1::ListTicketsRequest r) {
    v1::ListTicketsResponse out;
    grpc::Status s = stub_->ListTickets(Ctx(who).get(), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.tickets_size();
  };
  EXPECT_EQ(list(kBuyer, {}), 2);
  EXPECT_EQ(list(kOtherBuyer, {}), 1);
  EXPECT_EQ(list(kSeller, {}), 2);
  EXPECT_EQ(list(kOtherSeller, {}), 1);
  EXPECT_EQ(list(kAgent, {}), 3);
  v1::ListTicketsRequest l2;
  l2.set_level(v1::L2_OPERATOR);
  EXPECT_EQ(list(kAgent, l2), 1);
  v1::ListTicketsRequest questions;
  questions.set_category(v1::QUESTION);
  EXPECT_EQ(list(kAgent, questions), 1);
  // Pages of one, in deadline order, cover all three once.
  v1::ListTicketsRequest page;
  page.set_page_size(1);
  std::set<std::string> seen;
  for (int i = 0; i < 5; ++i) {
    v1::ListTicketsResponse out;
    ASSERT_TRUE(stub_->ListTickets(Ctx(kAgent).get(), page, &out).ok());
    for (const auto& t : out.tickets()) seen.insert(t.ticket_id());
    if (out.next_page_token().empty()) break;
    page.set_page_token(out.next_page_token());
  }
  EXPECT_EQ(seen.size(), 3u);
  // A token of other filters is refused; a party may not filter by assignee.
  page.set_level(v1::L1_SELLER);
  v1::ListTicketsResponse out;
  EXPECT_EQ(stub_->ListTickets(Ctx(kAgent).get(), page, &out).error_code(),
            StatusCode::INVALID_ARGUMENT);
  v1::ListTicketsRequest by_assignee;
  by_assignee.set_assignee_id(kAgent.subject);
  grpc::Status s = stub_->ListTickets(Ctx(kBuyer).get(), by_assignee, &out);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
}

// A SOLVED ticket past its closes_at reads CLOSED before the background pass records it;
// ListTickets' status filter goes by what a read shows.
TEST_F(SupportApiTest, ListTicketsFiltersByTheStatusAReadShows) {
  Pay("O-1");
  v1::Ticket t = MustCreate("O-1");
  ASSERT_TRUE(Resolve(kSeller, t.ticket_id(), v1::REPLACEMENT_SENT).ok());
  auto listed = [&](v1::TicketStatus status) {
    v1::ListTicketsRequest req;
    req.set_status(status);
    v1::ListTicketsResponse resp;
    grpc::Status s = stub_->ListTickets(Ctx(kBuyer).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const v1::Ticket& x : resp.tickets()) {
      out.push_back(absl::StrCat(x.ticket_id(), " ", v1::TicketStatus_Name(x.status())));
    }
    return out;
  };
  using Listed = std::vector<std::string>;
  EXPECT_EQ(listed(v1::SOLVED), Listed{t.ticket_id() + " SOLVED"});
  EXPECT_EQ(listed(v1::CLOSED), Listed{});
  clock_.Advance(absl::Hours(96));  // closes_at: the ticket row still says SOLVED
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM tickets WHERE status = 3"), 1);
  EXPECT_EQ(listed(v1::SOLVED), Listed{});
  EXPECT_EQ(listed(v1::CLOSED), Listed{t.ticket_id() + " CLOSED"});
}

TEST_F(SupportApiTest, MergeRuleReopensSolvedAndFollowsUpClosed) {
  Pay("O-1");
  v1::Ticket first = MustCreate("O-1");
  v1::CreateTicketResponse again;
  ASSERT_TRUE(Create(kBuyer, "O-1", &again, v1::NOT_RECEIVED, "Any news?").ok());
  EXPECT_TRUE(again.merged());
  EXPECT_EQ(again.ticket().ticket_id(), first.ticket_id());
  EXPECT_EQ(again.ticket().message_count(), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM tickets"), 1);

  // SOLVED: the next CreateTicket reopens it.
  ASSERT_TRUE(Resolve(kSeller, first.ticket_id(), v1::REPLACEMENT_SENT).ok());
  ASSERT_TRUE(Create(kBuyer, "O-1", &again, v1::NOT_RECEIVED, "Replacement lost too").ok());
  EXPECT_TRUE(again.merged());
  EXPECT_EQ(again.ticket().status(), v1::OPEN);

  // CLOSED (4 days after SOLVED): reopening is refused, a new ticket follows up.
  ASSERT_TRUE(Resolve(kSeller, first.ticket_id(), v1::REPLACEMENT_SENT).ok());
  clock_.Advance(absl::Hours(96) - absl::Seconds(1));
  EXPECT_EQ(MustGet(kBuyer, first.ticket_id()).status(), v1::SOLVED);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(MustGet(kBuyer, first.ticket_id()).status(), v1::CLOSED);
  grpc::Status reopen = Reopen(kBuyer, first.ticket_id());
  EXPECT_EQ(reopen.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(DetailsOf(reopen).reason, "REOPEN_WINDOW_PASSED");
  EXPECT_EQ(DetailsOf(Message(kBuyer, first.ticket_id(), "hello?")).reason, "TICKET_CLOSED");
  ASSERT_TRUE(Create(kBuyer, "O-1", &again, v1::DAMAGED, "Now it is broken").ok());
  EXPECT_FALSE(again.merged());
  EXPECT_NE(again.ticket().ticket_id(), first.ticket_id());
  EXPECT_EQ(again.ticket().follow_up_of(), first.ticket_id());
}

// Concurrent openings: of one order, one ticket and the others merged into it; after it
// CLOSED, one follow-up and the others merged into that; of neighbouring orders, a ticket
// each (their transactions do not lock each other out).
TEST_F(SupportApiTest, ConcurrentOpeningsMakeOneTicketPerOrderAndOneFollowUp) {
  constexpr int kCalls = 6;
  Pay("O-1");
  auto open_concurrently = [&](const std::string& order, v1::Category category) {
    std::vector<v1::CreateTicketResponse> answers(kCalls);
    std::vector<std::thread> threads;
    for (int i = 0; i < kCalls; ++i) {
      threads.emplace_back([&, i] {
        grpc::Status s = Create(kBuyer, order, &answers[i], category, absl::StrCat("call ", i));
        EXPECT_TRUE(s.ok()) << s.error_message();
      });
    }
    for (auto& th : threads) th.join();
    return answers;
  };
  auto opened = [](const std::vector<v1::CreateTicketResponse>& answers) {
    std::set<std::string> ids;
    int fresh = 0;
    for (const auto& a : answers) {
      ids.insert(a.ticket().ticket_id());
      if (!a.merged()) ++fresh;
    }
    EXPECT_EQ(ids.size(), 1u);
    EXPECT_EQ(fresh, 1);
    return *ids.begin();
  };
  const std::string first = opened(open_concurrently("O-1", v1::NOT_RECEIVED));
  EXPECT_EQ(MustGet(kAgent, first).message_count(), kCalls);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM tickets"), 1);
  EXPECT_EQ(Events("support.ticket_opened"), 1);

  grpc::Status resolved = Resolve(kSeller, first, v1::REPLACEMENT_SENT);
  ASSERT_TRUE(resolved.ok()) << resolved.error_message();
  clock_.Advance(absl::Hours(96));
  ASSERT_EQ(MustGet(kBuyer, first).status(), v1::CLOSED);
  const std::string follow_up = opened(open_concurrently("O-1", v1::DAMAGED));
  EXPECT_NE(follow_up, first);
  v1::Ticket f = MustGet(kAgent, follow_up);
  EXPECT_EQ(f.follow_up_of(), first);
  EXPECT_EQ(f.message_count(), kCalls);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM tickets"), 2);
  EXPECT_EQ(Events("support.ticket_opened"), 2);

  std::vector<std::string> orders;
  for (int i = 0; i < kCalls; ++i) {
    orders.push_back(absl::StrCat("O-2", i));
    Pay(orders.back());
  }
  std::vector<std::thread> threads;
  std::atomic<int> fresh{0};
  for (const std::string& order : orders) {
    threads.emplace_back([&, order] {
      v1::CreateTicketResponse out;
      grpc::Status s = Create(kBuyer, order, &out, v1::QUESTION);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (s.ok() && !out.merged()) ++fresh;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fresh.load(), kCalls);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT order_id) AS n FROM tickets WHERE order_id LIKE 'O-2%'"),
            kCalls);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM tickets"), 2 + kCalls);
}

TEST_F(SupportApiTest, ReopenWithinTheWindowAndOnlyByTheBuyer) {
  Pay("O-1");
  v1::Ticket t = MustCreate("O-1");
  EXPECT_EQ(DetailsOf(Reopen(kBuyer, t.ticket_id())).reason, "NOT_SOLVED");
  ASSERT_TRUE(Resolve(kSeller, t.ticket_id(), v1::REPLACEMENT_SENT).ok());
  EXPECT_EQ(Reopen(kSeller, t.ticket_id()).error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reopen(kOtherBuyer, t.ticket_id()).error_code(), StatusCode::NOT_FOUND);
  clock_.Advance(absl::Hours(95));
  ASSERT_TRUE(Reopen(kBuyer, t.ticket_id()).ok());
  v1::Ticket now = MustGet(kAgent, t.ticket_id());
  EXPECT_EQ(now.status(), v1::OPEN);
  EXPECT_EQ(now.message_count(), 2);
}

TEST_F(SupportApiTest, CounterfeitOpensAtLevelTwo) {
  Pay("O-1");
  v1::Ticket t = MustCreate("O-1", v1::COUNTERFEIT);
  EXPECT_EQ(t.level(), v1::L2_OPERATOR);
  EXPECT_EQ(t.escalation_reason(), "COUNTERFEIT");
  EXPECT_EQ(Events("support.ticket_escalated"), 1);
  // The seller still replies; the agent resolves; the seller may not (level 2).
  EXPECT_TRUE(Message(kSeller, t.ticket_id(), "It is genuine").ok());
  EXPECT_EQ(DetailsOf(Resolve(kSeller, t.ticket_id(), v1::REFUND_FULL, "CONFIRMED_FAKE")).reason,
            "WRONG_LEVEL");
  EXPECT_TRUE(Resolve(kAgent, t.ticket_id(), v1::NO_ACTION, "NOT_COUNTERFEIT").ok());
}

TEST_F(SupportApiTest, BuyerEscalatesOnlyAfterTheSellerRepliedOrTheWindowPassed) {
  Pay("O-1");
  Pay("O-2");
  v1::Ticket a = MustCreate("O-1");
  v1::Ticket b = MustCreate("O-2");
  grpc::Status early = Escalate(kBuyer, a.ticket_id());
  EXPECT_EQ(early.error_code(), StatusCode::FAILED_PRECONDITION);
  Details d = DetailsOf(early);
  EXPECT_EQ(d.reason, "L1_WINDOW_OPEN");
  EXPECT_EQ(d.metadata["escalation_allowed_at"],
            absl::FormatTime(absl::RFC3339_full, clock_.Now() + absl::Hours(48),
                             absl::UTCTimeZone()));
  EXPECT_EQ(MustGet(kBuyer, a.ticket_id()).level(), v1::L1_SELLER);

  // After the seller's public reply: allowed (an internal note would not count).
  ASSERT_TRUE(Message(kSeller, a.ticket_id(), "Let me check").ok());
  v1::Ticket escalated;
  ASSERT_TRUE(Escalate(kBuyer, a.ticket_id(), &escalated).ok());
  EXPECT_EQ(escalated.level(), v1::L2_OPERATOR);
  EXPECT_EQ(escalated.escalation_reason(), "BUYER_REQUEST");
  EXPECT_EQ(DetailsOf(Escalate(kBuyer, a.ticket_id())).reason, "ALREADY_ESCALATED");

  // Without a reply, once the 48 h window has passed.
  clock_.Advance(absl::Hours(48) - absl::Seconds(1));
  EXPECT_EQ(DetailsOf(Escalate(kBuyer, b.ticket_id())).reason, "L1_WINDOW_OPEN");
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(Escalate(kBuyer, b.ticket_id()).ok());
  EXPECT_EQ(Events("support.ticket_escalated"), 2);
}

TEST_F(SupportApiTest, SellerAndAgentsEscalateAnyTime) {
  Pay("O-1");
  Pay("O-2");
  v1::Ticket a = MustCreate("O-1");
  v1::Ticket b = MustCreate("O-2");
  v1::Ticket out;
  ASSERT_TRUE(Escalate(kSeller, a.ticket_id(), &out).ok());
  EXPECT_EQ(out.escalation_reason(), "SELLER_REQUEST");
  ASSERT_TRUE(Escalate(kAgent, b.ticket_id(), &out).ok());
  EXPECT_EQ(out.escalation_reason(), "AGENT");
  EXPECT_EQ(Escalate(kOtherSeller, b.ticket_id()).error_code(), StatusCode::NOT_FOUND);
}

// The note's 2,000 characters reach the history whole, multi-byte ones too (4,000 bytes here).
TEST_F(SupportApiTest, AnEscalationsLongestNoteIsKeptWhole) {
  Pay("O-1");
  v1::Ticket a = MustCreate("O-1");
  std::string note;
  for (int i = 0; i < 2000; ++i) note += "\u00e9";
  v1::Ticket out;
  grpc::Status s = Escalate(kAgent, a.ticket_id(), &out, note);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const v1::Ticket staff = MustGet(kAgent, a.ticket_id());
  ASSERT_GT(staff.history_size(), 0);
  const v1::TicketChange& last = staff.history(staff.history_size() - 1);
  EXPECT_EQ(last.kind(), "ESCALATED");
  EXPECT_EQ(last.detail(), absl::StrCat("AGENT: ", note));
  // One more character is refused, naming the field.
  EXPECT_EQ(Escalate(kAgent, a.ticket_id(), &out, note + "e").error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(SupportApiTest, AssignAndResolveWithARefundCommand) {
  const std::string payment_id = Pay("O-1");
  v1::Ticket t = MustCreate("O-1");
  auto assign = [&](const Who& who, const std::string& assignee, v1::Ticket* out) {
    v1::AssignTicketRequest req;
    req.set_request_id(absl::StrCat("a-", ++request_counter_));
    req.set_ticket_id(t.ticket_id());
    req.set_assignee_id(assignee);
    return stub_->AssignTicket(Ctx(who).get(), req, out);
  };
  v1::Ticket out;
  ASSERT_TRUE(assign(kAgent, "", &out).ok());
  EXPECT_EQ(out.assignee_id(), kAgent.subject);
  EXPECT_EQ(assign(kAgent, kOtherAgent.subject, &out).error_code(),
            StatusCode::PERMISSION_DENIED);
  // ADMIN names the assignee: empty without unassign names the field and changes nothing.
  grpc::Status no_assignee = assign(kAdmin, "", &out);
  EXPECT_EQ(no_assignee.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailsOf(no_assignee).fields, std::vector<std::string>{"assignee_id"});
  EXPECT_EQ(MustGet(kAgent, t.ticket_id()).assignee_id(), kAgent.subject);
  ASSERT_TRUE(assign(kAdmin, kOtherAgent.subject, &out).ok());
  EXPECT_EQ(out.assignee_id(), kOtherAgent.subject);

  // Agents resolve at level 2 only.
  EXPECT_EQ(DetailsOf(Resolve(kAgent, t.ticket_id(), v1::REFUND_FULL)).reason, "WRONG_LEVEL");
  ASSERT_TRUE(Escalate(kAgent, t.ticket_id()).ok());
  // A reason code of another category names the field; nothing is written.
  const std::string before = Footprint();
  grpc::Status bad = Resolve(kAgent, t.ticket_id(), v1::REFUND_PARTIAL, "WRONG_SIZE", nullptr,
                             3000);
  EXPECT_EQ(bad.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailsOf(bad).fields, std::vector<std::string>{"reason_code"});
  grpc::Status too_much =
      Resolve(kAgent, t.ticket_id(), v1::REFUND_PARTIAL, "CARRIER_LOST", nullptr, 10001);
  EXPECT_EQ(DetailsOf(too_much).fields, std::vector<std::string>{"refund_amount.amount_minor"});
  EXPECT_EQ(Footprint(), before);

  ASSERT_TRUE(
      Resolve(kAgent, t.ticket_id(), v1::REFUND_PARTIAL, "CARRIER_LOST", &out, 3000).ok());
  EXPECT_EQ(out.status(), v1::SOLVED);
  EXPECT_EQ(out.outcome(), v1::REFUND_PARTIAL);
  EXPECT_EQ(out.refund_state(), v1::PENDING_REFUND);
  EXPECT_EQ(out.refund_amount().amount_minor(), 3000);
  EXPECT_EQ(out.refund_request_id().rfind("support:" + t.ticket_id() + ":", 0), 0u);
  auto rows = pool().Query("SELECT payment_id, amount_minor, request_id FROM refund_commands");
  ASSERT_OK(rows.status());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(*(*rows)[0].GetString("payment_id"), payment_id);
  EXPECT_EQ(*(*rows)[0].GetInt64("amount_minor"), 3000);
  EXPECT_EQ(*(*rows)[0].GetString("request_id"), out.refund_request_id());
  EXPECT_EQ(Events("support.ticket_resolved"), 1);
  EXPECT_EQ(DetailsOf(Resolve(kAgent, t.ticket_id(), v1::NO_ACTION)).reason, "ALREADY_SOLVED");
}

TEST_F(SupportApiTest, SellerResolvesAtLevelOneButNotWithNoAction) {
  Pay("O-1");
  v1::Ticket t = MustCreate("O-1");
  EXPECT_EQ(DetailsOf(Resolve(kSeller, t.ticket_id(), v1::NO_ACTION)).reason,
            "SELLER_CANNOT_CLOSE_WITHOUT_ACTION");
  EXPECT_EQ(Resolve(kOtherSeller, t.ticket_id(), v1::REFUND_FULL).error_code(),
            StatusCode::NOT_FOUND);
  v1::Ticket out;
  ASSERT_TRUE(Resolve(kSeller, t.ticket_id(), v1::REFUND_FULL, "CARRIER_LOST", &out).ok());
  EXPECT_EQ(out.refund_amount().amount_minor(), 10000);
  EXPECT_TRUE(out.counts_against_seller());
}

TEST_F(SupportApiTest, TwentyConcurrentResolutionsMakeOne) {
  Pay("O-1");
  v1::Ticket t = MustCreate("O-1");
  std::atomic<int> ok{0}, already{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      v1::ResolveTicketRequest req;
      req.set_request_id(absl::StrCat("race-", i));
      req.set_ticket_id(t.ticket_id());
      req.set_outcome(v1::REFUND_FULL);
      req.set_reason_code("CARRIER_LOST");
      req.set_explanation("Refunded");
      v1::Ticket out;
      grpc::Status s = stub_->ResolveTicket(Ctx(kSeller).get(), req, &out);
      if (s.ok()) {
        ++ok;
      } else if (DetailsOf(s).reason == "ALREADY_SOLVED") {
        ++already;
      } else {
        ++other;
        ADD_FAILURE() << s.error_code() << " " << s.error_message();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(already.load(), 19);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands"), 1);
  EXPECT_EQ(Events("support.ticket_resolved"), 1);

  // The refund reaches payments once, even with two passes racing and a pass repeated after
  // the lease (as after a crash between payments' commit and support's).
  auto worker = MakeRefundWorker();
  std::atomic<int> finished{0};
  std::thread a([&] { finished += worker->RunOnce().value_or(-100); });
  std::thread b([&] { finished += worker->RunOnce().value_or(-100); });
  a.join();
  b.join();
  EXPECT_EQ(finished.load(), 1);
  ppb::Payment paid = Payment(t.payment_id());
  EXPECT_EQ(paid.refunded().amount_minor(), 10000);
  EXPECT_EQ(paid.refunds_size(), 1);
  EXPECT_EQ(MustGet(kBuyer, t.ticket_id()).refund_state(), v1::REFUNDED);
  ASSERT_OK(pool().Execute("UPDATE refund_commands SET state = 1, next_attempt_at = '2000-01-01'"));
  EXPECT_EQ(*worker->RunOnce(), 1);  // payments answers the first result of the request_id
  EXPECT_EQ(Payment(t.payment_id()).refunded().amount_minor(), 10000);
  EXPECT_EQ(*worker->RunOnce(), 0);
}

TEST_F(SupportApiTest, APartialRefundIsSentAndARefusalIsRecorded) {
  Pay("O-1");
  Pay("O-2");
  v1::Ticket partial = MustCreate("O-1");
  v1::Ticket refused = MustCreate("O-2");
  ASSERT_TRUE(Escalate(kAgent, partial.ticket_id()).ok());
  ASSERT_TRUE(Resolve(kAgent, partial.ticket_id(), v1::REFUND_PARTIAL, "CARRIER_LOST", nullptr,
                      2500)
                  .ok());
  ASSERT_TRUE(Resolve(kSeller, refused.ticket_id(), v1::REFUND_FULL).ok());
  // The second payment is refunded in full elsewhere first: payments refuses support's refund.
  ppb::RefundPaymentRequest req;
  req.set_request_id("direct");
  req.set_payment_id(refused.payment_id());
  req.mutable_amount()->set_currency_code("EUR");
  req.mutable_amount()->set_amount_minor(10000);
  req.set_reason("refunded by the seller directly");
  ppb::Payment out;
  ASSERT_TRUE(payments_stub_->RefundPayment(Ctx(kAdmin, "payments").get(), req, &out).ok());

  auto worker = MakeRefundWorker();
  EXPECT_EQ(*worker->RunOnce(), 2);
  EXPECT_EQ(Payment(partial.payment_id()).refunded().amount_minor(), 2500);
  EXPECT_EQ(MustGet(kAgent, partial.ticket_id()).refund_state(), v1::REFUNDED);
  v1::Ticket t = MustGet(kAgent, refused.ticket_id());
  EXPECT_EQ(t.refund_state(), v1::REFUND_REFUSED);
  EXPECT_EQ(t.history(t.history_size() - 1).kind(), "REFUND_RESULT");
  EXPECT_EQ(Payment(refused.payment_id()).refunded().amount_minor(), 10000);
}

// A ticket reopened after a partial refund and resolved again asks payments only for what is
// left; once nothing is left, a refund outcome is refused before anything is recorded.
TEST_F(SupportApiTest, AFullRefundAfterAPartialOneRefundsTheRest) {
  Pay("O-1");
  v1::Ticket t = MustCreate("O-1");
  ASSERT_TRUE(Escalate(kAgent, t.ticket_id()).ok());
  ASSERT_TRUE(
      Resolve(kAgent, t.ticket_id(), v1::REFUND_PARTIAL, "CARRIER_LOST", nullptr, 2500).ok());
  auto worker = MakeRefundWorker();
  EXPECT_EQ(*worker->RunOnce(), 1);

  ASSERT_TRUE(Reopen(kBuyer, t.ticket_id()).ok());
  grpc::Status too_much =
      Resolve(kAgent, t.ticket_id(), v1::REFUND_PARTIAL, "CARRIER_LOST", nullptr, 8000);
  EXPECT_EQ(too_much.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(DetailsOf(too_much).reason, "REFUND_EXCEEDS_REMAINING");
  v1::Ticket full;
  ASSERT_TRUE(Resolve(kAgent, t.ticket_id(), v1::REFUND_FULL, "CARRIER_LOST", &full).ok());
  EXPECT_EQ(full.refund_amount().amount_minor(), 7500);
  EXPECT_EQ(*worker->RunOnce(), 1);
  EXPECT_EQ(MustGet(kAgent, t.ticket_id()).refund_state(), v1::REFUNDED);
  EXPECT_EQ(Payment(t.payment_id()).refunded().amount_minor(), 10000);

  ASSERT_TRUE(Reopen(kBuyer, t.ticket_id()).ok());
  const std::string before = Footprint();
  for (v1::Outcome outcome : {v1::REFUND_FULL, v1::RETURN_THEN_REFUND}) {
    grpc::Status none = Resolve(kAgent, t.ticket_id(), outcome);
    EXPECT_EQ(DetailsOf(none).reason, "NOTHING_LEFT_TO_REFUND") << v1::Outcome_Name(outcome);
  }
  EXPECT_EQ(
      DetailsOf(Resolve(kAgent, t.ticket_id(), v1::REFUND_PARTIAL, "CARRIER_LOST", nullptr, 1))
          .reason,
      "NOTHING_LEFT_TO_REFUND");
  EXPECT_EQ(Footprint(), before);
  // A resolution without money still goes.
  EXPECT_TRUE(Resolve(kAgent, t.ticket_id(), v1::ANSWERED, "CARRIER_LOST").ok());
}

TEST_F(SupportApiTest, AStartedWorkerDrainsABacklogBatchAfterBatch) {
  std::vector<std::string> tickets;
  for (int i = 0; i < 5; ++i) {
    const std::string order = absl::StrCat("O-", i);
    Pay(order);
    const v1::Ticket t = MustCreate(order);
    ASSERT_TRUE(Resolve(kSeller, t.ticket_id(), v1::REFUND_FULL, "CARRIER_LOST").ok());
    tickets.push_back(t.ticket_id());
  }
  // Two a pass, a pass an hour: only the passes that follow a full batch at once can refund
  // all five while this waits.
  auto worker = MakeRefundWorker({.interval = absl::Hours(1), .batch_size = 2});
  worker->Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  int64_t refunded = 0;
  while (absl::Now() < deadline) {
    refunded = Count("SELECT COUNT(*) AS n FROM refund_commands WHERE state = " +
                     std::to_string(v1::REFUNDED));
    if (refunded == 5) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  worker->Stop();
  EXPECT_EQ(refunded, 5);
  for (const std::string& id : tickets) {
    EXPECT_EQ(MustGet(kBuyer, id).refund_state(), v1::REFUNDED) << id;
  }
  // The pass after the last full batch found nothing more.
  auto again = worker->RunPass();
  ASSERT_OK(again.status());
  EXPECT_EQ(again->finished, 0);
  EXPECT_FALSE(again->more);
}

TEST_F(SupportApiTest, RatingOnceWithinTwentyEightDaysOfSolved) {
  Pay("O-1");
  Pay("O-2");
  v1::Ticket t = MustCreate("O-1");
  EXPECT_EQ(DetailsOf(Rate(kBuyer, t.ticket_id(), 5)).reason, "NOT_SOLVED");
  ASSERT_TRUE(Resolve(kSeller, t.ticket_id(), v1::REPLACEMENT_SENT).ok());
  EXPECT_EQ(Rate(kSeller, t.ticket_id(), 5).error_code(), StatusCode::PERMISSION_DENIED);
  const std::string before = Footprint();
  EXPECT_EQ(DetailsOf(Rate(kBuyer, t.ticket_id(), 0)).fields, std::vector<std::string>{"score"});
  EXPECT_EQ(DetailsOf(Rate(kBuyer, t.ticket_id(), 6)).fields, std::vector<std::string>{"score"});
  EXPECT_EQ(DetailsOf(Rate(kBuyer, t.ticket_id(), 4, std::string(2001, 'x'))).fields,
            std::vector<std::string>{"comment"});
  EXPECT_EQ(Footprint(), before);
  ASSERT_TRUE(Rate(kBuyer, t.ticket_id(), 4, std::string(2000, 'x')).ok());
  grpc::Status second = Rate(kBuyer, t.ticket_id(), 5);
  EXPECT_EQ(second.error_code(), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(DetailsOf(second).reason, "ALREADY_RATED");
  EXPECT_EQ(MustGet(kBuyer, t.ticket_id()).rating(), 4);
  EXPECT_EQ(Events("support.csat_rated"), 1);

  v1::Ticket late = MustCreate("O-2");
  ASSERT_TRUE(Resolve(kSeller, late.ticket_id(), v1::REPLACEMENT_SENT).ok());
  clock_.Advance(absl::Hours(28 * 24) + absl::Seconds(1));
  EXPECT_EQ(DetailsOf(Rate(kBuyer, late.ticket_id(), 5)).reason, "RATING_WINDOW_PASSED");
}

TEST_F(SupportApiTest, UpdateTicketByMaskAndClaimEvents) {
  Pay("O-1");
  v1::Ticket t = MustCreate("O-1", v1::QUESTION);
  EXPECT_FALSE(t.is_claim());
  auto update = [&](const Who& who, v1::UpdateTicketRequest req, v1::Ticket* out) {
    req.set_request_id(absl::StrCat("u-", ++request_counter_));
    req.set_ticket_id(t.ticket_id());
    return stub_->UpdateTicket(Ctx(who).get(), req, out);
  };
  v1::Ticket out;
  v1::UpdateTicketRequest req;
  req.set_category(v1::DAMAGED);
  req.set_reason_code("TRANSIT_DAMAGE");
  req.add_tags("fragile");
  req.mutable_update_mask()->add_paths("category");
  req.mutable_update_mask()->add_paths("reason_code");
  req.mutable_update_mask()->add_paths("tags");
  EXPECT_EQ(update(kBuyer, req, &out).error_code(), StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(update(kAgent, req, &out).ok());
  EXPECT_EQ(out.category(), v1::DAMAGED);
  EXPECT_EQ(out.reason_code(), "TRANSIT_DAMAGE");
  EXPECT_EQ(out.reason_codes_version(), 1);
  EXPECT_TRUE(out.is_claim());
  EXPECT_EQ(out.tags_size(), 1);
  EXPECT_EQ(Events("support.claim_updated"), 1);

  const std::string before = Footprint();
  v1::UpdateTicketRequest bad;
  bad.mutable_update_mask()->add_paths("status");
  EXPECT_EQ(DetailsOf(update(kAgent, bad, &out)).fields,
            std::vector<std::string>{"update_mask"});
  v1::UpdateTicketRequest wrong_code;
  wrong_code.set_reason_code("CARRIER_LOST");  // not a DAMAGED code
  wrong_code.mutable_update_mask()->add_paths("reason_code");
  EXPECT_EQ(DetailsOf(update(kAgent, wrong_code, &out)).fields,
            std::vector<std::string>{"reason_code"});
  EXPECT_EQ(Footprint(), before);
}

TEST_F(SupportApiTest, MergeTicketsMovesMessagesAndClosesTheSource) {
  Pay("O-1");
  Pay("O-2");
  v1::Ticket target = MustCreate("O-1", v1::QUESTION);
  v1::Ticket other_order = MustCreate("O-2");
  // A second open ticket about O-1 (as one written before the merge rule existed; a
  // follow-up of another ticket, since an order's first ticket is unique).
  const std::string source_id = "tkt_00000000000000000000abcd";
  ASSERT_OK(
      pool()
          .Execute(
              "INSERT INTO tickets SELECT ? AS ticket_id, buyer_id, seller_id, order_id, "
              "payment_id, "
              "payment_currency, payment_amount_minor, 2, channel, level, status, assignee_id, "
              "reason_code, reason_codes_version, tags_json, subject, merged_into, "
              "'tkt_00000000000000000000abce', created_at, updated_at, escalation_allowed_at, "
              "seller_replied, first_reply_at, "
              "escalated_at, escalation_reason, outcome, resolution_note, refund_currency, "
              "refund_amount_minor, refund_state, refund_request_id, solved_at, closed_at, rating, "
              "rating_comment, 1, counts_against_seller, public_messages, all_messages, "
              "history_seq, "
              "sort_at, csat_requested_at, closes_at, changed_at FROM tickets WHERE ticket_id = ?",
              {source_id, target.ticket_id()})
          .status());
  ASSERT_OK(pool().Execute(
      "INSERT INTO ticket_messages SELECT ?, seq, 'msg_00000000000000000000abcd', author_id, "
      "author_role, visibility, 'the older message', created_at FROM ticket_messages WHERE "
      "ticket_id = ?",
      {source_id, target.ticket_id()}).status());
  auto merge = [&](const Who& who, const std::string& into, const std::string& from,
                   v1::Ticket* out) {
    v1::MergeTicketsRequest req;
    req.set_request_id(absl::StrCat("g-", ++request_counter_));
    req.set_target_ticket_id(into);
    req.set_source_ticket_id(from);
    return stub_->MergeTickets(Ctx(who).get(), req, out);
  };
  v1::Ticket out;
  EXPECT_EQ(merge(kBuyer, target.ticket_id(), source_id, &out).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(DetailsOf(merge(kAgent, target.ticket_id(), target.ticket_id(), &out)).reason,
            "MERGE_SELF");
  EXPECT_EQ(DetailsOf(merge(kAgent, target.ticket_id(), other_order.ticket_id(), &out)).reason,
            "MERGE_DIFFERENT_ORDER");
  ASSERT_TRUE(merge(kAgent, target.ticket_id(), source_id, &out).ok());
  EXPECT_EQ(out.message_count(), 2);
  EXPECT_TRUE(out.is_claim());  // the source was a claim
  EXPECT_EQ(Events("support.claim_updated"), 1);
  v1::Ticket source = MustGet(kAgent, source_id);
  EXPECT_EQ(source.status(), v1::CLOSED);
  EXPECT_EQ(source.merged_into(), target.ticket_id());
  EXPECT_EQ(DetailsOf(merge(kAgent, target.ticket_id(), source_id, &out)).reason,
            "TICKET_CLOSED");
  // A merged ticket is CLOSED: rating it is TICKET_CLOSED (the target is the one to rate).
  EXPECT_EQ(DetailsOf(Rate(kBuyer, source_id, 5)).reason, "TICKET_CLOSED");
}

TEST_F(SupportApiTest, AwaitingBuyerAndBack) {
  Pay("O-1");
  v1::Ticket t = MustCreate("O-1");
  EXPECT_EQ(Message(kBuyer, t.ticket_id(), "?", v1::PUBLIC, true).error_code(),
            StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Message(kSeller, t.ticket_id(), "Which address?", v1::PUBLIC, true).ok());
  EXPECT_EQ(MustGet(kBuyer, t.ticket_id()).status(), v1::AWAITING_BUYER);
  ASSERT_TRUE(Message(kBuyer, t.ticket_id(), "Main street 1").ok());
  EXPECT_EQ(MustGet(kBuyer, t.ticket_id()).status(), v1::OPEN);
  // Staff may ask the buyer at any level; the seller no longer once the ticket is at level 2.
  ASSERT_TRUE(Message(kAgent, t.ticket_id(), "A photo, please?", v1::PUBLIC, true).ok());
  EXPECT_EQ(MustGet(kBuyer, t.ticket_id()).status(), v1::AWAITING_BUYER);
  ASSERT_TRUE(Message(kBuyer, t.ticket_id(), "Attached").ok());
  ASSERT_TRUE(Escalate(kSeller, t.ticket_id()).ok());
  EXPECT_EQ(Message(kSeller, t.ticket_id(), "?", v1::PUBLIC, true).error_code(),
            StatusCode::PERMISSION_DENIED);
}

TEST_F(SupportApiTest, EachBadInputNamesItsFieldAndWritesNothing) {
  Pay("O-1");
  v1::Ticket t = MustCreate("O-1");
  const std::string before = Footprint();
  auto create_with = [&](const std::function<void(v1::CreateTicketRequest&)>& change) {
    v1::CreateTicketRequest req;
    req.set_request_id(absl::StrCat("bad-", ++request_counter_));
    req.set_order_id("O-1");
    req.set_category(v1::DAMAGED);
    req.set_channel(v1::WEB_FORM);
    req.set_subject("s");
    req.set_body("b");
    change(req);
    v1::CreateTicketResponse out;
    grpc::Status s = stub_->CreateTicket(Ctx(kBuyer).get(), req, &out);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << s.error_message();
    return DetailsOf(s).fields;
  };
  using F = std::vector<std::string>;
  EXPECT_EQ(create_with([](auto& r) { r.set_request_id(""); }), F{"request_id"});
  EXPECT_EQ(create_with([](auto& r) { r.set_order_id(""); }), F{"order_id"});
  EXPECT_EQ(create_with([](auto& r) { r.set_order_id(std::string(129, 'o')); }), F{"order_id"});
  EXPECT_EQ(create_with([](auto& r) { r.set_buyer_id("B0B0"); }), F{"buyer_id"});
  // An id the platform issues, but not an account's (identity's are 32 hex digits, no prefix).
  EXPECT_EQ(create_with([](auto& r) { r.set_buyer_id("pay_0123456789abcdef01234567"); }),
            F{"buyer_id"});
  EXPECT_EQ(create_with([](auto& r) { r.set_category(v1::CATEGORY_UNSPECIFIED); }),
            F{"category"});
  EXPECT_EQ(create_with([](auto& r) { r.set_channel(v1::CHANNEL_UNSPECIFIED); }), F{"channel"});
  EXPECT_EQ(create_with([](auto& r) { r.set_subject(""); }), F{"subject"});
  EXPECT_EQ(create_with([](auto& r) { r.set_body(""); }), F{"body"});
  EXPECT_EQ(create_with([](auto& r) { r.set_body(std::string(10001, 'b')); }), F{"body"});
  // 10,000 characters of 2 bytes each is within the limit (characters, not bytes): its own
  // test below writes; here only the refusals.
  auto attachment = [](v1::CreateTicketRequest& r) {
    v1::Attachment* a = r.add_attachments();
    a->set_uri("https://files.example/a.jpg");
    a->set_filename("a.jpg");
    a->set_content_type("image/jpeg");
    a->set_size_bytes(1000);
    a->set_sha256(std::string(64, 'a'));
    return a;
  };
  EXPECT_EQ(create_with([&](auto& r) { attachment(r)->set_content_type("application/x-sh"); }),
            F{"attachments[0].content_type"});
  EXPECT_EQ(create_with([&](auto& r) { attachment(r)->set_size_bytes(20 * 1024 * 1024 + 1); }),
            F{"attachments[0].size_bytes"});
  EXPECT_EQ(create_with([&](auto& r) { attachment(r)->set_sha256(std::string(64, 'A')); }),
            F{"attachments[0].sha256"});
  EXPECT_EQ(create_with([&](auto& r) { attachment(r)->set_uri("ftp://x/y"); }),
            F{"attachments[0].uri"});
  EXPECT_EQ(create_with([&](auto& r) { attachment(r)->set_filename("../etc/passwd"); }),
            F{"attachments[0].filename"});
  EXPECT_EQ(create_with([&](auto& r) {
              for (int i = 0; i < 11; ++i) attachment(r);
            }),
            F{"attachments"});

  v1::AddTicketMessageRequest m;
  m.set_request_id("bad-m");
  m.set_ticket_id(absl::AsciiStrToUpper(t.ticket_id()));
  m.set_body("hello");
  v1::TicketMessage msg;
  grpc::Status s = stub_->AddTicketMessage(Ctx(kBuyer).get(), m, &msg);
  EXPECT_EQ(DetailsOf(s).fields, F{"ticket_id"});
  m.set_ticket_id(t.ticket_id());
  m.set_body(std::string(10001, 'x'));
  EXPECT_EQ(DetailsOf(stub_->AddTicketMessage(Ctx(kBuyer).get(), m, &msg)).fields, F{"body"});
  m.set_body("hello");
  m.set_visibility(v1::INTERNAL);
  m.set_await_seller(true);
  EXPECT_EQ(DetailsOf(stub_->AddTicketMessage(Ctx(kAgent).get(), m, &msg)).fields,
            F{"await_seller"});
  m.set_visibility(v1::PUBLIC);
  m.set_await_seller(false);

  v1::ResolveTicketRequest r;
  r.set_request_id("bad-r");
  r.set_ticket_id(t.ticket_id());
  r.set_outcome(v1::REFUND_PARTIAL);
  r.set_reason_code("CARRIER_LOST");
  r.set_explanation("x");
  v1::Ticket out;
  EXPECT_EQ(DetailsOf(stub_->ResolveTicket(Ctx(kSeller).get(), r, &out)).fields,
            F{"refund_amount"});
  r.set_outcome(v1::ANSWERED);
  r.mutable_refund_amount()->set_currency_code("EUR");
  r.mutable_refund_amount()->set_amount_minor(1);
  EXPECT_EQ(DetailsOf(stub_->ResolveTicket(Ctx(kSeller).get(), r, &out)).fields,
            F{"refund_amount"});
  EXPECT_EQ(Footprint(), before);

  // A body of 10,000 two-byte characters is accepted, with a valid attachment.
  v1::AddTicketMessageRequest wide;
  wide.set_request_id("wide");
  wide.set_ticket_id(t.ticket_id());
  std::string body;
  for (int i = 0; i < 10000; ++i) body += "\xc3\xa9";
  wide.set_body(body);
  v1::Attachment* a = wide.add_attachments();
  a->set_uri("s3://bucket/photo.png");
  a->set_filename("photo.png");
  a->set_content_type("image/png");
  a->set_size_bytes(20 * 1024 * 1024);
  a->set_sha256(std::string(64, 'f'));
  ASSERT_TRUE(stub_->AddTicketMessage(Ctx(kBuyer).get(), wide, &msg).ok());
  EXPECT_EQ(msg.attachments_size(), 1);
  std::vector<v1::TicketMessage> listed = Messages(kBuyer, t.ticket_id());
  ASSERT_EQ(listed.size(), 2u);
  ASSERT_EQ(listed.back().attachments_size(), 1);
  EXPECT_EQ(listed.back().attachments(0).sha256(), std::string(64, 'f'));
  EXPECT_EQ(listed.back().attachments(0).size_bytes(), 20 * 1024 * 1024);
}

TEST_F(SupportApiTest, ARepeatedRequestIdAnswersTheFirstResult) {
  Pay("O-1");
  v1::CreateTicketResponse first, again;
  ASSERT_TRUE(Create(kBuyer, "O-1", &first, v1::NOT_RECEIVED, "Where?", "same-id").ok());
  ASSERT_TRUE(Create(kBuyer, "O-1", &again, v1::NOT_RECEIVED, "Where?", "same-id").ok());
  EXPECT_EQ(again.ticket().ticket_id(), first.ticket().ticket_id());
  EXPECT_FALSE(again.merged());
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ticket_messages"), 1);
  grpc::Status reused = Create(kBuyer, "O-1", &again, v1::NOT_RECEIVED, "Other", "same-id");
  EXPECT_EQ(DetailsOf(reused).reason, "REQUEST_ID_REUSED");
  // Reused for an order payments does not know for the buyer: still REQUEST_ID_REUSED, not
  // ORDER_NOT_FOUND (the stored request is looked at before that answer).
  reused = Create(kBuyer, "O-unpaid", &again, v1::NOT_RECEIVED, "Where?", "same-id");
  EXPECT_EQ(DetailsOf(reused).reason, "REQUEST_ID_REUSED");
  // A new request_id on that order: ORDER_NOT_FOUND.
  EXPECT_EQ(DetailsOf(Create(kBuyer, "O-unpaid", &again)).reason, "ORDER_NOT_FOUND");
}

TEST_F(SupportApiTest, IntakeServiceAndStaffOpenTicketsForABuyer) {
  Pay("O-1");
  Pay("O-2");
  v1::CreateTicketResponse out;
  ASSERT_TRUE(Create(kIntake, "O-1", &out).ok());
  EXPECT_EQ(out.ticket().buyer_id(), kBuyer.subject);
  ASSERT_TRUE(Create(kAgent, "O-2", &out).ok());
  EXPECT_EQ(out.ticket().buyer_id(), kBuyer.subject);
  // A buyer naming another buyer may not.
  v1::CreateTicketRequest req;
  req.set_request_id("for-other");
  req.set_order_id("O-1");
  req.set_buyer_id(kOtherBuyer.subject);
  req.set_category(v1::QUESTION);
  req.set_channel(v1::CHAT);
  req.set_subject("s");
  req.set_body("b");
  EXPECT_EQ(stub_->CreateTicket(Ctx(kBuyer).get(), req, &out).error_code(),
            StatusCode::PERMISSION_DENIED);
}

TEST_F(SupportApiTest, ModeratorMayCallNothingAndEachRoleAsTheTableSays) {
  const std::string id = "tkt_000000000000000000000000";
  std::vector<std::function<grpc::Status(const Who&)>> calls = {
      [&](const Who& w) { v1::CreateTicketResponse o; return stub_->CreateTicket(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::Ticket o; return stub_->GetTicket(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::ListTicketMessagesResponse o; return stub_->ListTicketMessages(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::ListTicketsResponse o; return stub_->ListTickets(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::TicketMessage o; return stub_->AddTicketMessage(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::Ticket o; return stub_->EscalateTicket(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::Ticket o; return stub_->AssignTicket(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::Ticket o; return stub_->ResolveTicket(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::Ticket o; return stub_->ReopenTicket(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::Ticket o; return stub_->MergeTickets(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::Ticket o; return stub_->UpdateTicket(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::Ticket o; return stub_->RateTicket(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::SlaPolicy o; return stub_->GetSlaPolicy(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::SlaPolicy o; return stub_->UpdateSlaPolicy(Ctx(w).get(), {}, &o); },
      [&](const Who& w) { v1::ComplaintReport o; return stub_->GetComplaintReport(Ctx(w).get(), {}, &o); },
  };
  ASSERT_EQ(calls.size(), kMethodCount);
  for (size_t i = 0; i < calls.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(calls[i](kModerator).error_code(), StatusCode::PERMISSION_DENIED);
  }
  // Over the wire, each role as the table says: a role that may call gets past the guard (its
  // empty request is then INVALID_ARGUMENT or UNIMPLEMENTED), the others PERMISSION_DENIED.
  struct RoleRow {
    const Who* who;
    std::vector<bool> allowed;  // in the order of `calls`
  };
  const std::vector<RoleRow> rows = {
      {&kBuyer, {1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0}},
      {&kSeller, {0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1}},
      {&kAgent, {1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1}},
      {&kAdmin, {1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1}},
      {&kIntake, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
  };
  for (const RoleRow& row : rows) {
    for (size_t i = 0; i < calls.size(); ++i) {
      SCOPED_TRACE(absl::StrCat(row.who->roles[0], " method ", i));
      const StatusCode code = calls[i](*row.who).error_code();
      if (row.allowed[i]) {
        EXPECT_NE(code, StatusCode::PERMISSION_DENIED);
      } else {
        EXPECT_EQ(code, StatusCode::PERMISSION_DENIED);
      }
    }
  }
  (void)id;
}

TEST_F(SupportApiTest, ComplaintReportCountsOwnTicketsForSellersAndAllForStaff) {
  Pay("O-1");
  Pay("O-2");
  Pay("O-3", kBuyer, kOtherSeller);
  v1::Ticket a = MustCreate("O-1");
  v1::Ticket b = MustCreate("O-2");
  MustCreate("O-3", v1::QUESTION);
  clock_.Advance(absl::Minutes(10));
  ASSERT_TRUE(Message(kSeller, a.ticket_id(), "Sorry").ok());
  clock_.Advance(absl::Minutes(20));
  ASSERT_TRUE(Message(kSeller, b.ticket_id(), "Checking").ok());
  ASSERT_TRUE(Resolve(kSeller, a.ticket_id(), v1::REPLACEMENT_SENT).ok());
  ASSERT_TRUE(Resolve(kSeller, b.ticket_id(), v1::REPLACEMENT_SENT).ok());
  ASSERT_TRUE(Rate(kBuyer, a.ticket_id(), 5).ok());
  ASSERT_TRUE(Rate(kBuyer, b.ticket_id(), 2).ok());
  auto report = [&](const Who& who, const std::string& seller, v1::ComplaintReport* out) {
    v1::GetComplaintReportRequest req;
    req.set_seller_id(seller);
    *req.mutable_start_time() = common::ToTimestamp(clock_.Now() - absl::Hours(1));
    *req.mutable_end_time() = common::ToTimestamp(clock_.Now() + absl::Hours(1));
    return stub_->GetComplaintReport(Ctx(who).get(), req, out);
  };
  v1::ComplaintReport mine;
  ASSERT_TRUE(report(kSeller, "", &mine).ok());
  ASSERT_EQ(mine.rows_size(), 1);
  EXPECT_EQ(mine.rows(0).category(), v1::NOT_RECEIVED);
  EXPECT_EQ(mine.rows(0).reason_code(), "CARRIER_LOST");
  EXPECT_EQ(mine.rows(0).outcome(), v1::REPLACEMENT_SENT);
  EXPECT_EQ(mine.rows(0).tickets(), 2);
  EXPECT_EQ(mine.first_reply_p50_seconds(), 600);
  EXPECT_EQ(mine.first_reply_p90_seconds(), 1800);
  EXPECT_EQ(mine.ratings(), 2);
  EXPECT_EQ(mine.csat_bps(), 5000);
  v1::ComplaintReport all;
  ASSERT_TRUE(report(kAgent, "", &all).ok());
  EXPECT_EQ(all.rows_size(), 2);
  EXPECT_EQ(report(kSeller, kOtherSeller.subject, &all).error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::GetComplaintReportRequest no_window;
  EXPECT_EQ(DetailsOf(stub_->GetComplaintReport(Ctx(kAgent).get(), no_window, &all)).fields,
            (std::vector<std::string>{"start_time", "end_time"}));
}

TEST_F(SupportApiTest, BacklogGaugeCountsOpenTicketsByLevelAndStatus) {
  Pay("O-1");
  Pay("O-2");
  MustCreate("O-1");
  v1::Ticket b = MustCreate("O-2", v1::COUNTERFEIT);
  prometheus::Registry registry;
  BacklogMetrics metrics(store_.get(), registry);
  ASSERT_OK(metrics.RefreshOnce());
  std::map<std::string, double> values;
  for (const auto& family : registry.Collect()) {
    if (family.name != "support_backlog") continue;
    for (const auto& m : family.metric) {
      std::string key;
      for (const auto& l : m.label) key += l.name + "=" + l.value + ",";
      values[key] = m.gauge.value;
    }
  }
  EXPECT_EQ(values.size(), 6u);
  EXPECT_EQ(values["level=L1_SELLER,status=OPEN,"], 1);
  EXPECT_EQ(values["level=L2_OPERATOR,status=OPEN,"], 1);
  ASSERT_TRUE(Resolve(kAgent, b.ticket_id(), v1::NO_ACTION, "NOT_COUNTERFEIT").ok());
  ASSERT_OK(metrics.RefreshOnce());
  for (const auto& family : registry.Collect()) {
    if (family.name != "support_backlog") continue;
    for (const auto& m : family.metric) {
      std::string key;
      for (const auto& l : m.label) key += l.name + "=" + l.value + ",";
      values[key] = m.gauge.value;
    }
  }
  EXPECT_EQ(values["level=L2_OPERATOR,status=OPEN,"], 0);
  EXPECT_EQ(values["level=L2_OPERATOR,status=SOLVED,"], 1);
}

TEST_F(SupportApiTest, PaidOrdersCountOncePerPaymentHeldEvent) {
  common::events::EventConsumer consumer(&pool());
  AddPaidOrderConsumer(consumer);
  payments::v1::PaymentHeld held;
  held.set_payment_id("pay_000000000000000000000001");
  held.set_order_id("O-1");
  held.set_buyer_id(kBuyer.subject);
  held.set_seller_id(kSeller.subject);
  marketplace::events::v1::Event event;
  event.set_event_id("ev-1");
  event.set_topic("payments.payment_held");
  event.set_source("payments");
  event.set_key(held.payment_id());
  *event.mutable_occurred_at() = common::ToTimestamp(absl::FromUnixSeconds(1));
  event.mutable_payload()->PackFrom(held);
  common::auth::Caller relay;
  relay.subject = kPaymentsRelay.subject;
  relay.roles = {"SERVICE"};
  relay.scopes = {"payments.events.publish"};
  ASSERT_OK(consumer.Deliver(relay, event));
  ASSERT_OK(consumer.Deliver(relay, event));  // redelivered
  EXPECT_EQ(*store_->CountPaidOrders(kBuyer.subject, absl::FromUnixSeconds(0)), 1);
  common::auth::Caller stranger = relay;
  stranger.scopes = {"support.events.publish"};
  event.set_event_id("ev-2");
  EXPECT_EQ(consumer.Deliver(stranger, event).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(*store_->CountPaidOrders(kBuyer.subject, absl::FromUnixSeconds(0)), 1);
}

TEST_F(SupportApiTest, SlaPolicyIsSeededOnceAndVersionedByAdmin) {
  // The seed is version 1; a second seed (another replica, a restart) keeps it.
  v1::SlaPolicy other;
  other.add_targets()->set_level(v1::L1_SELLER);
  ASSERT_OK_AND_ASSIGN(bool seeded_again, store_->SeedSlaPolicy(other));
  EXPECT_FALSE(seeded_again);
  v1::SlaPolicy v1_policy;
  ASSERT_TRUE(stub_->GetSlaPolicy(Ctx(kAgent).get(), {}, &v1_policy).ok());
  EXPECT_EQ(v1_policy.version(), 1);
  EXPECT_EQ(v1_policy.warn_percent(), 75);
  EXPECT_EQ(v1_policy.close_after().seconds(), 4 * 24 * 3600);
  EXPECT_EQ(v1_policy.targets_size(), 7);
  EXPECT_GT(v1_policy.auto_refund_caps_size(), 0);

  // ADMIN stores version 2 (an L1 EMAIL first reply of 3 h); version 1 is kept.
  clock_.Advance(absl::Hours(1));
  v1::UpdateSlaPolicyRequest req;
  req.set_request_id("policy-1");
  req.set_expected_version(1);
  *req.mutable_policy() = v1_policy;
  for (v1::SlaTarget& t : *req.mutable_policy()->mutable_targets()) {
    if (t.level() == v1::L1_SELLER && t.metric() == v1::FIRST_REPLY && t.channel() == v1::EMAIL) {
      t.mutable_target()->set_seconds(3 * 3600);
    }
  }
  v1::SlaPolicy v2;
  grpc::Status s = stub_->UpdateSlaPolicy(Ctx(kAdmin).get(), req, &v2);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(v2.version(), 2);
  EXPECT_EQ(v2.updated_by(), kAdmin.subject);
  EXPECT_EQ(v2.updated_at().seconds(), absl::ToUnixSeconds(clock_.Now()));
  v1::SlaPolicy now;
  ASSERT_TRUE(stub_->GetSlaPolicy(Ctx(kAdmin).get(), {}, &now).ok());
  EXPECT_EQ(now.version(), 2);
  ASSERT_OK_AND_ASSIGN(sla::Policy parsed, sla::Policy::FromProto(now));
  EXPECT_EQ(parsed.TargetFor(v1::L1_SELLER, v1::EMAIL, v1::FIRST_REPLY)->duration,
            absl::Hours(3));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::SlaPolicy> kept, store_->SlaPolicyVersion(1));
  ASSERT_TRUE(kept.has_value());
  ASSERT_OK_AND_ASSIGN(sla::Policy first, sla::Policy::FromProto(*kept));
  EXPECT_EQ(first.TargetFor(v1::L1_SELLER, v1::EMAIL, v1::FIRST_REPLY)->duration, absl::Hours(6));

  // The same request id answers the first result; no version 3.
  v1::SlaPolicy again;
  ASSERT_TRUE(stub_->UpdateSlaPolicy(Ctx(kAdmin).get(), req, &again).ok());
  EXPECT_EQ(again.version(), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM sla_policies"), 2);

  // A stale expected_version: FAILED_PRECONDITION POLICY_VERSION_CHANGED, nothing written.
  req.set_request_id("policy-2");
  s = stub_->UpdateSlaPolicy(Ctx(kAdmin).get(), req, &again);
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(DetailsOf(s).reason, "POLICY_VERSION_CHANGED");
  EXPECT_EQ(DetailsOf(s).metadata["version"], "2");

  // Bad input names the field; nothing written.
  auto update_with = [&](const std::function<void(v1::UpdateSlaPolicyRequest&)>& change) {
    v1::UpdateSlaPolicyRequest r;
    r.set_request_id(absl::StrCat("bad-", ++request_counter_));
    r.set_expected_version(2);
    *r.mutable_policy() = now;
    change(r);
    v1::SlaPolicy out;
    grpc::Status st = stub_->UpdateSlaPolicy(Ctx(kAdmin).get(), r, &out);
    EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << st.error_message();
    return DetailsOf(st).fields;
  };
  using F = std::vector<std::string>;
  EXPECT_EQ(update_with([](auto& r) { r.clear_policy(); }), F{"policy"});
  EXPECT_EQ(update_with([](auto& r) { r.set_expected_version(0); }), F{"expected_version"});
  EXPECT_EQ(update_with([](auto& r) { r.set_request_id(""); }), F{"request_id"});
  EXPECT_EQ(update_with([](auto& r) {
              r.mutable_policy()->mutable_targets(0)->mutable_target()->set_seconds(30);
            }),
            F{"policy.targets[0].target"});
  EXPECT_EQ(update_with([](auto& r) { r.mutable_policy()->set_warn_percent(100); }),
            F{"policy.warn_percent"});
  EXPECT_EQ(update_with([](auto& r) { r.mutable_policy()->clear_targets(); }),
            F{"policy.targets"});
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM sla_policies"), 2);

  // SUPPORT_AGENT reads but may not change it.
  req.set_request_id("policy-3");
  req.set_expected_version(2);
  EXPECT_EQ(stub_->UpdateSlaPolicy(Ctx(kAgent).get(), req, &again).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM sla_policies"), 2);
}

TEST_F(SupportApiTest, ConcurrentPolicyUpdatesOnOneVersionMakeOneNewVersion) {
  v1::SlaPolicy current;
  ASSERT_TRUE(stub_->GetSlaPolicy(Ctx(kAdmin).get(), {}, &current).ok());
  constexpr int kCallers = 10;
  std::atomic<int> ok{0};
  std::atomic<int> changed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      v1::UpdateSlaPolicyRequest req;
      req.set_request_id(absl::StrCat("race-", i));
      req.set_expected_version(1);
      *req.mutable_policy() = current;
      req.mutable_policy()->set_warn_percent(50 + i);
      v1::SlaPolicy out;
      grpc::Status s = stub_->UpdateSlaPolicy(Ctx(kAdmin).get(), req, &out);
      if (s.ok()) {
        ++ok;
      } else if (s.error_code() == StatusCode::FAILED_PRECONDITION &&
                 DetailsOf(s).reason == "POLICY_VERSION_CHANGED") {
        ++changed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(changed.load(), kCallers - 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM sla_policies"), 2);
}

// The clocks a ticket's transitions drive, read back from sla_clocks.
TEST_F(SupportApiTest, TransitionsDriveTheSlaClocksAndFirstResponseWithinSla) {
  auto clock_row = [&](const std::string& id, v1::SlaMetric metric, v1::TicketLevel level) {
    auto rows = pool().Query(
        "SELECT party, state, due_at, warn_at FROM sla_clocks WHERE ticket_id = ? AND "
        "metric = ? AND level = ?",
        {id, static_cast<int64_t>(metric), static_cast<int64_t>(level)});
    EXPECT_OK(rows.status());
    struct R {
      bool found = false;
      int64_t party = 0, state = 0;
      std::optional<absl::Time> due, warn;
    } r;
    if (rows.ok() && !rows->empty()) {
      r.found = true;
      r.party = *(*rows)[0].GetInt64("party");
      r.state = *(*rows)[0].GetInt64("state");
      r.due = *(*rows)[0].GetOptionalTime("due_at");
      r.warn = *(*rows)[0].GetOptionalTime("warn_at");
    }
    return r;
  };
  auto last_first_response = [&]() {
    auto rows = pool().Query(
        "SELECT payload FROM outbox_events WHERE topic = 'support.first_response' "
        "ORDER BY id DESC LIMIT 1");
    v1::FirstResponse e;
    EXPECT_OK(rows.status());
    if (rows.ok() && !rows->empty()) {
      EXPECT_TRUE(e.ParseFromString(*(*rows)[0].GetString("payload")));
    }
    return e;
  };
  // Created on EMAIL at level 1: FIRST_REPLY (6 h, warning at 75 %) and L1_WINDOW (48 h) for
  // the SELLER; the default policy has no level-1 REQUESTER_WAIT target, so none runs.
  const absl::Time t0 = clock_.Now();
  Pay("O-1");
  v1::Ticket a = MustCreate("O-1");
  auto first = clock_row(a.ticket_id(), v1::FIRST_REPLY, v1::L1_SELLER);
  ASSERT_TRUE(first.found);
  EXPECT_EQ(first.party, v1::SELLER);
  EXPECT_EQ(first.state, 1);  // RUNNING
  EXPECT_EQ(*first.due, t0 + absl::Hours(6));
  EXPECT_EQ(*first.warn, t0 + absl::Hours(6) * 0.75);
  auto window = clock_row(a.ticket_id(), v1::L1_WINDOW, v1::L1_SELLER);
  ASSERT_TRUE(window.found);
  EXPECT_EQ(*window.due, t0 + absl::Hours(48));
  EXPECT_FALSE(clock_row(a.ticket_id(), v1::REQUESTER_WAIT, v1::L1_SELLER).found);

  // The seller's first public reply after 5 h meets it: within_sla.
  clock_.Advance(absl::Hours(5));
  ASSERT_TRUE(Message(kSeller, a.ticket_id(), "On its way").ok());
  EXPECT_EQ(clock_row(a.ticket_id(), v1::FIRST_REPLY, v1::L1_SELLER).state, 3);  // MET
  EXPECT_TRUE(last_first_response().within_sla());

  // A second ticket answered after 7 h: BREACHED, not within_sla.
  Pay("O-2");
  v1::Ticket b = MustCreate("O-2");
  clock_.Advance(absl::Hours(7));
  ASSERT_TRUE(Message(kSeller, b.ticket_id(), "Sorry, late").ok());
  EXPECT_EQ(clock_row(b.ticket_id(), v1::FIRST_REPLY, v1::L1_SELLER).state, 4);  // BREACHED
  EXPECT_FALSE(last_first_response().within_sla());

  // Escalation starts the OPERATOR's level-2 clocks: first reply 24 h, requester wait 72 h.
  const absl::Time t1 = clock_.Now();
  ASSERT_TRUE(Escalate(kBuyer, b.ticket_id()).ok());  // the seller replied
  auto l2_first = clock_row(b.ticket_id(), v1::FIRST_REPLY, v1::L2_OPERATOR);
  ASSERT_TRUE(l2_first.found);
  EXPECT_EQ(l2_first.party, v1::OPERATOR);
  EXPECT_EQ(*l2_first.due, t1 + absl::Hours(24));
  auto l2_wait = clock_row(b.ticket_id(), v1::REQUESTER_WAIT, v1::L2_OPERATOR);
  ASSERT_TRUE(l2_wait.found);
  EXPECT_EQ(*l2_wait.due, t1 + absl::Hours(72));
  clock_.Advance(absl::Hours(2));
  ASSERT_TRUE(Message(kAgent, b.ticket_id(), "We are looking into it").ok());
  EXPECT_EQ(clock_row(b.ticket_id(), v1::FIRST_REPLY, v1::L2_OPERATOR).state, 3);
  EXPECT_TRUE(last_first_response().within_sla());

  // After the seller's first reply, the buyer's public message starts NEXT_REPLY (24 h); a
  // second buyer message keeps the oldest; the seller's reply meets it.
  const absl::Time t3 = clock_.Now();
  ASSERT_TRUE(Message(kBuyer, a.ticket_id(), "Still nothing").ok());
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(Message(kBuyer, a.ticket_id(), "Hello?").ok());
  auto next = clock_row(a.ticket_id(), v1::NEXT_REPLY, v1::L1_SELLER);
  ASSERT_TRUE(next.found);
  EXPECT_EQ(next.state, 1);
  EXPECT_EQ(*next.due, t3 + absl::Hours(24));
  ASSERT_TRUE(Message(kSeller, a.ticket_id(), "Tracking: 123").ok());
  EXPECT_EQ(clock_row(a.ticket_id(), v1::NEXT_REPLY, v1::L1_SELLER).state, 3);

  // COUNTERFEIT opens at level 2: the OPERATOR's REQUESTER_WAIT (72 h) pauses while the
  // ticket awaits the buyer (paused time not counted), resumes on the buyer's reply, and is
  // met when the ticket is SOLVED.
  Pay("O-4");
  const absl::Time t4 = clock_.Now();
  v1::Ticket d = MustCreate("O-4", v1::COUNTERFEIT);
  auto wait = clock_row(d.ticket_id(), v1::REQUESTER_WAIT, v1::L2_OPERATOR);
  ASSERT_TRUE(wait.found);
  EXPECT_EQ(wait.party, v1::OPERATOR);
  EXPECT_EQ(*wait.due, t4 + absl::Hours(72));
  clock_.Advance(absl::Hours(2));
  ASSERT_TRUE(Message(kAgent, d.ticket_id(), "Photos please", v1::PUBLIC, true).ok());
  wait = clock_row(d.ticket_id(), v1::REQUESTER_WAIT, v1::L2_OPERATOR);
  EXPECT_EQ(wait.state, 2);  // PAUSED
  EXPECT_FALSE(wait.due.has_value());
  clock_.Advance(absl::Hours(10));
  const absl::Time t5 = clock_.Now();
  ASSERT_TRUE(Message(kBuyer, d.ticket_id(), "Here they are").ok());
  wait = clock_row(d.ticket_id(), v1::REQUESTER_WAIT, v1::L2_OPERATOR);
  EXPECT_EQ(wait.state, 1);
  EXPECT_EQ(*wait.due, t5 + absl::Hours(70));
  ASSERT_TRUE(Resolve(kAgent, d.ticket_id(), v1::NO_ACTION, "NOT_COUNTERFEIT").ok());
  EXPECT_EQ(clock_row(d.ticket_id(), v1::REQUESTER_WAIT, v1::L2_OPERATOR).state, 3);

  // The policy's L1_WINDOW, not --l1_window, decides escalation_allowed_at: 72 h after an
  // update applies to the next ticket.
  v1::SlaPolicy policy;
  ASSERT_TRUE(stub_->GetSlaPolicy(Ctx(kAdmin).get(), {}, &policy).ok());
  v1::UpdateSlaPolicyRequest req;
  req.set_request_id("window-72h");
  req.set_expected_version(policy.version());
  *req.mutable_policy() = policy;
  for (v1::SlaTarget& t : *req.mutable_policy()->mutable_targets()) {
    if (t.metric() == v1::L1_WINDOW) t.mutable_target()->set_seconds(72 * 3600);
  }
  v1::SlaPolicy updated;
  ASSERT_TRUE(stub_->UpdateSlaPolicy(Ctx(kAdmin).get(), req, &updated).ok());
  Pay("O-3");
  const absl::Time t2 = clock_.Now();
  v1::Ticket c = MustCreate("O-3");
  EXPECT_EQ(common::FromTimestamp(c.escalation_allowed_at(), "x").value(), t2 + absl::Hours(72));
}

TEST_F(SupportApiTest, ThePolicysCloseAfterAtSolvedDecidesWhenTheTicketCloses) {
  Pay("O-1");
  Pay("O-2");
  v1::Ticket before = MustCreate("O-1");
  v1::Ticket after = MustCreate("O-2");
  const absl::Time solved_first = clock_.Now();
  v1::Ticket out;
  ASSERT_TRUE(Resolve(kSeller, before.ticket_id(), v1::REPLACEMENT_SENT, "CARRIER_LOST", &out).ok());
  EXPECT_EQ(common::FromTimestamp(out.closes_at(), "x").value(), solved_first + absl::Hours(96));
  // close_after 2 h from now on: tickets solved later close 2 h after SOLVED; the first keeps
  // the 4 days it was solved under.
  v1::SlaPolicy policy;
  ASSERT_TRUE(stub_->GetSlaPolicy(Ctx(kAdmin).get(), {}, &policy).ok());
  v1::UpdateSlaPolicyRequest req;
  req.set_request_id("close-2h");
  req.set_expected_version(policy.version());
  *req.mutable_policy() = policy;
  req.mutable_policy()->mutable_close_after()->set_seconds(2 * 3600);
  v1::SlaPolicy updated;
  ASSERT_TRUE(stub_->UpdateSlaPolicy(Ctx(kAdmin).get(), req, &updated).ok());
  const absl::Time solved_second = clock_.Now();
  ASSERT_TRUE(Resolve(kSeller, after.ticket_id(), v1::REPLACEMENT_SENT, "CARRIER_LOST", &out).ok());
  EXPECT_EQ(common::FromTimestamp(out.closes_at(), "x").value(), solved_second + absl::Hours(2));

  clock_.Advance(absl::Hours(2));
  v1::Ticket closed = MustGet(kBuyer, after.ticket_id());
  EXPECT_EQ(closed.status(), v1::CLOSED);
  EXPECT_FALSE(closed.has_closes_at());
  EXPECT_EQ(DetailsOf(Reopen(kBuyer, after.ticket_id())).reason, "REOPEN_WINDOW_PASSED");
  EXPECT_EQ(MustGet(kBuyer, before.ticket_id()).status(), v1::SOLVED);
  EXPECT_TRUE(Reopen(kBuyer, before.ticket_id()).ok());
}

}  // namespace
}  // namespace marketplace::support

namespace marketplace::support {
namespace {

// Who pays, instant refunds ("right unless too often").
class SupportRefundTest : public SupportApiTest {
 protected:
  // `n` paid orders of `buyer` held within the last 365 days (as payments.payment_held
  // events record them).
  void PaidOrders(int n, const Who& buyer = kBuyer) {
    for (int i = 0; i < n; ++i) {
      ASSERT_OK(common::db::RunInTransaction(pool(), [&](common::db::Transaction& tx) {
        return MySqlTicketStore::RecordPaidOrder(
            tx, absl::StrCat("pay_history_", buyer.subject.substr(buyer.subject.size() - 4), "_", i),
            buyer.subject,
            absl::StrCat("HIST-", i), clock_.Now() - absl::Hours(24 * (i + 1)));
      }));
    }
  }
  int64_t Clocks(const std::string& ticket_id) {
    return Count(absl::StrCat("SELECT COUNT(*) AS n FROM sla_clocks WHERE ticket_id = '",
                              ticket_id, "'"));
  }
  std::string Funding(const std::string& ticket_id) {
    auto rows = pool().Query(absl::StrCat(
        "SELECT funding FROM refund_commands WHERE ticket_id = '", ticket_id, "'"));
    EXPECT_OK(rows.status());
    if (!rows.ok() || rows->size() != 1) return "none";
    return absl::StrCat(*(*rows)[0].GetInt64("funding"));
  }
};

TEST_F(SupportRefundTest, SellerRefundsOnItsBehalfAgentRefundsFromTheSellerBalance) {
  Pay("O-1");
  Pay("O-2");
  v1::Ticket by_seller = MustCreate("O-1");
  v1::Ticket by_agent = MustCreate("O-2");
  ASSERT_TRUE(Resolve(kSeller, by_seller.ticket_id(), v1::REFUND_FULL).ok());
  ASSERT_TRUE(Escalate(kAgent, by_agent.ticket_id()).ok());
  ASSERT_TRUE(Resolve(kAgent, by_agent.ticket_id(), v1::REFUND_PARTIAL, "CARRIER_LOST", nullptr,
                      4000)
                  .ok());
  EXPECT_EQ(Funding(by_seller.ticket_id()), "1");
  EXPECT_EQ(Funding(by_agent.ticket_id()), "2");
  auto worker = MakeRefundWorker();
  EXPECT_EQ(*worker->RunOnce(), 2);

  ppb::Payment seller_refunded = Payment(by_seller.payment_id());
  ASSERT_EQ(seller_refunded.refunds_size(), 1);
  EXPECT_TRUE(seller_refunded.refunds(0).on_behalf_of_seller());
  EXPECT_EQ(seller_refunded.refunds(0).amount().amount_minor(), 10000);
  ppb::Payment agent_refunded = Payment(by_agent.payment_id());
  ASSERT_EQ(agent_refunded.refunds_size(), 1);
  EXPECT_FALSE(agent_refunded.refunds(0).on_behalf_of_seller());
  EXPECT_EQ(agent_refunded.refunds(0).funded_by(), ppb::SELLER_BALANCE);
  EXPECT_EQ(agent_refunded.refunds(0).amount().amount_minor(), 4000);
  EXPECT_EQ(MustGet(kSeller, by_seller.ticket_id()).refund_state(), v1::REFUNDED);
  EXPECT_EQ(MustGet(kBuyer, by_agent.ticket_id()).refund_state(), v1::REFUNDED);
}

TEST_F(SupportRefundTest, ARefusalComesBackToTheTicketWithItsReasonForTheParties) {
  Pay("O-1");
  v1::Ticket t = MustCreate("O-1");
  ASSERT_TRUE(Resolve(kSeller, t.ticket_id(), v1::REFUND_FULL).ok());
  // Refunded in full elsewhere first: payments refuses the seller's refund.
  ppb::RefundPaymentRequest req;
  req.set_request_id("direct");
  req.set_payment_id(t.payment_id());
  req.mutable_amount()->set_currency_code("EUR");
  req.mutable_amount()->set_amount_minor(10000);
  req.set_reason("refunded directly");
  ppb::Payment out;
  ASSERT_TRUE(payments_stub_->RefundPayment(Ctx(kAdmin, "payments").get(), req, &out).ok());
  EXPECT_EQ(MustGet(kSeller, t.ticket_id()).refund_refusal_reason(), "");
  auto worker = MakeRefundWorker();
  EXPECT_EQ(*worker->RunOnce(), 1);
  for (const Who& who : {kSeller, kBuyer, kAgent}) {
    v1::Ticket seen = MustGet(who, t.ticket_id());
    EXPECT_EQ(seen.refund_state(), v1::REFUND_REFUSED);
    EXPECT_EQ(seen.refund_refusal_reason(), "PAYMENT_REFUNDED") << who.subject;
  }
  v1::Ticket staff = MustGet(kAgent, t.ticket_id());
  const std::string last = staff.history(staff.history_size() - 1).detail();
  EXPECT_NE(last.find("ON_BEHALF_OF_SELLER"), std::string::npos) << last;
  EXPECT_NE(last.find("PAYMENT_REFUNDED"), std::string::npos) << last;
}

TEST_F(SupportRefundTest, OneClaimInTenPaidOrdersIsRefundedAtOnceByTheGuaranteeFund) {
  PaidOrders(10);
  Pay("O-1", kBuyer, kSeller, 2000);
  v1::CreateTicketResponse created;
  ASSERT_TRUE(Create(kBuyer, "O-1", &created).ok());
  const v1::Ticket& t = created.ticket();
  EXPECT_FALSE(created.merged());
  EXPECT_EQ(t.status(), v1::SOLVED);
  EXPECT_EQ(t.outcome(), v1::REFUND_FULL);
  EXPECT_EQ(t.refund_state(), v1::PENDING_REFUND);
  EXPECT_EQ(t.refund_amount().amount_minor(), 2000);
  EXPECT_TRUE(t.is_claim());
  EXPECT_FALSE(t.counts_against_seller());
  EXPECT_EQ(t.reason_code(), "");
  EXPECT_EQ(Clocks(t.ticket_id()), 0);
  EXPECT_EQ(Funding(t.ticket_id()), "3");
  EXPECT_EQ(Events("support.ticket_opened"), 1);
  EXPECT_EQ(Events("support.ticket_resolved"), 1);

  auto worker = MakeRefundWorker();
  EXPECT_EQ(*worker->RunOnce(), 1);
  ppb::Payment paid = Payment(t.payment_id());
  ASSERT_EQ(paid.refunds_size(), 1);
  EXPECT_EQ(paid.refunds(0).funded_by(), ppb::GUARANTEE_FUND);
  EXPECT_EQ(paid.refunded().amount_minor(), 2000);
  EXPECT_EQ(MustGet(kBuyer, t.ticket_id()).refund_state(), v1::REFUNDED);
  // The seller sees the outcome; it does not count against it.
  EXPECT_FALSE(MustGet(kSeller, t.ticket_id()).counts_against_seller());
}

TEST_F(SupportRefundTest, TwoClaimsInTenPaidOrdersGoToAPerson) {
  PaidOrders(10);
  Pay("O-1");                           // 100.00 EUR: over the 30.00 EUR cap
  Pay("O-2", kBuyer, kSeller, 2000);
  v1::Ticket over_cap = MustCreate("O-1");
  EXPECT_EQ(over_cap.status(), v1::OPEN);  // a claim, but over the cap
  v1::Ticket second = MustCreate("O-2", v1::DAMAGED);
  EXPECT_EQ(second.status(), v1::OPEN);    // 2 claims in 10: bound 5.7 %
  EXPECT_EQ(second.refund_state(), v1::REFUND_STATE_UNSPECIFIED);
  EXPECT_GT(Clocks(second.ticket_id()), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands"), 0);
  EXPECT_EQ(Events("support.ticket_resolved"), 0);
}

TEST_F(SupportRefundTest, FewerThanThreePaidOrdersOrNotAClaimGoTheNormalWay) {
  PaidOrders(2);
  Pay("O-1", kBuyer, kSeller, 2000);
  Pay("O-2", kOtherBuyer, kSeller, 2000);
  Pay("O-3", kOtherBuyer, kSeller, 2000);
  EXPECT_EQ(MustCreate("O-1").status(), v1::OPEN);  // 2 paid orders
  PaidOrders(20, kOtherBuyer);
  for (v1::Category c : {v1::QUESTION, v1::COUNTERFEIT}) {
    v1::CreateTicketRequest req;
    req.set_request_id(absl::StrCat("other-", static_cast<int>(c)));
    req.set_order_id(c == v1::QUESTION ? "O-2" : "O-3");
    req.set_category(c);
    req.set_channel(v1::EMAIL);
    req.set_subject("s");
    req.set_body("b");
    v1::CreateTicketResponse out;
    ASSERT_TRUE(stub_->CreateTicket(Ctx(kOtherBuyer).get(), req, &out).ok());
    EXPECT_FALSE(out.merged());
    EXPECT_NE(out.ticket().status(), v1::SOLVED) << v1::Category_Name(c);
  }
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands"), 0);
}

// Two claims of one buyer at once, with 10 paid orders and no earlier claim: the first
// decided is 1 in 10 (refunded), the second 2 in 10 (to a person), never both refunded.
TEST_F(SupportRefundTest, ConcurrentClaimsOfOneBuyerAreCountedOneAfterTheOther) {
  PaidOrders(10);
  Pay("O-1", kBuyer, kSeller, 2000);
  Pay("O-2", kBuyer, kSeller, 2000);
  std::vector<v1::Ticket> tickets(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      v1::CreateTicketResponse out;
      grpc::Status s = Create(kBuyer, absl::StrCat("O-", i + 1), &out);
      EXPECT_TRUE(s.ok()) << s.error_message();
      tickets[i] = out.ticket();
    });
  }
  for (auto& th : threads) th.join();
  int solved = 0;
  for (const v1::Ticket& t : tickets) solved += t.status() == v1::SOLVED ? 1 : 0;
  EXPECT_EQ(solved, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands"), 1);
}

// With a level-1 REQUESTER_WAIT target, AWAITING_BUYER pauses it; a merged CreateTicket and
// an escalation take the ticket back to OPEN and resume it.
TEST_F(SupportRefundTest, RequesterWaitResumesOnAMergedClaimAndOnEscalation) {
  v1::SlaPolicy policy;
  ASSERT_TRUE(stub_->GetSlaPolicy(Ctx(kAdmin).get(), {}, &policy).ok());
  v1::UpdateSlaPolicyRequest req;
  req.set_request_id("l1-wait");
  req.set_expected_version(policy.version());
  *req.mutable_policy() = policy;
  v1::SlaTarget* wait = req.mutable_policy()->add_targets();
  wait->set_level(v1::L1_SELLER);
  wait->set_channel(v1::EMAIL);
  wait->set_metric(v1::REQUESTER_WAIT);
  wait->mutable_target()->set_seconds(72 * 3600);
  wait->set_mode(v1::CALENDAR);
  v1::SlaPolicy updated;
  grpc::Status s = stub_->UpdateSlaPolicy(Ctx(kAdmin).get(), req, &updated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto state = [&](const std::string& id) {
    return Count(absl::StrCat("SELECT state AS n FROM sla_clocks WHERE ticket_id = '", id,
                              "' AND metric = ", static_cast<int>(v1::REQUESTER_WAIT),
                              " AND level = ", static_cast<int>(v1::L1_SELLER)));
  };
  Pay("O-1");
  Pay("O-2");
  v1::Ticket merged = MustCreate("O-1", v1::QUESTION);
  v1::Ticket escalated = MustCreate("O-2", v1::QUESTION);
  for (const v1::Ticket* t : {&merged, &escalated}) {
    EXPECT_EQ(state(t->ticket_id()), 1);  // RUNNING
    ASSERT_TRUE(Message(kSeller, t->ticket_id(), "Which size?", v1::PUBLIC, true).ok());
    EXPECT_EQ(state(t->ticket_id()), 2);  // PAUSED
  }
  clock_.Advance(absl::Hours(5));
  v1::CreateTicketResponse out;
  ASSERT_TRUE(Create(kBuyer, "O-1", &out, v1::DAMAGED).ok());
  EXPECT_TRUE(out.merged());
  EXPECT_EQ(out.ticket().status(), v1::OPEN);
  EXPECT_EQ(state(merged.ticket_id()), 1);
  ASSERT_TRUE(Escalate(kAgent, escalated.ticket_id()).ok());
  // Escalation leaves level 1: its clocks stop without a result (CANCELLED, 5), and the
  // operator's REQUESTER_WAIT runs for the ticket, now OPEN again.
  EXPECT_EQ(state(escalated.ticket_id()), 5);
  EXPECT_EQ(Count(absl::StrCat("SELECT state AS n FROM sla_clocks WHERE ticket_id = '",
                               escalated.ticket_id(), "' AND metric = ",
                               static_cast<int>(v1::REQUESTER_WAIT), " AND level = ",
                               static_cast<int>(v1::L2_OPERATOR))),
            1);
  EXPECT_EQ(MustGet(kAgent, escalated.ticket_id()).status(), v1::OPEN);
}

// Concurrent CreateTicket calls on one order: one ticket, one instant refund, the others
// merged into it (kept at 5 callers: each looks the order up at payments first).
TEST_F(SupportRefundTest, ConcurrentCreatesOnOneOrderMakeOneInstantRefund) {
  PaidOrders(10);
  Pay("O-1", kBuyer, kSeller, 2000);
  std::atomic<int> merged{0}, fresh{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&] {
      v1::CreateTicketResponse out;
      grpc::Status s = Create(kBuyer, "O-1", &out);
      EXPECT_TRUE(s.ok()) << s.error_message();
      (out.merged() ? merged : fresh)++;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fresh.load(), 1);
  EXPECT_EQ(merged.load(), 4);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM tickets"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands"), 1);
  EXPECT_EQ(Events("support.ticket_resolved"), 1);
  auto worker = MakeRefundWorker();
  EXPECT_EQ(*worker->RunOnce(), 1);
  EXPECT_EQ(Payment(MustCreate("O-1").payment_id()).refunds_size(), 1);
}


// An agent finds the seller at fault on an instant refund (paid by the guarantee fund): the
// refund moves onto the seller at payments once, whatever the number of findings.
class SellerAtFaultTest : public SupportRefundTest {
 protected:
  grpc::Status FindAtFault(const Who& who, const std::string& ticket_id, bool value = true,
                           v1::Ticket* out = nullptr) {
    v1::UpdateTicketRequest req;
    req.set_request_id(absl::StrCat("fault-", ++request_counter_));
    req.set_ticket_id(ticket_id);
    req.set_seller_at_fault(value);
    req.mutable_update_mask()->add_paths("seller_at_fault");
    v1::Ticket ignored;
    return stub_->UpdateTicket(Ctx(who).get(), req, out != nullptr ? out : &ignored);
  }
  // An instant refund of 20.00 EUR on order O-1 (1 claim in 10 paid orders).
  v1::Ticket InstantRefund() {
    PaidOrders(10);
    Pay("O-1", kBuyer, kSeller, 2000);
    v1::CreateTicketResponse created;
    EXPECT_TRUE(Create(kBuyer, "O-1", &created).ok());
    EXPECT_EQ(created.ticket().status(), v1::SOLVED);
    return created.ticket();
  }
  std::string LastHistory(const std::string& ticket_id) {
    v1::Ticket staff = MustGet(kAgent, ticket_id);
    return staff.history_size() == 0 ? ""
                                     : absl::StrCat(staff.history(staff.history_size() - 1).kind(),
                                                    " ", staff.history(staff.history_size() - 1).detail());
  }
};

TEST_F(SellerAtFaultTest, TheGuaranteeFundsRefundMovesOntoTheSellerOnce) {
  v1::Ticket t = InstantRefund();
  EXPECT_FALSE(t.counts_against_seller());
  v1::Ticket found;
  // Found before the refund is made: the charge waits for it.
  ASSERT_TRUE(FindAtFault(kAgent, t.ticket_id(), true, &found).ok());
  EXPECT_TRUE(found.counts_against_seller());
  EXPECT_EQ(Events("support.claim_updated"), 1);
  auto worker = MakeRefundWorker();
  EXPECT_EQ(*worker->RunChargesOnce(), 0);  // not refunded yet
  EXPECT_EQ(*worker->RunOnce(), 2);         // the refund, then the charge
  ppb::Payment paid = Payment(t.payment_id());
  ASSERT_EQ(paid.refunds_size(), 1);
  const ppb::Refund& refund = paid.refunds(0);
  EXPECT_EQ(refund.funded_by(), ppb::GUARANTEE_FUND);
  EXPECT_GT(refund.paid_by_guarantee_fund().amount_minor(), 0);
  EXPECT_TRUE(refund.has_charged_at());
  EXPECT_EQ(refund.charged_to_seller().amount_minor() + refund.charge_shortfall().amount_minor(),
            refund.paid_by_guarantee_fund().amount_minor());
  EXPECT_GT(refund.charged_to_seller().amount_minor(), 0);
  EXPECT_NE(LastHistory(t.ticket_id()).find("SELLER_CHARGED"), std::string::npos)
      << LastHistory(t.ticket_id());
  // The seller sees that it counts; its events say so once.
  EXPECT_TRUE(MustGet(kSeller, t.ticket_id()).counts_against_seller());

  // Found again (another agent, another request): nothing changes, nothing is charged twice.
  ASSERT_TRUE(FindAtFault(kAdmin, t.ticket_id()).ok());
  EXPECT_EQ(Events("support.claim_updated"), 1);
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(*worker->RunOnce(), 0);
  EXPECT_TRUE(Payment(t.payment_id()).refunds(0).has_charged_at());

  // Closed four days later: a finding of fault is still taken, other changes are not.
  clock_.Advance(absl::Hours(5 * 24));
  EXPECT_TRUE(FindAtFault(kAgent, t.ticket_id()).ok());
  v1::UpdateTicketRequest tags;
  tags.set_request_id("tags-on-closed");
  tags.set_ticket_id(t.ticket_id());
  tags.add_tags("late");
  tags.mutable_update_mask()->add_paths("tags");
  v1::Ticket out;
  EXPECT_EQ(DetailsOf(stub_->UpdateTicket(Ctx(kAgent).get(), tags, &out)).reason,
            "TICKET_CLOSED");
}

TEST_F(SellerAtFaultTest, ConcurrentFindingsChargeOnce) {
  v1::Ticket t = InstantRefund();
  auto worker = MakeRefundWorker();
  EXPECT_EQ(*worker->RunOnce(), 1);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      grpc::Status s = FindAtFault(i % 2 == 0 ? kAgent : kAdmin, t.ticket_id());
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (s.ok()) ++ok;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(Events("support.claim_updated"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands WHERE charge_state = 1"), 1);
  // Two passes racing: one charge.
  std::atomic<int> finished{0};
  std::thread a([&] { finished += worker->RunOnce().value_or(-100); });
  std::thread b([&] { finished += worker->RunOnce().value_or(-100); });
  a.join();
  b.join();
  EXPECT_EQ(finished.load(), 1);
  EXPECT_TRUE(Payment(t.payment_id()).refunds(0).has_charged_at());
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands WHERE charge_state = 2"), 1);
}

TEST_F(SellerAtFaultTest, AFindingNeedsASettledClaimAndIsNeverWithdrawn) {
  Pay("O-2");
  v1::Ticket question = MustCreate("O-2", v1::QUESTION);
  ASSERT_TRUE(Resolve(kSeller, question.ticket_id(), v1::REFUND_FULL, "PRODUCT_INFO").ok());
  v1::Ticket t = InstantRefund();
  Pay("O-3");
  v1::Ticket open_claim = MustCreate("O-3");  // over the cap: not refunded at once, open
  const std::string before = Footprint();
  EXPECT_EQ(DetailsOf(FindAtFault(kAgent, t.ticket_id(), false)).fields,
            std::vector<std::string>{"seller_at_fault"});
  EXPECT_EQ(DetailsOf(FindAtFault(kAgent, question.ticket_id())).reason, "NOT_A_CLAIM");
  EXPECT_EQ(DetailsOf(FindAtFault(kAgent, open_claim.ticket_id())).reason,
            "NOT_RESOLVED_FOR_BUYER");
  EXPECT_EQ(FindAtFault(kSeller, t.ticket_id()).error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(FindAtFault(kBuyer, t.ticket_id()).error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Footprint(), before);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands WHERE charge_state <> 0"), 0);
}

// An instant refund reopened and settled by the seller itself (a replacement: the ticket
// counts against the seller from then on) is still charged to the seller when an agent finds
// the seller at fault; and no later resolution withdraws what counts.
TEST_F(SellerAtFaultTest, AFindingAfterTheSellersOwnSettlementStillChargesTheGuaranteeRefund) {
  v1::Ticket t = InstantRefund();
  auto worker = MakeRefundWorker();
  EXPECT_EQ(*worker->RunOnce(), 1);  // the guarantee fund's refund
  ASSERT_TRUE(Reopen(kBuyer, t.ticket_id()).ok());
  v1::Ticket settled;
  ASSERT_TRUE(Resolve(kSeller, t.ticket_id(), v1::REPLACEMENT_SENT, "CARRIER_LOST", &settled).ok());
  EXPECT_TRUE(settled.counts_against_seller());
  ASSERT_TRUE(FindAtFault(kAgent, t.ticket_id()).ok());
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands WHERE charge_state = 1"), 1);
  EXPECT_NE(LastHistory(t.ticket_id()).find("SELLER_AT_FAULT 1 "), std::string::npos)
      << LastHistory(t.ticket_id());
  EXPECT_EQ(*worker->RunOnce(), 1);  // the charge
  EXPECT_TRUE(Payment(t.payment_id()).refunds(0).has_charged_at());

  // Reopened and escalated, then answered by an agent (no side taken): still counted.
  ASSERT_TRUE(Reopen(kBuyer, t.ticket_id()).ok());
  ASSERT_TRUE(Escalate(kAgent, t.ticket_id()).ok());
  v1::Ticket later;
  ASSERT_TRUE(Resolve(kAgent, t.ticket_id(), v1::ANSWERED, "CARRIER_LOST", &later).ok());
  EXPECT_TRUE(later.counts_against_seller());
  // Reopened again and decided for the seller: a claim decided for the seller does not count
  // (as sellerkpi reads the event); the charge already made stands, nothing is marked again.
  ASSERT_TRUE(Reopen(kBuyer, t.ticket_id()).ok());
  ASSERT_TRUE(Resolve(kAgent, t.ticket_id(), v1::NO_ACTION, "CARRIER_LOST", &later).ok());
  EXPECT_FALSE(later.counts_against_seller());
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands WHERE charge_state <> 0"), 1);
}

TEST_F(SellerAtFaultTest, ARefusedRefundIsNeverCharged) {
  v1::Ticket t = InstantRefund();
  // Refunded in full elsewhere first: payments refuses the instant refund.
  ppb::RefundPaymentRequest req;
  req.set_request_id("direct");
  req.set_payment_id(t.payment_id());
  req.mutable_amount()->set_currency_code("EUR");
  req.mutable_amount()->set_amount_minor(2000);
  req.set_reason("refunded directly");
  ppb::Payment out;
  ASSERT_TRUE(payments_stub_->RefundPayment(Ctx(kAdmin, "payments").get(), req, &out).ok());
  ASSERT_TRUE(FindAtFault(kAgent, t.ticket_id()).ok());
  auto worker = MakeRefundWorker();
  EXPECT_EQ(*worker->RunOnce(), 1);  // the refusal; no charge
  EXPECT_EQ(MustGet(kAgent, t.ticket_id()).refund_state(), v1::REFUND_REFUSED);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands WHERE charge_state = 3 AND "
                  "charge_reason = 'REFUND_REFUSED'"),
            1);
  EXPECT_FALSE(Payment(t.payment_id()).refunds(0).has_charged_at());
}

// Payments as the lease tests script it: each call runs the function set for it (which may
// block, move the clock, or answer as payments would).
class ScriptedRefundSender final : public RefundSender {
 public:
  std::function<absl::StatusOr<std::string>(const RefundCommand&)> refund =
      [](const RefundCommand&) -> absl::StatusOr<std::string> { return std::string(); };
  std::function<absl::StatusOr<SellerCharge>(const ChargeCommand&)> charge =
      [](const ChargeCommand&) -> absl::StatusOr<SellerCharge> {
    return SellerCharge{.charged_minor = 2000, .shortfall_minor = 0, .currency = "EUR"};
  };
  std::atomic<int> refunds{0};
  std::atomic<int> charges{0};

  absl::StatusOr<std::string> Refund(const RefundCommand& command) override {
    ++refunds;
    return refund(command);
  }
  absl::StatusOr<SellerCharge> ChargeSeller(const ChargeCommand& command) override {
    ++charges;
    return charge(command);
  }
};

// Two replicas' refund workers on one database, with a manual clock and scripted payments
// answers: a worker's lease (a minute here) ending while payments answers it.
class RefundLeaseTest : public SellerAtFaultTest {
 protected:
  static constexpr absl::Duration kLease = absl::Minutes(1);

  std::unique_ptr<RefundWorker> Worker(RefundSender* sender) {
    return std::make_unique<RefundWorker>(store_.get(), sender, &clock_,
                                          RefundWorkerOptions{.lease = kLease});
  }
  // A ticket on a new order resolved by the seller with a full refund: its command is due.
  std::string RefundRecorded(const std::string& order) {
    Pay(order);
    const v1::Ticket t = MustCreate(order);
    EXPECT_TRUE(Resolve(kSeller, t.ticket_id(), v1::REFUND_FULL).ok());
    return t.ticket_id();
  }
  int64_t HistoryLines(const std::string& ticket_id, const std::string& kind) {
    return Count(absl::StrCat("SELECT COUNT(*) AS n FROM ticket_history WHERE ticket_id = '",
                              ticket_id, "' AND kind = '", kind, "'"));
  }
  // The refund command's state and the ticket's refund_state, as stored.
  std::string RefundStates(const std::string& ticket_id) {
    auto rows = pool().Query(
        "SELECT r.state AS command, t.refund_state AS ticket FROM refund_commands r JOIN tickets "
        "t ON t.refund_request_id = r.request_id WHERE t.ticket_id = ?",
        {ticket_id});
    EXPECT_OK(rows.status());
    if (!rows.ok() || rows->size() != 1) return "none";
    return absl::StrCat(
        v1::RefundState_Name(static_cast<v1::RefundState>(*(*rows)[0].GetInt64("command"))), "/",
        v1::RefundState_Name(static_cast<v1::RefundState>(*(*rows)[0].GetInt64("ticket"))));
  }
};

// Replica A's payments call outlasts its lease; replica B claims the command once the lease has
// ended and records the refund; then A's answer comes (none in time, or the refund made): A
// writes nothing. The ticket keeps one REFUND_RESULT line, the command stays REFUNDED, and the
// refund is never sent a third time.
TEST_F(RefundLeaseTest, ALateAnswerAfterTheLeaseEndedWritesNothing) {
  int round = 0;
  for (const absl::Status& late :
       {absl::DeadlineExceededError("payments did not answer in time"), absl::OkStatus()}) {
    SCOPED_TRACE(late.ToString());
    const std::string ticket_id = RefundRecorded(absl::StrCat("O-late-", ++round));
    ScriptedRefundSender slow;
    ScriptedRefundSender fast;
    absl::Notification called;
    absl::Notification answer;
    slow.refund = [&](const RefundCommand&) -> absl::StatusOr<std::string> {
      if (!called.HasBeenNotified()) called.Notify();
      answer.WaitForNotification();
      if (!late.ok()) return late;
      return std::string();
    };
    auto a = Worker(&slow);
    auto b = Worker(&fast);
    absl::StatusOr<RefundPassResult> a_pass;
    absl::StatusOr<RefundPassResult> b_pass;
    std::thread replica_a([&] { a_pass = a->RunPass(); });
    const bool a_called = called.WaitForNotificationWithTimeout(absl::Seconds(60));
    if (a_called) {
      clock_.Advance(kLease + absl::Seconds(1));
      b_pass = b->RunPass();  // while A still waits for payments
    }
    answer.Notify();
    replica_a.join();
    ASSERT_TRUE(a_called);
    ASSERT_OK(b_pass.status());
    EXPECT_EQ(b_pass->finished, 1);
    ASSERT_OK(a_pass.status());
    EXPECT_EQ(a_pass->finished, 0);
    EXPECT_EQ(HistoryLines(ticket_id, "REFUND_RESULT"), 1);
    EXPECT_EQ(RefundStates(ticket_id), "REFUNDED/REFUNDED");

    clock_.Advance(absl::Hours(2));
    ASSERT_OK(a->RunPass().status());
    ASSERT_OK(b->RunPass().status());
    EXPECT_EQ(slow.refunds.load() + fast.refunds.load(), 2);
    EXPECT_EQ(HistoryLines(ticket_id, "REFUND_RESULT"), 1);
  }
}

// The same race on a seller charge: A's charge answered after its lease ended and B charged;
// one SELLER_CHARGED line.
TEST_F(RefundLeaseTest, ALateChargeAfterTheLeaseEndedWritesNothing) {
  const v1::Ticket t = InstantRefund();
  ScriptedRefundSender refunder;
  refunder.refund = [](const RefundCommand&) -> absl::StatusOr<std::string> {
    return std::string("rf_lease_test");
  };
  ASSERT_OK_AND_ASSIGN(int refunded, Worker(&refunder)->RunOnce());
  EXPECT_EQ(refunded, 1);
  ASSERT_TRUE(FindAtFault(kAgent, t.ticket_id()).ok());

  ScriptedRefundSender slow;
  ScriptedRefundSender fast;
  absl::Notification called;
  absl::Notification answer;
  const auto charged = slow.charge;
  slow.charge = [&](const ChargeCommand& command) {
    if (!called.HasBeenNotified()) called.Notify();
    answer.WaitForNotification();
    return charged(command);
  };
  auto a = Worker(&slow);
  auto b = Worker(&fast);
  absl::StatusOr<int> a_finished;
  absl::StatusOr<int> b_finished;
  std::thread replica_a([&] { a_finished = a->RunChargesOnce(); });
  const bool a_called = called.WaitForNotificationWithTimeout(absl::Seconds(60));
  if (a_called) {
    clock_.Advance(kLease + absl::Seconds(1));
    b_finished = b->RunChargesOnce();  // while A still waits for payments
  }
  answer.Notify();
  replica_a.join();
  ASSERT_TRUE(a_called);
  ASSERT_OK(b_finished.status());
  EXPECT_EQ(*b_finished, 1);
  ASSERT_OK(a_finished.status());
  EXPECT_EQ(*a_finished, 0);
  EXPECT_EQ(HistoryLines(t.ticket_id(), "SELLER_CHARGED"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM refund_commands WHERE charge_state = 2"), 1);
  EXPECT_EQ(slow.charges.load() + fast.charges.load(), 2);
}

// A pass whose payments calls used up half its lease starts no more of its batch: the rest
// stay claimed (no other pass takes them) until the lease ends, then go once.
TEST_F(RefundLeaseTest, APassStartsNoCommandInTheSecondHalfOfItsLease) {
  const std::string first = RefundRecorded("O-half-1");
  const std::string second = RefundRecorded("O-half-2");
  ScriptedRefundSender slow;
  slow.refund = [&](const RefundCommand&) -> absl::StatusOr<std::string> {
    clock_.Advance(kLease / 2);
    return std::string();
  };
  ScriptedRefundSender fast;
  auto a = Worker(&slow);
  auto b = Worker(&fast);
  ASSERT_OK_AND_ASSIGN(RefundPassResult pass, a->RunPass());
  EXPECT_EQ(pass.finished, 1);
  EXPECT_EQ(pass.not_started, 1);
  EXPECT_EQ(slow.refunds.load(), 1);

  clock_.Advance(kLease / 2 - absl::Seconds(1));  // the lease ends in a second
  ASSERT_OK_AND_ASSIGN(pass, b->RunPass());
  EXPECT_EQ(pass.finished, 0);
  EXPECT_EQ(fast.refunds.load(), 0);
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(pass, b->RunPass());
  EXPECT_EQ(pass.finished, 1);
  EXPECT_EQ(fast.refunds.load(), 1);
  for (const std::string& id : {first, second}) {
    EXPECT_EQ(RefundStates(id), "REFUNDED/REFUNDED") << id;
    EXPECT_EQ(HistoryLines(id, "REFUND_RESULT"), 1) << id;
  }
  EXPECT_EQ(slow.refunds.load() + fast.refunds.load(), 2);
}

// identity's IssueServiceToken held until the test lets it answer (or its caller gave up).
class HeldIdentity final : public identity::v1::Identity::Service {
 public:
  explicit HeldIdentity(std::function<std::string()> token) : token_(std::move(token)) {}

  grpc::Status IssueServiceToken(grpc::ServerContext* context,
                                 const identity::v1::IssueServiceTokenRequest*,
                                 identity::v1::IssueServiceTokenResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
      auto open = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return open_; };
      while (!mu_.AwaitWithTimeout(absl::Condition(&open), absl::Milliseconds(20))) {
        if (context->IsCancelled()) return grpc::Status(StatusCode::CANCELLED, "caller gone");
      }
    }
    response->set_access_token(token_());
    response->set_token_type("Bearer");
    response->mutable_expire_time()->set_seconds(
        absl::ToUnixSeconds(absl::Now() + absl::Minutes(15)));
    return grpc::Status::OK;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  const std::function<std::string()> token_;
  mutable absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

// identity does not answer while the refund worker needs support's token (and another caller's
// renewal is in flight before it): each pass ends within the sender's timeout
// (--payments_timeout, which the lease is derived from), the command stays PENDING_REFUND to be
// tried again, nothing is recorded and payments is not called; once identity answers, the
// refund is made once.
TEST_F(RefundLeaseTest, AHungIdentityHoldsAPassNoLongerThanThePaymentsTimeout) {
  const std::string ticket_id = RefundRecorded("O-token-1");
  const std::string payment_id = MustGet(kAgent, ticket_id).payment_id();
  HeldIdentity identity([this] { return Token(kSupportRefunds, "payments"); });
  int identity_port = 0;
  std::unique_ptr<grpc::Server> identity_server = Start(&identity, &identity_port);
  // As support_server wires it (IdentityConnection): the source's own timeout, 5s by default.
  common::identity_client::ServiceTokenSource tokens(
      Channel(identity_port), {.client_id = "support", .client_secret = "support-secret"});
  constexpr absl::Duration kTimeout = absl::Seconds(1);
  GrpcRefundSender sender(Channel(payments_port_),
                          {.token = [&tokens] { return tokens.Token(); },
                           .token_refused = [&tokens] { tokens.Invalidate(); },
                           .timeout = kTimeout});
  RefundWorker worker(store_.get(), &sender, &clock_,
                      RefundWorkerOptions{.lease = RefundLeaseFor(kTimeout)});
  // Another user of the token (the order directory, the event relay) is renewing it.
  std::thread other([&tokens] { (void)tokens.Token(); });
  const absl::Time asked_by = absl::Now() + absl::Seconds(30);
  while (identity.calls() == 0 && absl::Now() < asked_by) absl::SleepFor(absl::Milliseconds(5));

  bool in_time = identity.calls() > 0;
  std::vector<std::string> states;
  for (int pass = 0; pass < 2 && in_time; ++pass) {
    absl::StatusOr<RefundPassResult> result;
    absl::Notification done;
    std::thread worker_thread([&] {
      result = worker.RunPass();
      done.Notify();
    });
    // Well short of the source's own 5s: without a bound of its own the pass waits for it.
    in_time = done.WaitForNotificationWithTimeout(kTimeout + absl::Seconds(3));
    if (!in_time) identity.Open();  // lets the pass end: the test fails below, it does not hang
    worker_thread.join();
    EXPECT_TRUE(in_time) << "pass " << pass << " waited for identity past the payments timeout";
    EXPECT_OK(result.status());
    if (result.ok()) {
      EXPECT_EQ(result->finished, 0);
    }
    states.push_back(RefundStates(ticket_id));
    clock_.Advance(absl::Hours(1));  // past the retry's backoff
  }
  identity.Open();
  other.join();
  ASSERT_TRUE(in_time);
  EXPECT_EQ(states, std::vector<std::string>(2, "PENDING_REFUND/PENDING_REFUND"));
  EXPECT_EQ(HistoryLines(ticket_id, "REFUND_RESULT"), 0);
  EXPECT_EQ(Payment(payment_id).refunds_size(), 0);

  // identity answers: the next pass refunds, once.
  ASSERT_OK_AND_ASSIGN(RefundPassResult pass, worker.RunPass());
  EXPECT_EQ(pass.finished, 1);
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(pass, worker.RunPass());
  EXPECT_EQ(pass.finished, 0);
  EXPECT_EQ(RefundStates(ticket_id), "REFUNDED/REFUNDED");
  EXPECT_EQ(HistoryLines(ticket_id, "REFUND_RESULT"), 1);
  const ppb::Payment refunded = Payment(payment_id);
  EXPECT_EQ(refunded.refunds_size(), 1);
  EXPECT_EQ(refunded.refunded().amount_minor(), 10000);
}

// identity does not answer while CreateTicket needs support's token to look the order up at
// payments (another caller's renewal in flight before it): the call answers UNAVAILABLE within
// the order directory's timeout (--payments_timeout), not the token source's own 5s, and writes
// nothing, not even its request_id; once identity answers, the buyer's retry with the same
// request_id opens the ticket, once.
TEST_F(SupportApiTest, AHungIdentityHoldsCreateTicketNoLongerThanThePaymentsTimeout) {
  const std::string payment_id = Pay("O-token-c");
  HeldIdentity identity([this] { return Token(kSupportService, "payments"); });
  int identity_port = 0;
  std::unique_ptr<grpc::Server> identity_server = Start(&identity, &identity_port);
  // As support_server wires it (IdentityConnection): the source's own timeout, 5s by default.
  common::identity_client::ServiceTokenSource tokens(
      Channel(identity_port), {.client_id = "support", .client_secret = "support-secret"});
  constexpr absl::Duration kTimeout = absl::Seconds(1);
  // support as support_server wires it, its order lookup over that source.
  GrpcOrderDirectory orders(Channel(payments_port_),
                            {.token = [&tokens] { return tokens.Token(); },
                             .token_refused = [&tokens] { tokens.Invalidate(); },
                             .timeout = kTimeout});
  SupportApi api(store_.get(), &orders, tickets_.get());
  SupportService service(support_runner_.get(), &api);
  int port = 0;
  std::unique_ptr<grpc::Server> server = Start(&service, &port);
  std::unique_ptr<v1::SupportService::Stub> stub = v1::SupportService::NewStub(Channel(port));
  // Another user of the token (the refund worker, the event relay) is renewing it.
  std::thread other([&tokens] { (void)tokens.Token(); });
  const absl::Time asked_by = absl::Now() + absl::Seconds(30);
  while (identity.calls() == 0 && absl::Now() < asked_by) absl::SleepFor(absl::Milliseconds(5));

  v1::CreateTicketRequest req;
  req.set_request_id("c-token-1");
  req.set_order_id("O-token-c");
  req.set_category(v1::NOT_RECEIVED);
  req.set_channel(v1::EMAIL);
  req.set_subject("My order");
  req.set_body("Where?");
  auto requests = [this] {
    return Count("SELECT COUNT(*) AS n FROM idempotency_keys WHERE request_id = 'c-token-1'");
  };
  const std::string before = Footprint();
  bool in_time = identity.calls() > 0;
  grpc::Status status;
  if (in_time) {
    absl::Notification done;
    std::thread caller([&] {
      v1::CreateTicketResponse out;
      status = stub->CreateTicket(Ctx(kBuyer).get(), req, &out);  // 30s deadline of its own
      done.Notify();
    });
    // Well short of the source's own 5s: without a bound of its own the call waits for it.
    in_time = done.WaitForNotificationWithTimeout(kTimeout + absl::Seconds(3));
    if (!in_time) identity.Open();  // lets the call end: the test fails below, it does not hang
    caller.join();
  }
  identity.Open();
  other.join();
  ASSERT_TRUE(in_time) << "CreateTicket waited for identity past the payments timeout";
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(Footprint(), before);
  EXPECT_EQ(requests(), 0);

  // identity answers: the retry with the same request_id opens the ticket, and another retry
  // gets the same answer.
  v1::CreateTicketResponse first;
  grpc::Status retried = stub->CreateTicket(Ctx(kBuyer).get(), req, &first);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_FALSE(first.merged());
  EXPECT_EQ(first.ticket().payment_id(), payment_id);
  EXPECT_EQ(first.ticket().seller_id(), kSeller.subject);
  v1::CreateTicketResponse again;
  retried = stub->CreateTicket(Ctx(kBuyer).get(), req, &again);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_EQ(again.ticket().ticket_id(), first.ticket().ticket_id());
  EXPECT_FALSE(again.merged());
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM tickets WHERE order_id = 'O-token-c'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) AS n FROM ticket_messages m JOIN tickets t ON t.ticket_id = "
                  "m.ticket_id WHERE t.order_id = 'O-token-c'"),
            1);
  EXPECT_EQ(requests(), 1);
  server->Shutdown();
}

}  // namespace
}  // namespace marketplace::support
