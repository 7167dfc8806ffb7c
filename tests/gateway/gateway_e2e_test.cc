// The gateway in front of identity, catalog, payments and support, all real processes on one
// MariaDB: a first session over HTTP/JSON (sign up, log in, read the account, become an
// approved seller, create and read a listing, pay, open a support ticket about the order), the
// services' errors as HTTP statuses with their ErrorInfo reasons, CORS, the size limits and the
// deadline; and every expression of the Grafana dashboard (k8s/monitoring/dashboard.json)
// evaluated by Debian's Prometheus scraping these processes under a short load.
#include <signal.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "protos/marketplace/catalog/v1/catalog.pb.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"
#include "protos/marketplace/payments/v1/payments.pb.h"
#include "protos/marketplace/support/v1/support.pb.h"
#include "tests/identity/identity_process.h"
#include "tests/support/subprocess.h"
#include "common/tls/test_tls.h"

namespace marketplace::testing {
namespace {

namespace http = boost::beast::http;
using ::testing::HasSubstr;
using identity_v1::Identity;

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// One request on a new connection.
Reply Send(int port, const std::string& method, const std::string& target,
           const std::string& body = "",
           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, "localhost");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  boost::beast::error_code ec;
  http::read(socket, buffer, res, ec);
  Reply reply;
  if (ec) {
    reply.body = "read error: " + ec.message();
    return reply;
  }
  reply.status = static_cast<int>(res.result_int());
  reply.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(f.value());
  }
  return reply;
}

template <typename Message>
Message FromJson(const std::string& json) {
  Message m;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &m, options).ok()) << json;
  return m;
}

std::pair<std::string, std::string> Bearer(const std::string& token) {
  return {"Authorization", "Bearer " + token};
}

constexpr char kApplication[] =
    R"({"legalName":"Example Trading GmbH","registrationNumber":"HRB 12345","countryCode":"DE",)"
    R"("payoutAccountRef":"payout:acct_123","contactEmail":"onboarding@example.com",)"
    R"("contactPhone":"+4915112345678"})";

constexpr char kListing[] =
    R"({"title":"Peluche ourson brun 30 cm","description":"Peluche ourson toute douce, lavable )"
    R"(en machine, idéale dès la naissance.","categoryId":"toys-plush","condition":"NEW",)"
    R"("price":{"currencyCode":"EUR","amountMinor":"1990"},"quantity":1})";

