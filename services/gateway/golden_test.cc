// Golden tests: for every annotated method of every service in the descriptor set (every
// binding), a generated HTTP request, the gRPC request the gateway makes of it (text format)
// and the JSON it answers for a generated response, compared with the stored file
// services/gateway/testdata/golden/<method>.<binding>.golden.
//
// A new method fails here until its file exists; a changed transcoding shows as a diff. To write
// the files after a deliberate change, run
//   bazel run //services/gateway:golden_test -- --update
// and review the diff (`git diff services/gateway/testdata/golden`).
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "services/gateway/api.h"
#include "services/gateway/golden.h"
#include "services/gateway/transcoder.h"

namespace marketplace::gateway {
namespace {

constexpr char kDescriptorSet[] = "protos/api_descriptor_set.pb";
constexpr char kGoldenDir[] = "services/gateway/testdata/golden";

bool g_update = false;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(GoldenTest, EveryMethodMatchesItsGoldenFile) {
  auto api = Api::Load(kDescriptorSet, {}, /*all_services=*/true);
  ASSERT_TRUE(api.ok()) << api.status().message();
  Transcoder transcoder(api->get(), false);
  std::string dir = kGoldenDir;
  if (g_update) {
    const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
    ASSERT_NE(workspace, nullptr) << "--update works under `bazel run`";
    dir = std::string(workspace) + "/" + kGoldenDir;
    std::filesystem::create_directories(dir);
  }
  std::set<std::string> expected_files;
  std::set<std::string> services;
  for (const Route& route : (*api)->routes()) {
    SCOPED_TRACE(route.name);
    services.insert(route.service);
    GoldenExchange exchange = MakeGoldenExchange(**api, transcoder, route);
    EXPECT_EQ(exchange.grpc_request.rfind("error:", 0), std::string::npos)
        << exchange.http_request << "\n" << exchange.grpc_request;
    EXPECT_EQ(exchange.json_response.rfind("error:", 0), std::string::npos)
        << exchange.json_response;
    const std::string name = GoldenFileName(route);
    expected_files.insert(name);
    const std::string text = GoldenText(route, exchange);
    const std::string path = dir + "/" + name;
    if (g_update) {
      std::ofstream(path, std::ios::binary) << text;
      continue;
    }
    const std::string stored = ReadFile(path);
    EXPECT_FALSE(stored.empty()) << "no golden file " << path
                                 << " (bazel run //services/gateway:golden_test -- --update)";
    if (!stored.empty()) {
      EXPECT_EQ(text, stored) << path;
    }
  }
  // Every API service is covered (support and sellerkpi included).
  for (const char* service :
       {"marketplace.catalog.v1.CatalogService", "marketplace.identity.v1.Identity",
        "marketplace.payments.v1.Payments", "marketplace.sellerkpi.v1.SellerKpiService",
        "marketplace.support.v1.SupportService"}) {
    EXPECT_TRUE(services.count(service)) << service;
  }
  // No stale file: each stored file belongs to a route.
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (g_update && !expected_files.count(name)) {
      std::filesystem::remove(entry.path());
      continue;
    }
    EXPECT_TRUE(expected_files.count(name)) << "stale golden file " << name;
  }
}

}  // namespace
}  // namespace marketplace::gateway

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--update") == 0) marketplace::gateway::g_update = true;
  }
  return RUN_ALL_TESTS();
}
