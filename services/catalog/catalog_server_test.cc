// catalog_server as a process: refuses bad data files at startup, applies its migrations,
// serves public reads without identity, and reloads the moderation rules on SIGHUP, keeping
// the old ones when the new file is bad.
#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/testing/mariadb_server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/catalog/v1/catalog.grpc.pb.h"
#include "tests/support/subprocess.h"
#include "common/tls/test_tls.h"

namespace marketplace::catalog {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckResponse;
using marketplace::testing::PickFreePort;
using marketplace::testing::RunfilePath;
using marketplace::testing::Subprocess;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

class CatalogServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = common::testing::MariaDbServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status();
    db_ = *server;
    if (!db_->running()) ASSERT_TRUE(db_->Start().ok());
    auto database = common::testing::CreateTestDatabase("catalog");
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *database;
    const char* tmp = getenv("TEST_TMPDIR");
    dir_ = tmp ? tmp : "/tmp";
    categories_ = dir_ + "/categories.json";
    rules_ = dir_ + "/moderation_rules.json";
    original_rules_ = ReadFile(RunfilePath("services/catalog/data/moderation_rules.json"));
    WriteFile(categories_, ReadFile(RunfilePath("services/catalog/data/categories.json")));
    WriteFile(rules_, original_rules_);
  }

  void TearDown() override { EXPECT_TRUE(common::testing::DropTestDatabase(database_.name).ok()); }

  std::vector<std::string> Args() {
    grpc_port_ = PickFreePort();
    return {absl::StrCat("--listen_address=127.0.0.1:", grpc_port_),
            absl::StrCat("--metrics_address=127.0.0.1:", PickFreePort()),
            "--db_host=127.0.0.1",
            absl::StrCat("--db_port=", db_->port()),
            absl::StrCat("--db_name=", database_.name),
            absl::StrCat("--db_user=", database_.options.user),
            absl::StrCat("--db_password=", database_.options.password),
            absl::StrCat("--categories_file=", categories_),
            absl::StrCat("--moderation_rules_file=", rules_),
            "--identity_address=127.0.0.1:1",
            marketplace::testing::TestTlsFlags()[0],
            marketplace::testing::TestTlsFlags()[1],
            marketplace::testing::TestTlsFlags()[2]};
  }

  std::string ListCategoriesVersion() {
    auto stub = v1::CatalogService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", grpc_port_), marketplace::testing::TestChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::ListCategoriesResponse response;
    grpc::Status s = stub->ListCategories(&ctx, {}, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.rules_version();
  }

  bool Serving() {
    auto stub = Health::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                                                    marketplace::testing::TestChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&ctx, {}, &response).ok() &&
           response.status() == HealthCheckResponse::SERVING;
  }

  common::testing::MariaDbServer* db_ = nullptr;
  common::testing::TestDatabase database_;
  std::string dir_, categories_, rules_, original_rules_;
  int grpc_port_ = 0;
};

std::string Binary() { return RunfilePath("services/catalog/catalog_server"); }

TEST_F(CatalogServerTest, BadRulesFileAtStartupExitsWithTwo) {
  WriteFile(rules_, "{ not json");
  auto process = Subprocess::Start(Binary(), Args());
  ASSERT_TRUE(process.ok());
  std::optional<int> code = process->WaitFor(absl::Seconds(20));
  ASSERT_TRUE(code.has_value()) << process->Output();
  EXPECT_EQ(*code, 2);
  EXPECT_NE(process->Output().find("moderation_rules.json"), std::string::npos)
      << process->Output();
}

TEST_F(CatalogServerTest, MigrateOnlyAppliesTheSchemaAndExits) {
  std::vector<std::string> args = Args();
  args.push_back("--migrate_only");
  auto process = Subprocess::Start(Binary(), args);
  ASSERT_TRUE(process.ok());
  std::optional<int> code = process->WaitFor(absl::Seconds(30));
  ASSERT_TRUE(code.has_value()) << process->Output();
  EXPECT_EQ(*code, 0) << process->Output();
}

TEST_F(CatalogServerTest, ReloadsRulesOnSighupAndKeepsThemWhenTheFileIsBad) {
  auto process = Subprocess::Start(Binary(), Args());
  ASSERT_TRUE(process.ok());
  absl::Time end = absl::Now() + absl::Seconds(30);
  while (!Serving() && absl::Now() < end) {
    ASSERT_FALSE(process->WaitFor(absl::Milliseconds(200)).has_value()) << process->Output();
  }
  ASSERT_TRUE(Serving()) << process->Output();
  const std::string before = ListCategoriesVersion();
  ASSERT_FALSE(before.empty());

  WriteFile(rules_, "{ \"version\": \"broken\", ");
  process->Signal(SIGHUP);
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(ListCategoriesVersion(), before);
  EXPECT_NE(process->Output().find("reload refused"), std::string::npos) << process->Output();

  const size_t at = original_rules_.find("\"version\"");
  ASSERT_NE(at, std::string::npos);
  const size_t open = original_rules_.find('"', original_rules_.find(':', at));
  const size_t close = original_rules_.find('"', open + 1);
  std::string changed = original_rules_;
  changed.replace(open + 1, close - open - 1, "9999-01-01.1");
  WriteFile(rules_, changed);
  process->Signal(SIGHUP);
  end = absl::Now() + absl::Seconds(10);
  while (ListCategoriesVersion() == before && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_NE(ListCategoriesVersion().find("9999-01-01.1"), std::string::npos);

  process->Signal(SIGTERM);
  std::optional<int> code = process->WaitFor(absl::Seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << process->Output();
}

}  // namespace
}  // namespace marketplace::catalog