class GatewayE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string catalog_target = absl::StrCat("127.0.0.1:", PickFreePort());
    const std::string payments_target = absl::StrCat("127.0.0.1:", PickFreePort());
    const std::string support_target = absl::StrCat("127.0.0.1:", PickFreePort());
    auto identity = IdentityProcess::Start({});
    ASSERT_TRUE(identity.ok()) << identity.status();
    identity_ = identity->release();
    auto admin = Login(identity_->stub(), identity_->admin_email(), identity_->admin_password());
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_token_ = new std::string(admin->tokens().access_token());

    for (int* port : {&catalog_metrics_, &payments_metrics_, &support_metrics_,
                      &gateway_metrics_}) {
      *port = PickFreePort();
    }
    std::vector<std::string> catalog_args = {
        "--listen_address=" + catalog_target,
        absl::StrCat("--metrics_address=127.0.0.1:", catalog_metrics_),
        "--categories_file=" + RunfilePath("services/catalog/data/categories.json"),
        "--moderation_rules_file=" + RunfilePath("services/catalog/data/moderation_rules.json"),
        "--category_model_file=" + RunfilePath("services/catalog/data/category_model.ftz"),
        "--drain_timeout=2s",
        "--log_level=warn",
    };
    std::vector<std::string> payments_args = {
        "--listen_address=" + payments_target,
        absl::StrCat("--metrics_address=127.0.0.1:", payments_metrics_),
        "--event_subscribers=sellerkpi=127.0.0.1:1:payments.",
        "--drain_timeout=2s",
        "--log_level=warn",
    };
    std::vector<std::string> support_args = {
        "--listen_address=" + support_target,
        absl::StrCat("--metrics_address=127.0.0.1:", support_metrics_),
        "--payments_address=" + payments_target,
        "--event_subscribers=sellerkpi=127.0.0.1:1:support.",
        "--drain_timeout=2s",
        "--log_level=warn",
    };
    // Each service's own account, with the scopes its identity_scopes file lists.
    const std::vector<std::pair<std::vector<std::string>*, std::vector<std::string>>> services = {
        {&catalog_args, {"identity.accounts.read"}},
        {&payments_args, {"identity.accounts.read"}},
        {&support_args, {"payments.read", "payments.refunds", "support.events.publish"}},
    };
    int n = 0;
    for (const auto& [args, scopes] : services) {
      auto db = IdentityProcess::NewDatabaseArgs();
      ASSERT_TRUE(db.ok()) << db.status();
      args->insert(args->end(), db->begin(), db->end());
      for (std::string& flag : TestTlsFlags()) args->push_back(std::move(flag));
      args->push_back("--identity_address=" + identity_->target());
      identity_v1::CreateServiceAccountRequest req;
      req.set_display_name(absl::StrCat("service-", ++n));
      for (const std::string& scope : scopes) req.add_scopes(scope);
      req.set_request_id(absl::StrCat("svc-", n, "-", absl::ToUnixMicros(absl::Now())));
      identity_v1::CreateServiceAccountResponse created;
      grpc::Status s = CallIdentity(identity_->stub(), &Identity::Stub::CreateServiceAccount, req,
                                    &created, *admin_token_);
      ASSERT_TRUE(s.ok()) << s.error_message();
      args->push_back("--service_client_id=" + created.client_id());
      args->push_back("--service_client_secret=" + created.client_secret());
    }
    auto catalog = Subprocess::Start(RunfilePath("services/catalog/catalog_server"), catalog_args);
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = new Subprocess(*std::move(catalog));
    auto payments =
        Subprocess::Start(RunfilePath("services/payments/payments_server"), payments_args);
    ASSERT_TRUE(payments.ok()) << payments.status();
    payments_ = new Subprocess(*std::move(payments));
    auto support = Subprocess::Start(RunfilePath("services/support/support_server"), support_args);
    ASSERT_TRUE(support.ok()) << support.status();
    support_ = new Subprocess(*std::move(support));

    port_ = PickFreePort();
    std::vector<std::string> tls = TestTlsFlags();
    auto gateway = Subprocess::Start(
        RunfilePath("services/gateway/gateway"),
        {tls[0], tls[1], tls[2], absl::StrCat("--http_address=127.0.0.1:", port_),
         "--admin_address=127.0.0.1:0",
         absl::StrCat("--metrics_address=127.0.0.1:", gateway_metrics_),
         "--descriptor_set=" + RunfilePath("protos/api_descriptor_set.pb"),
         absl::StrCat("--backends=marketplace.identity.v1.Identity=", identity_->target(),
                      ",marketplace.catalog.v1.CatalogService=", catalog_target,
                      ",marketplace.payments.v1.Payments=", payments_target,
                      ",marketplace.support.v1.SupportService=", support_target),
         "--cors_allowed_origins=https://shop.example.com", "--max_body_bytes=65536",
         "--log_level=warn"});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = new Subprocess(*std::move(gateway));

    // Ready when the gateway answers and a read through it reaches each backend.
    const absl::Time end = absl::Now() + absl::Seconds(60);
    while (true) {
      ASSERT_FALSE(gateway_->WaitFor(absl::ZeroDuration()).has_value()) << gateway_->Output();
      ASSERT_FALSE(catalog_->WaitFor(absl::ZeroDuration()).has_value()) << catalog_->Output();
      ASSERT_FALSE(payments_->WaitFor(absl::ZeroDuration()).has_value()) << payments_->Output();
      ASSERT_FALSE(support_->WaitFor(absl::ZeroDuration()).has_value()) << support_->Output();
      ASSERT_LT(absl::Now(), end) << gateway_->Output() << catalog_->Output();
      bool up = false;
      try {
        up = Send(port_, "GET", "/healthz").status == 200 &&
             Send(port_, "GET", "/v1/categories").status == 200 &&
             Send(port_, "GET", "/v1/payments/pay_0123456789abcdef01234567").status == 401 &&
             Send(port_, "GET", "/v1/tickets/0123456789abcdef0123456789abcdef").status == 401;
      } catch (const std::exception&) {
      }
      if (up) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ready_ = true;
  }

  static void TearDownTestSuite() {
    delete gateway_;
    delete catalog_;
    delete payments_;
    delete support_;
    delete identity_;
  }

  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "the processes did not start";
  }

  static std::string SignUpBody(const std::string& email, const std::string& role) {
    return absl::StrCat(R"({"email":")", email, R"(","password":")", kGoodPassword,
                        R"(","displayName":"Gateway Test","role":")", role, R"("})");
  }

  // Signs up and logs in over HTTP.
  static identity_v1::LoginResponse NewAccount(const std::string& role) {
    const std::string email = UniqueEmail("gateway");
    Reply signed_up = Send(port_, "POST", "/v1/accounts:signUp", SignUpBody(email, role));
    EXPECT_EQ(signed_up.status, 200) << signed_up.body;
    Reply login = Send(port_, "POST", "/v1/sessions:login",
                       absl::StrCat(R"({"email":")", email, R"(","password":")", kGoodPassword,
                                    R"("})"));
    EXPECT_EQ(login.status, 200) << login.body;
    return FromJson<identity_v1::LoginResponse>(login.body);
  }

  static inline IdentityProcess* identity_ = nullptr;
  static inline Subprocess* catalog_ = nullptr;
  static inline Subprocess* payments_ = nullptr;
  static inline Subprocess* support_ = nullptr;
  static inline Subprocess* gateway_ = nullptr;
  static inline std::string* admin_token_ = nullptr;
  static inline int port_ = 0;
  static inline int catalog_metrics_ = 0;
  static inline int payments_metrics_ = 0;
  static inline int support_metrics_ = 0;
  static inline int gateway_metrics_ = 0;
  static inline bool ready_ = false;
};

