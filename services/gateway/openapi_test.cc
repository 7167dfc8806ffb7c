#include "services/gateway/openapi.h"

#include <functional>
#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace marketplace::gateway {
namespace {

using json = nlohmann::json;

// From the real descriptor set: each annotated method once (each binding one operation),
// every path parameter declared, every $ref resolves.
TEST(OpenApiTest, EveryMethodOnceEveryParameterDeclaredEveryRefResolves) {
  auto api = Api::Load("protos/api_descriptor_set.pb", {}, /*all_services=*/true);
  ASSERT_TRUE(api.ok()) << api.status().message();
  const json doc = json::parse(BuildOpenApi(**api));
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearerAuth"]["bearerFormat"], "JWT");

  std::set<std::string> operation_ids;
  size_t operations = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      ++operations;
      EXPECT_TRUE(operation_ids.insert(op["operationId"].get<std::string>()).second)
          << op["operationId"];
      // Every {name} of the path is a declared path parameter, and nothing more.
      std::set<std::string> in_path, declared;
      for (size_t at = path.find('{'); at != std::string::npos; at = path.find('{', at + 1)) {
        in_path.insert(path.substr(at + 1, path.find('}', at) - at - 1));
      }
      for (const auto& p : op["parameters"]) {
        if (p["in"] == "path") declared.insert(p["name"].get<std::string>());
      }
      EXPECT_EQ(in_path, declared) << method << " " << path;
    }
  }
  EXPECT_EQ(operations, (*api)->routes().size());
  for (const Route& r : (*api)->routes()) {
    const std::string id = r.method->service()->name() + "_" + r.method->name() +
                           (r.binding == 0 ? "" : "_" + std::to_string(r.binding));
    EXPECT_TRUE(operation_ids.count(id)) << id;
  }

  // Every $ref points at a schema that exists.
  size_t refs = 0;
  std::function<void(const json&)> walk = [&](const json& node) {
    if (node.is_object()) {
      for (const auto& [key, value] : node.items()) {
        if (key == "$ref") {
          ++refs;
          const std::string ref = value.get<std::string>();
          const std::string prefix = "#/components/schemas/";
          ASSERT_EQ(ref.rfind(prefix, 0), 0u) << ref;
          EXPECT_TRUE(doc["components"]["schemas"].contains(ref.substr(prefix.size()))) << ref;
        } else {
          walk(value);
        }
      }
    } else if (node.is_array()) {
      for (const auto& v : node) walk(v);
    }
  };
  walk(doc);
  EXPECT_GT(refs, 0u);

  // Spot checks: comments become descriptions; int64 is a string; enums by name.
  const json& get = doc["paths"]["/v1/listings/{listing_id}"]["get"];
  EXPECT_EQ(get["operationId"], "CatalogService_GetListing");
  EXPECT_FALSE(get["description"].get<std::string>().empty());
  const json& money = doc["components"]["schemas"]["marketplace.common.v1.Money"];
  EXPECT_EQ(money["properties"]["amountMinor"]["type"], "string");
  EXPECT_TRUE(doc["paths"].contains("/v1/accounts/{accountsId}"));
  EXPECT_TRUE(doc["paths"].contains("/v1/accounts/{accountsId}/sellerProfile"));
}

}  // namespace
}  // namespace marketplace::gateway
