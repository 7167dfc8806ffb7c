#include "services/catalog/config.h"

#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketplace::catalog {
namespace {

absl::Status Parse(std::vector<std::string> args, CatalogConfig* config,
                   const common::Environment& env = {}) {
  common::Flags flags("catalog_server");
  AddFlags(flags, config);
  args.insert(args.begin(), "catalog_server");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return flags.Parse(static_cast<int>(argv.size()), argv.data(), env);
}

TEST(CatalogConfigTest, DefaultsAreTheDocumentedOnes) {
  CatalogConfig c;
  ASSERT_OK(Parse({}, &c));
  ASSERT_OK(c.Validate());
  EXPECT_EQ(c.categories_file, "services/catalog/data/categories.json");
  EXPECT_EQ(c.rules_file, "services/catalog/data/moderation_rules.json");
  EXPECT_EQ(c.category_model_file, "services/catalog/data/category_model.ftz");
  EXPECT_EQ(c.rules_check_interval, absl::Seconds(10));
  EXPECT_EQ(c.public_cache_ttl, absl::Minutes(1));
  EXPECT_EQ(c.public_cache_poll, absl::Milliseconds(200));
  EXPECT_EQ(c.point_read_threads, 2);
  const CatalogOptions options = c.Options();
  EXPECT_EQ(options.report_threshold, 3);
  EXPECT_EQ(options.claim_timeout, absl::Minutes(15));
  EXPECT_FALSE(options.new_seller_listings.has_value());  // the rules file decides
  EXPECT_EQ(c.Store().point_read_threads, 2);
}

TEST(CatalogConfigTest, FlagsAndEnvironmentSetTheOptions) {
  CatalogConfig c;
  ASSERT_OK(Parse({"--new_seller_listings=0", "--public_cache_ttl=0s"}, &c,
                  {{"MP_REPORT_THRESHOLD", "5"}}));
  EXPECT_EQ(c.Options().new_seller_listings, 0);
  EXPECT_EQ(c.Options().report_threshold, 5);
  EXPECT_EQ(c.PublicCache(nullptr).ttl, absl::ZeroDuration());
}

TEST(CatalogConfigTest, BoundsAreCheckedByTheFlags) {
  CatalogConfig c;
  EXPECT_EQ(Parse({"--public_cache_poll=0s"}, &c).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Parse({"--report_threshold=0"}, &c).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Parse({"--point_read_threads=65"}, &c).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketplace::catalog