TEST_F(GatewayE2eTest, FirstSessionSignUpLoginAccountListingPayment) {
  identity_v1::LoginResponse seller = NewAccount("SELLER");
  const std::string seller_id = seller.account().account_id();
  const std::string token = seller.tokens().access_token();
  ASSERT_FALSE(token.empty());

  Reply account = Send(port_, "GET", "/v1/accounts/" + seller_id, "",
                       {Bearer(token), {"X-Request-Id", "e2e-get-account"}});
  ASSERT_EQ(account.status, 200) << account.body;
  EXPECT_EQ(FromJson<identity_v1::Account>(account.body).account_id(), seller_id);
  EXPECT_THAT(account.body, HasSubstr(R"("role":"SELLER")"));  // enums by name
  EXPECT_EQ(account.headers["x-request-id"], "e2e-get-account");

  // Become an approved seller: apply, then an admin approves.
  Reply applied = Send(port_, "POST",
                       absl::StrCat("/v1/accounts/", seller_id, "/sellerProfile:submitApplication"),
                       absl::StrCat(R"({"application":)", kApplication, R"(,"requestId":"apply-)",
                                    seller_id, R"("})"),
                       {Bearer(token)});
  ASSERT_EQ(applied.status, 200) << applied.body;
  Reply approved = Send(port_, "POST", absl::StrCat("/v1/accounts/", seller_id, "/sellerProfile:review"),
                        R"({"decision":"APPROVE","reasonCode":"DOCUMENTS_OK","reason":"Documents checked."})",
                        {Bearer(*admin_token_)});
  ASSERT_EQ(approved.status, 200) << approved.body;

  // Create (body "listing", request_id from the query) and read the listing.
  Reply created = Send(port_, "POST", "/v1/listings?request_id=create-" + seller_id, kListing,
                       {Bearer(token)});
  ASSERT_EQ(created.status, 200) << created.body;
  const auto listing = FromJson<catalog::v1::Listing>(created.body);
  ASSERT_FALSE(listing.listing_id().empty());
  EXPECT_EQ(listing.seller_id(), seller_id);
  Reply read = Send(port_, "GET", "/v1/listings/" + listing.listing_id(), "", {Bearer(token)});
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(FromJson<catalog::v1::Listing>(read.body).title(), "Peluche ourson brun 30 cm");
  EXPECT_THAT(read.body, HasSubstr(R"("amountMinor":"1990")"));  // int64 as a string

  // Repeating the creation with the same request id answers the first listing.
  Reply again = Send(port_, "POST", "/v1/listings?request_id=create-" + seller_id, kListing,
                     {Bearer(token)});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(FromJson<catalog::v1::Listing>(again.body).listing_id(), listing.listing_id());

  // A buyer pays the seller.
  identity_v1::LoginResponse buyer = NewAccount("BUYER");
  const std::string pay_body = absl::StrCat(
      R"({"requestId":"pay-)", buyer.account().account_id(), R"(","orderId":"order-)",
      buyer.account().account_id(), R"(","buyerId":")", buyer.account().account_id(),
      R"(","sellerId":")", seller_id,
      R"(","amount":{"currencyCode":"EUR","amountMinor":"1990"},"paymentMethodToken":"tok_sandbox_success"})");
  Reply paid = Send(port_, "POST", "/v1/payments", pay_body, {Bearer(buyer.tokens().access_token())});
  ASSERT_EQ(paid.status, 200) << paid.body;
  const auto payment = FromJson<payments::v1::Payment>(paid.body);
  EXPECT_EQ(payment.seller_id(), seller_id);
  EXPECT_EQ(payment.amount().amount_minor(), 1990);
  Reply got = Send(port_, "GET", "/v1/payments/" + payment.payment_id(), "",
                   {Bearer(buyer.tokens().access_token())});
  ASSERT_EQ(got.status, 200) << got.body;
  // Another order id with the same request id: refused with the reason.
  const std::string reused = absl::StrCat(
      R"({"requestId":"pay-)", buyer.account().account_id(), R"(","orderId":"other-order",)",
      R"("buyerId":")", buyer.account().account_id(), R"(","sellerId":")", seller_id,
      R"(","amount":{"currencyCode":"EUR","amountMinor":"1990"},"paymentMethodToken":"tok_sandbox_success"})");
  Reply refused = Send(port_, "POST", "/v1/payments", reused, {Bearer(buyer.tokens().access_token())});
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr(R"("reason":"REQUEST_ID_REUSED")"));

  // The buyer opens a support ticket about the order; it starts with the seller (level 1).
  const std::string order_id = "order-" + buyer.account().account_id();
  const std::string ticket_body = absl::StrCat(
      R"({"requestId":"ticket-)", buyer.account().account_id(), R"(","orderId":")", order_id,
      R"(","category":"NOT_RECEIVED","channel":"WEB_FORM","subject":"Parcel not arrived",)",
      R"("body":"The parcel has not arrived after ten days."})");
  Reply ticket = Send(port_, "POST", "/v1/tickets", ticket_body,
                      {Bearer(buyer.tokens().access_token())});
  ASSERT_EQ(ticket.status, 200) << ticket.body;
  const auto opened = FromJson<support::v1::CreateTicketResponse>(ticket.body);
  EXPECT_FALSE(opened.merged());
  EXPECT_EQ(opened.ticket().order_id(), order_id);
  EXPECT_EQ(opened.ticket().seller_id(), seller_id);
  EXPECT_EQ(opened.ticket().payment_id(), payment.payment_id());
  EXPECT_EQ(opened.ticket().level(), support::v1::L1_SELLER);
  // The seller of the order reads it; the ticket's JSON carries enums by name.
  Reply seen = Send(port_, "GET", "/v1/tickets/" + opened.ticket().ticket_id(), "", {Bearer(token)});
  ASSERT_EQ(seen.status, 200) << seen.body;
  EXPECT_THAT(seen.body, HasSubstr(R"("category":"NOT_RECEIVED")"));
  // Bad input names the field: 400 with a BadRequest.
  Reply no_body = Send(port_, "POST", "/v1/tickets",
                       absl::StrCat(R"({"requestId":"ticket-bad","orderId":")", order_id,
                                    R"(","category":"NOT_RECEIVED","channel":"WEB_FORM","subject":"x"})"),
                       {Bearer(buyer.tokens().access_token())});
  EXPECT_EQ(no_body.status, 400) << no_body.body;
  EXPECT_THAT(no_body.body, HasSubstr(R"("field":"body")"));
  // Another buyer may not learn of the order: 404.
  identity_v1::LoginResponse stranger = NewAccount("BUYER");
  Reply foreign = Send(port_, "POST", "/v1/tickets",
                       absl::StrCat(R"({"requestId":"ticket-foreign","orderId":")", order_id,
                                    R"(","category":"NOT_RECEIVED","channel":"WEB_FORM",)",
                                    R"("subject":"x","body":"Where is it?"})"),
                       {Bearer(stranger.tokens().access_token())});
  EXPECT_EQ(foreign.status, 404) << foreign.body;

  // A buyer may never create listings: 403.
  Reply forbidden = Send(port_, "POST", "/v1/listings?request_id=x", kListing,
                         {Bearer(buyer.tokens().access_token())});
  EXPECT_EQ(forbidden.status, 403) << forbidden.body;
  EXPECT_THAT(forbidden.body, HasSubstr(R"("status":"PERMISSION_DENIED")"));
}

