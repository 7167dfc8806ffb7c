#include "services/catalog/rule_set.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/catalog/live_rules.h"

namespace marketplace::catalog {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kMinimalRules[] = R"({
  "version": "r1",
  "term_lists": [{"reason_code": "PROHIBITED_PRODUCT", "verdict": "REJECT",
                  "explanation": "no", "terms": {"en": ["ivory"]}}],
  "term_groups": {"adult": {"en": ["dildo"]}}
})";

constexpr char kMinimalCategories[] = R"({
  "version": "c1",
  "categories": [
    {"id": "toys", "name": "Toys", "excluded_term_groups": ["adult"],
     "required_attributes": ["age_range"],
     "typical_price": {"currency_code": "EUR", "min_minor": 100, "max_minor": 1000}},
    {"id": "plush", "parent": "toys", "name": "Plush", "required_attributes": ["material"]},
    {"id": "lego", "parent": "toys", "name": "Lego",
     "typical_price": {"currency_code": "EUR", "min_minor": 500, "max_minor": 90000}},
    {"id": "adult", "name": "Adult", "age_restricted": true}
  ]
})";

std::string ErrorOf(absl::string_view categories, absl::string_view rules) {
  auto set = RuleSet::Parse(categories, rules);
  EXPECT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(set.status().message());
}

TEST(RuleSetTest, CategoriesInheritRestrictions) {
  auto set = RuleSet::Parse(kMinimalCategories, kMinimalRules);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->version(), "c1+r1");
  const ResolvedCategory* plush = (*set)->FindCategory("plush");
  ASSERT_NE(plush, nullptr);
  EXPECT_THAT(plush->path, ElementsAre("toys", "plush"));
  EXPECT_THAT(plush->excluded_term_groups, ElementsAre("adult"));
  EXPECT_THAT(plush->required_attributes, ElementsAre("age_range", "material"));
  ASSERT_TRUE(plush->typical_price.has_value());
  EXPECT_EQ(plush->typical_price->max_minor, 1000);
  EXPECT_EQ((*set)->FindCategory("lego")->typical_price->max_minor, 90000);  // its own
  EXPECT_TRUE((*set)->FindCategory("adult")->age_restricted);
  EXPECT_EQ((*set)->FindCategory("nope"), nullptr);
  EXPECT_THAT((*set)->Subtree("toys"), ElementsAre("toys", "plush", "lego"));
  EXPECT_THAT((*set)->Subtree("plush"), ElementsAre("plush"));
}

TEST(RuleSetTest, TheShippedFilesAreValidAndLarge) {
  auto categories = ReadWholeFile("services/catalog/data/categories.json");
  auto rules = ReadWholeFile("services/catalog/data/moderation_rules.json");
  ASSERT_TRUE(categories.ok() && rules.ok());
  auto set = RuleSet::Parse(*categories, *rules);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_GE((*set)->categories().size(), 36u);
  EXPECT_GE((*set)->brands().size(), 10u);
}

TEST(RuleSetTest, ErrorsNameTheFileThePathAndTheRule) {
  EXPECT_EQ(ErrorOf("{", kMinimalRules), "categories.json: not valid JSON");
  EXPECT_EQ(ErrorOf(kMinimalCategories, R"({"version": "r1", "term_lists": [],
                                            "term_groups": {}, "brands": [{"name": "X",
                                            "reference_price": {"currency_code": "EUR",
                                            "amount_minor": 0}}]})"),
            "moderation_rules.json: $.brands[0].reference_price.amount_minor: must be between 1 "
            "and 10000000000000");
  EXPECT_EQ(ErrorOf(kMinimalCategories, R"({"version": "r1", "term_lists": [],
                                            "term_groups": {}, "tresholds": {}})"),
            "moderation_rules.json: $.tresholds: is not a known key");
  EXPECT_THAT(ErrorOf(kMinimalCategories,
                      R"({"version": "r1", "term_groups": {}, "term_lists": [
                         {"reason_code": "bad code", "verdict": "REJECT", "explanation": "x",
                          "terms": {"en": ["a"]}}]})"),
              HasSubstr("$.term_lists[0].reason_code: must be UPPER_SNAKE_CASE"));
  EXPECT_THAT(ErrorOf(kMinimalCategories,
                      R"({"version": "r1", "term_groups": {}, "term_lists": [
                         {"reason_code": "X", "verdict": "MAYBE", "explanation": "x",
                          "terms": {"en": ["a"]}}]})"),
              HasSubstr("$.term_lists[0].verdict: must be REJECT or REVIEW"));
  EXPECT_THAT(ErrorOf(R"({"version": "c", "categories": [
                          {"id": "a", "parent": "b", "name": "A"}]})",
                      kMinimalRules),
              HasSubstr("categories.json: $.categories[0].parent: must name a category listed "
                        "before this one"));
  EXPECT_THAT(ErrorOf(R"({"version": "c", "categories": [
                          {"id": "a", "name": "A", "excluded_term_groups": ["weapons"]}]})",
                      kMinimalRules),
              HasSubstr("$.categories[0].excluded_term_groups[0]: must name a term group"));
  EXPECT_THAT(ErrorOf(R"({"version": "c", "categories": [{"id": "a", "name": "A"},
                          {"id": "a", "name": "B"}]})",
                      kMinimalRules),
              HasSubstr("$.categories[1].id: is listed twice"));
  EXPECT_THAT(ErrorOf(R"({"version": "c", "categories": [{"id": "a", "name": "A",
                          "typical_price": {"currency_code": "EUR", "min_minor": 10,
                          "max_minor": 5}}]})",
                      kMinimalRules),
              HasSubstr("typical_price.max_minor: must be >= min_minor"));
}

class LiveRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir();
    categories_ = dir_ + "/categories.json";
    rules_ = dir_ + "/moderation_rules.json";
    Write(categories_, kMinimalCategories);
    Write(rules_, kMinimalRules);
  }
  static void Write(const std::string& path, absl::string_view content) {
    std::ofstream out(path, std::ios::trunc);
    out << content;
  }
  std::string dir_, categories_, rules_;
};

TEST_F(LiveRulesTest, ABadFileKeepsTheRulesInForce) {
  auto live = LiveRules::Load(categories_, rules_);
  ASSERT_TRUE(live.ok()) << live.status();
  auto before = (*live)->Current();
  EXPECT_EQ(before->version(), "c1+r1");

  Write(rules_, R"({"version": "r2", "term_lists": "oops", "term_groups": {}})");
  absl::Status reload = (*live)->Reload();
  EXPECT_EQ(reload.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(reload.message()), HasSubstr("$.term_lists: must be a list"));
  EXPECT_EQ((*live)->Current(), before);  // the same rules, untouched

  std::remove(categories_.c_str());
  EXPECT_EQ((*live)->Reload().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*live)->Current()->version(), "c1+r1");

  Write(categories_, kMinimalCategories);
  std::string newer = kMinimalRules;
  newer.replace(newer.find("\"r1\""), 4, "\"r2\"");
  Write(rules_, newer);
  ASSERT_TRUE((*live)->Reload().ok());
  EXPECT_EQ((*live)->Current()->version(), "c1+r2");
  EXPECT_EQ(before->version(), "c1+r1");  // a snapshot taken earlier is still whole
}

TEST_F(LiveRulesTest, LoadFailsOnAMissingFile) {
  auto live = LiveRules::Load(dir_ + "/nope.json", rules_);
  EXPECT_EQ(live.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace marketplace::catalog

namespace marketplace::catalog {
namespace {

// Every term list and group of the shipped rules says where its terms come from, and the
// issue-20 keys are read.
TEST(ShippedRulesTest, EveryListNamesItsSourceAndThePolicyKeysAreRead) {
  auto live = LiveRules::Load("services/catalog/data/categories.json",
                              "services/catalog/data/moderation_rules.json");
  ASSERT_TRUE(live.ok()) << live.status();
  std::shared_ptr<const RuleSet> rules = (*live)->Current();
  for (size_t i = 0; i < rules->term_lists().size(); ++i) {
    EXPECT_FALSE(rules->term_lists()[i].source.empty()) << "term_lists[" << i << "]";
    // Every list covers the five languages of the catalog.
    for (const char* lang : {"fr", "en", "de", "es", "it"}) {
      EXPECT_TRUE(rules->term_lists()[i].terms_by_language.count(lang))
          << "term_lists[" << i << "] " << lang;
    }
  }
  for (const char* group : {"adult", "weapons", "drugs", "alcohol", "live-animals"}) {
    EXPECT_TRUE(rules->sources().count(std::string("term_groups.") + group)) << group;
  }
  for (const char* key : {"allowed_phrases", "contact_terms", "email_terms", "new_item_terms",
                          "not_new_phrases", "accessory_terms", "copy_terms"}) {
    EXPECT_TRUE(rules->sources().count(key)) << key;
  }
  EXPECT_TRUE(rules->IsRestrictedGroup("adult"));
  EXPECT_FALSE(rules->IsRestrictedGroup("alcohol"));
  ASSERT_NE(rules->FindFamily("weapons"), nullptr);
  EXPECT_TRUE(rules->FindFamily("weapons")->restricted);
  EXPECT_TRUE(rules->FindCategory("baby-care")->children);
  EXPECT_FALSE(rules->FindCategory("home")->children);
}

TEST(ShippedRulesTest, UnknownCategoriesInTheNewKeysAreRefused) {
  const std::string categories = R"({"version": "c", "categories": [{"id": "toys", "name": "T"}]})";
  const std::string rules = R"({"version": "t", "term_lists": [], "term_groups": {},
      "category_families": {"toys": {"categories": ["no-such-category"]}}})";
  auto parsed = RuleSet::Parse(categories, rules);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("category_families.toys.categories[0]"),
            std::string::npos)
      << parsed.status();
}

}  // namespace
}  // namespace marketplace::catalog
