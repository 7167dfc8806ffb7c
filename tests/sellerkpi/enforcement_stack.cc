#include "tests/sellerkpi/enforcement_stack.h"

#include <csignal>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "common/status_mapping.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "common/tls/test_tls.h"

namespace marketplace::testing {
namespace {

namespace catalog_v1 = ::marketplace::catalog::v1;
using identity_v1::Identity;

bool Serving(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  return grpc::health::v1::Health::NewStub(channel)->Check(&ctx, req, &resp).ok() &&
         resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

absl::Status Check(const grpc::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(common::FromGrpcStatus(s).code(),
                      absl::StrCat(what, ": ", s.error_message()));
}

}  // namespace

void AddCriticalEvents(const std::string& seller, absl::Time t0,
                       sellerkpi::v1::RecordSellerEventsRequest* req) {
  for (int i = 0; i < 20; ++i) {
    const std::string order = absl::StrCat(seller, "-order-", i);
    sellerkpi::v1::SellerEvent* placed = req->add_events();
    placed->set_event_id(absl::StrCat(seller, "-placed-", i));
    placed->set_seller_id(seller);
    *placed->mutable_occurred_at() = common::ToTimestamp(t0);
    placed->mutable_links()->set_order_id(order);
    placed->mutable_order_placed();
    if (i < 5) {
      sellerkpi::v1::SellerEvent* claim = req->add_events();
      claim->set_event_id(absl::StrCat(seller, "-claim-", i));
      claim->set_seller_id(seller);
      *claim->mutable_occurred_at() = common::ToTimestamp(t0 + absl::Minutes(1));
      claim->mutable_links()->set_order_id(order);
      claim->mutable_claim_filed()->set_counts_against_seller(true);
    }
  }
}

void WithToken(grpc::ClientContext* ctx, const std::string& token) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
}

EnforcementStack::~EnforcementStack() {
  sellerkpi_processes_.clear();
  catalog_process_.reset();
  payments_process_.reset();
  identity_.reset();
}

absl::StatusOr<std::pair<std::string, std::string>> EnforcementStack::ServiceAccount(
    const std::string& name, const std::vector<std::string>& scopes) {
  static int n = 0;
  identity_v1::CreateServiceAccountRequest req;
  req.set_display_name(name);
  for (const std::string& scope : scopes) req.add_scopes(scope);
  req.set_request_id(absl::StrCat("svc-", name, "-", absl::ToUnixMicros(absl::Now()), "-", ++n));
  identity_v1::CreateServiceAccountResponse created;
  grpc::Status s = CallIdentity(identity_->stub(), &Identity::Stub::CreateServiceAccount, req,
                                &created, admin_token_);
  if (absl::Status c = Check(s, "CreateServiceAccount"); !c.ok()) return c;
  return std::make_pair(created.client_id(), created.client_secret());
}

absl::StatusOr<std::unique_ptr<EnforcementStack>> EnforcementStack::Start() {
  std::unique_ptr<EnforcementStack> stack(new EnforcementStack());
  stack->catalog_target_ = absl::StrCat("127.0.0.1:", PickFreePort());
  stack->payments_target_ = absl::StrCat("127.0.0.1:", PickFreePort());
  auto identity = IdentityProcess::Start(
      {absl::StrCat("--event_subscribers=catalog=", stack->catalog_target_,
                    ":identity.,payments=", stack->payments_target_, ":identity.")});
  if (!identity.ok()) return identity.status();
  stack->identity_ = *std::move(identity);
  auto admin = Login(stack->identity_->stub(), stack->identity_->admin_email(),
                     stack->identity_->admin_password());
  if (!admin.ok()) return admin.status();
  stack->admin_token_ = admin->tokens().access_token();

  std::vector<std::string> catalog_args = {
      "--listen_address=" + stack->catalog_target_,
      "--metrics_address=127.0.0.1:0",
      "--categories_file=" + RunfilePath("services/catalog/data/categories.json"),
      "--moderation_rules_file=" + RunfilePath("services/catalog/data/moderation_rules.json"),
      "--category_model_file=" + RunfilePath("services/catalog/data/category_model.ftz"),
      "--drain_timeout=2s",
      "--log_level=warn",
      "--new_seller_listings=0",
  };
  std::vector<std::string> payments_args = {
      "--listen_address=" + stack->payments_target_,
      "--metrics_address=127.0.0.1:0",
      // No sellerkpi here (nothing listens on port 1): it delays only itself.
      absl::StrCat("--event_subscribers=sellerkpi=127.0.0.1:1:payments.,catalog=",
                   stack->catalog_target_, ":payments.payment_held"),
      "--drain_timeout=2s",
      "--log_level=warn",
  };
  for (auto* args : {&catalog_args, &payments_args}) {
    for (std::string& flag : TestTlsFlags()) args->push_back(std::move(flag));
    const bool is_catalog = args == &catalog_args;
    auto db = IdentityProcess::NewDatabaseArgs();
    if (!db.ok()) return db.status();
    args->insert(args->end(), db->begin(), db->end());
    args->push_back("--identity_address=" + stack->identity_->target());
    auto account = stack->ServiceAccount(
        is_catalog ? "catalog" : "payments",
        {"identity.accounts.read", is_catalog ? "catalog.events.publish"
                                              : "payments.events.publish"});
    if (!account.ok()) return account.status();
    args->push_back("--service_client_id=" + account->first);
    args->push_back("--service_client_secret=" + account->second);
  }
  auto catalog = Subprocess::Start(RunfilePath("services/catalog/catalog_server"), catalog_args);
  if (!catalog.ok()) return catalog.status();
  stack->catalog_process_ = std::make_unique<Subprocess>(*std::move(catalog));
  auto payments =
      Subprocess::Start(RunfilePath("services/payments/payments_server"), payments_args);
  if (!payments.ok()) return payments.status();
  stack->payments_process_ = std::make_unique<Subprocess>(*std::move(payments));
  auto catalog_channel = grpc::CreateChannel(stack->catalog_target_, TestChannelCredentials());
  auto payments_channel = grpc::CreateChannel(stack->payments_target_, TestChannelCredentials());
  const absl::Time end = absl::Now() + absl::Seconds(60);
  while (!Serving(catalog_channel) || !Serving(payments_channel)) {
    if (stack->catalog_process_->WaitFor(absl::ZeroDuration()).has_value()) {
      return absl::InternalError("catalog_server exited: " + stack->catalog_process_->Output());
    }
    if (stack->payments_process_->WaitFor(absl::ZeroDuration()).has_value()) {
      return absl::InternalError("payments_server exited: " +
                                 stack->payments_process_->Output());
    }
    if (absl::Now() > end) return absl::DeadlineExceededError("catalog/payments not serving");
    absl::SleepFor(absl::Milliseconds(100));
  }
  stack->catalog_ = catalog_v1::CatalogService::NewStub(catalog_channel);
  stack->payments_ = payments::v1::Payments::NewStub(payments_channel);
  return stack;
}

absl::StatusOr<EnforcementStack::Seller> EnforcementStack::ApprovedSellerWithListing() {
  Seller seller;
  seller.email = UniqueEmail("kpiseller");
  auto login = SignUpAndLogin(identity_->stub(), identity_v1::SELLER, seller.email);
  if (!login.ok()) return login.status();
  seller.id = login->account().account_id();
  seller.token = login->tokens().access_token();

  identity_v1::SubmitSellerApplicationRequest apply;
  apply.set_name("accounts/me/sellerProfile");
  identity_v1::SellerApplication* a = apply.mutable_application();
  a->set_legal_name("Example Trading GmbH");
  a->set_registration_number("HRB 12345");
  a->set_country_code("DE");
  a->set_payout_account_ref("payout:acct_123");
  a->set_contact_email("onboarding@example.com");
  a->set_contact_phone("+4915112345678");
  identity_v1::SellerProfile profile;
  if (absl::Status c = Check(CallIdentity(identity_->stub(), &Identity::Stub::SubmitSellerApplication,
                                          apply, &profile, seller.token),
                             "SubmitSellerApplication");
      !c.ok()) {
    return c;
  }
  identity_v1::ReviewSellerApplicationRequest review;
  review.set_name("accounts/" + seller.id + "/sellerProfile");
  review.set_decision(identity_v1::APPROVE);
  if (absl::Status c = Check(CallIdentity(identity_->stub(), &Identity::Stub::ReviewSellerApplication,
                                          review, &profile, admin_token_),
                             "ReviewSellerApplication");
      !c.ok()) {
    return c;
  }

  catalog_v1::CreateListingRequest create;
  catalog_v1::Listing* l = create.mutable_listing();
  l->set_title("Peluche ourson brun 30 cm");
  l->set_description("Peluche ourson toute douce, lavable en machine, idéale dès la naissance.");
  l->set_category_id("toys-plush");
  l->set_condition(catalog_v1::NEW);
  l->mutable_price()->set_currency_code("EUR");
  l->mutable_price()->set_amount_minor(1990);
  l->set_quantity(1);
  l->add_image_urls("https://img.example/ourson.jpg");
  (*l->mutable_attributes())["age_range"] = "0+";
  create.set_request_id(absl::StrCat("listing-", seller.id));
  {
    grpc::ClientContext ctx;
    WithToken(&ctx, seller.token);
    if (absl::Status c = Check(catalog_->CreateListing(&ctx, create, &seller.listing),
                               "CreateListing");
        !c.ok()) {
      return c;
    }
  }
  catalog_v1::SubmitListingRequest submit;
  submit.set_listing_id(seller.listing.listing_id());
  grpc::ClientContext ctx;
  WithToken(&ctx, seller.token);
  if (absl::Status c = Check(catalog_->SubmitListing(&ctx, submit, &seller.listing),
                             "SubmitListing");
      !c.ok()) {
    return c;
  }
  return seller;
}

const std::vector<std::string>& EnforcementStack::SellerKpiScopes() {
  static const auto* scopes = new std::vector<std::string>{
      "identity.enforcement", "identity.accounts.read", "catalog.enforcement", "payments.policy"};
  return *scopes;
}

void EnforcementStack::KillSellerKpi() {
  for (SellerKpiProcess& p : sellerkpi_processes_) p.process->Signal(SIGKILL);
  for (SellerKpiProcess& p : sellerkpi_processes_) p.process->WaitFor(absl::Seconds(10));
  sellerkpi_processes_.clear();
}

std::vector<int> EnforcementStack::SellerKpiMetricsPorts() const {
  std::vector<int> out;
  for (const SellerKpiProcess& p : sellerkpi_processes_) out.push_back(p.metrics_port);
  return out;
}

absl::StatusOr<std::string> EnforcementStack::StartSellerKpi(
    const std::vector<std::string>& extra_args, const std::vector<std::string>& scopes) {
  auto targets = StartSellerKpis(1, extra_args, scopes);
  if (!targets.ok()) return targets.status();
  return targets->front();
}

absl::StatusOr<std::vector<std::string>> EnforcementStack::StartSellerKpis(
    int count, const std::vector<std::string>& extra_args,
    const std::vector<std::string>& scopes) {
  if (sellerkpi_db_args_.empty()) {
    auto db = IdentityProcess::NewDatabaseArgs();
    if (!db.ok()) return db.status();
    sellerkpi_db_args_ = *db;
  }
  std::vector<std::string> targets;
  std::vector<Subprocess*> started;
  for (int i = 0; i < count; ++i) {
    const std::string target = absl::StrCat("127.0.0.1:", PickFreePort());
    auto account = ServiceAccount("sellerkpi", scopes);
    if (!account.ok()) return account.status();
    const int metrics_port = PickFreePort();
    std::vector<std::string> args = {
        "--listen_address=" + target,
        absl::StrCat("--metrics_address=127.0.0.1:", metrics_port),
        "--identity_address=" + identity_->target(),
        "--catalog_address=" + catalog_target_,
        "--payments_address=" + payments_target_,
        "--service_client_id=" + account->first,
        "--service_client_secret=" + account->second,
        "--thresholds_file=" + RunfilePath("services/sellerkpi/data/thresholds.textproto"),
        "--drain_timeout=2s",
        "--log_level=warn",
    };
    args.insert(args.end(), sellerkpi_db_args_.begin(), sellerkpi_db_args_.end());
    for (std::string& flag : TestTlsFlags()) args.push_back(std::move(flag));
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto process = Subprocess::Start(RunfilePath("services/sellerkpi/sellerkpi_server"), args);
    if (!process.ok()) return process.status();
    sellerkpi_processes_.push_back(
        {std::make_unique<Subprocess>(*std::move(process)), metrics_port});
    started.push_back(sellerkpi_processes_.back().process.get());
    targets.push_back(target);
  }
  // They start together: the migration runner's lock lets one apply the schema while the
  // others wait for it.
  const absl::Time end = absl::Now() + absl::Seconds(60);
  for (int i = 0; i < count; ++i) {
    auto channel = grpc::CreateChannel(targets[i], TestChannelCredentials());
    while (!Serving(channel)) {
      if (started[i]->WaitFor(absl::ZeroDuration()).has_value()) {
        return absl::InternalError("sellerkpi_server exited: " + started[i]->Output());
      }
      if (absl::Now() > end) return absl::DeadlineExceededError("sellerkpi not serving");
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  return targets;
}

absl::StatusOr<catalog::v1::ListingState> EnforcementStack::ListingState(
    const std::string& listing_id) {
  catalog_v1::GetListingRequest req;
  req.set_listing_id(listing_id);
  catalog_v1::Listing got;
  grpc::ClientContext ctx;
  WithToken(&ctx, admin_token_);
  if (absl::Status c = Check(catalog_->GetListing(&ctx, req, &got), "GetListing"); !c.ok()) {
    return c;
  }
  return got.state();
}

}  // namespace marketplace::testing