TEST_F(GatewayE2eTest, ServiceErrorsKeepTheirReasons) {
  const std::string email = UniqueEmail("dup");
  ASSERT_EQ(Send(port_, "POST", "/v1/accounts:signUp", SignUpBody(email, "BUYER")).status, 200);
  Reply duplicate = Send(port_, "POST", "/v1/accounts:signUp", SignUpBody(email, "BUYER"));
  EXPECT_EQ(duplicate.status, 409) << duplicate.body;
  EXPECT_THAT(duplicate.body, HasSubstr(R"("reason":"EMAIL_TAKEN")"));
  EXPECT_THAT(duplicate.body, HasSubstr(R"("status":"ALREADY_EXISTS")"));

  Reply bad = Send(port_, "POST", "/v1/accounts:signUp", SignUpBody("not-an-email", "BUYER"));
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_THAT(bad.body, HasSubstr("type.googleapis.com/google.rpc.BadRequest"));
  EXPECT_THAT(bad.body, HasSubstr(R"("field":"email")"));

  // A buyer calling a staff method: 403.
  identity_v1::LoginResponse buyer = NewAccount("BUYER");
  Reply staff = Send(port_, "GET", "/v1/accounts", "", {Bearer(buyer.tokens().access_token())});
  EXPECT_EQ(staff.status, 403) << staff.body;
  // No token: 401.
  EXPECT_EQ(Send(port_, "GET", "/v1/accounts/" + buyer.account().account_id()).status, 401);
  // Gateway-made: bad JSON (400, body), unknown field (400), no route (404), wrong method (405).
  Reply json = Send(port_, "POST", "/v1/accounts:signUp", R"({"email": )");
  EXPECT_EQ(json.status, 400);
  EXPECT_THAT(json.body, HasSubstr(R"("field":"body")"));
  EXPECT_EQ(Send(port_, "POST", "/v1/accounts:signUp", R"({"emial":"a@b.c"})").status, 400);
  EXPECT_EQ(Send(port_, "GET", "/v1/nothing").status, 404);
  Reply wrong = Send(port_, "DELETE", "/v1/accounts:signUp");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers["allow"], "POST");
  // The internal EventSink is never exposed.
  EXPECT_EQ(Send(port_, "POST", "/marketplace.events.v1.EventSink/Deliver", "{}").status, 404);
}

TEST_F(GatewayE2eTest, CorsLimitsAndDeadline) {
  Reply preflight = Send(port_, "OPTIONS", "/v1/listings", "",
                         {{"Origin", "https://shop.example.com"},
                          {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.headers["access-control-allow-origin"], "https://shop.example.com");
  EXPECT_THAT(preflight.headers["access-control-allow-methods"], HasSubstr("POST"));
  Reply refused = Send(port_, "OPTIONS", "/v1/listings", "",
                       {{"Origin", "https://evil.example.com"},
                        {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.headers.count("access-control-allow-origin"), 0u);
  Reply simple = Send(port_, "GET", "/v1/categories", "", {{"Origin", "https://shop.example.com"}});
  EXPECT_EQ(simple.status, 200);
  EXPECT_EQ(simple.headers["access-control-allow-origin"], "https://shop.example.com");
  EXPECT_EQ(simple.headers["vary"], "Origin");

  Reply too_big = Send(port_, "POST", "/v1/accounts:signUp", std::string(70000, ' '));
  EXPECT_EQ(too_big.status, 413);
  Reply big_head = Send(port_, "GET", "/v1/categories", "", {{"X-Padding", std::string(17000, 'p')}});
  EXPECT_EQ(big_head.status, 431);

  // A deadline shorter than the backend takes (a login hashes the password: milliseconds,
  // where a cached read could beat even a 1 ns deadline's timer): 504 DEADLINE_EXCEEDED.
  Reply late = Send(port_, "POST", "/v1/sessions:login",
                    absl::StrCat(R"({"email":")", identity_->admin_email(), R"(","password":")",
                                 identity_->admin_password(), R"("})"),
                    {{"Grpc-Timeout", "1n"}});
  EXPECT_EQ(late.status, 504) << late.body;
  EXPECT_THAT(late.body, HasSubstr("DEADLINE_EXCEEDED"));
  // The gateway still serves.
  EXPECT_EQ(Send(port_, "GET", "/healthz").status, 200);
}

// Percent-encodes a query parameter's value.
std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::StrFormat("%02X", c));
    }
  }
  return out;
}

// Prometheus' instant query: the JSON answer (status "success" or "error").
nlohmann::json PromQuery(int port, const std::string& expr) {
  Reply reply = Send(port, "GET", "/api/v1/query?query=" + UrlEncode(expr));
  nlohmann::json answer = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) return {{"status", "error"}, {"error", reply.body}};
  return answer;
}

TEST_F(GatewayE2eTest, EveryDashboardExpressionEvaluatesOnTheLiveMetrics) {
  std::ifstream in(RunfilePath("k8s/monitoring/dashboard.json"));
  ASSERT_TRUE(in) << "dashboard.json";
  nlohmann::json dashboard = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  std::vector<std::string> exprs;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel["targets"]) exprs.push_back(target["expr"]);
  }
  ASSERT_GE(exprs.size(), 10u);

  // Debian's Prometheus scrapes the five processes every second, as the ServiceMonitors do
  // (job = the service's name).
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/prometheus");
  const int prom_port = PickFreePort();
  std::string config = "global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n";
  for (const auto& [job, port] : std::vector<std::pair<std::string, int>>{
           {"identity", identity_->metrics_port()},
           {"catalog", catalog_metrics_},
           {"payments", payments_metrics_},
           {"support", support_metrics_},
           {"gateway", gateway_metrics_}}) {
    absl::StrAppend(&config, "- job_name: ", job, "\n  static_configs: [{targets: ['127.0.0.1:",
                    port, "']}]\n");
  }
  std::ofstream(dir + ".yml") << config;
  auto prometheus = Subprocess::Start(
      "/usr/bin/prometheus",
      {"--config.file=" + dir + ".yml", "--storage.tsdb.path=" + dir,
       absl::StrCat("--web.listen-address=127.0.0.1:", prom_port), "--log.level=warn"});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();
  // Waits (no timing asserted) until every target is up.
  const absl::Time end = absl::Now() + absl::Seconds(60);
  while (true) {
    ASSERT_FALSE(prometheus->WaitFor(absl::ZeroDuration()).has_value()) << prometheus->Output();
    ASSERT_LT(absl::Now(), end) << "targets not up: " << PromQuery(prom_port, "up").dump();
    bool all_up = false;
    try {
      nlohmann::json up = PromQuery(prom_port, "sum(up)");
      all_up = up["status"] == "success" && !up["data"]["result"].empty() &&
               up["data"]["result"][0]["value"][1] == "5";
    } catch (const std::exception&) {
    }
    if (all_up) break;
    absl::SleepFor(absl::Milliseconds(250));
  }

  // A short load through the gateway: accounts (identity), categories (catalog), a payment and
  // ticket read that are refused (payments, support).
  for (int i = 0; i < 3; ++i) NewAccount("BUYER");
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Send(port_, "GET", "/v1/categories").status, 200);
    EXPECT_EQ(Send(port_, "GET", "/v1/payments/pay_0123456789abcdef01234567").status, 401);
    EXPECT_EQ(Send(port_, "GET", "/v1/tickets/0123456789abcdef0123456789abcdef").status, 401);
  }
  // A few scrapes after the load, so that every rate has two samples around it.
  absl::SleepFor(absl::Seconds(4));

  for (const std::string& raw : exprs) {
    std::string expr = raw;
    for (size_t at; (at = expr.find("$service")) != std::string::npos;) {
      expr.replace(at, 8, ".*");
    }
    nlohmann::json answer = PromQuery(prom_port, expr);
    ASSERT_EQ(answer["status"], "success") << expr << "\n" << answer.dump();
    const auto& result = answer["data"]["result"];
    // The series the load moves must return data (the error ratio too: 0 without errors, not
    // "no data"); the others only have to evaluate: SLA breaches, sellers by health (no
    // sellerkpi here), escrow per currency (a currency appears with its first payment).
    const bool moved = absl::StrContains(expr, "grpc_server_handl") ||
                       absl::StrContains(expr, "gateway_http_requests_total") ||
                       absl::StrContains(expr, "db_pool_connections");
    if (moved) EXPECT_FALSE(result.empty()) << "no data: " << expr;
  }
  // The request rate per job is above zero for the services the load reached.
  nlohmann::json rates =
      PromQuery(prom_port, R"(sum by (job) (rate(grpc_server_handled_total[5m])) > 0)");
  std::set<std::string> jobs;
  for (const auto& series : rates["data"]["result"]) jobs.insert(series["metric"]["job"]);
  for (const char* job : {"identity", "catalog"}) EXPECT_TRUE(jobs.count(job)) << job;

  prometheus->Signal(SIGTERM);
  prometheus->WaitFor(absl::Seconds(20));
}

}  // namespace
}  // namespace marketplace::testing
