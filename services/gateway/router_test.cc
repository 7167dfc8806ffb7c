#include "services/gateway/router.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/gateway/path_template.h"

namespace marketplace::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

PathTemplate T(const std::string& text) {
  auto t = ParsePathTemplate(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status();
  return t.ok() ? *t : PathTemplate{};
}

TEST(PathTemplateTest, ParsesEveryForm) {
  PathTemplate t = T("/v1/{name=accounts/*/sellerProfile}:review");
  ASSERT_EQ(t.segments.size(), 4u);
  EXPECT_EQ(t.segments[0].literal, "v1");
  EXPECT_EQ(t.segments[2].kind, PathSegment::kSingle);
  EXPECT_EQ(t.verb, "review");
  ASSERT_EQ(t.variables.size(), 1u);
  EXPECT_THAT(t.variables[0].field_path, ElementsAre("name"));
  EXPECT_EQ(t.variables[0].first_segment, 1);
  EXPECT_EQ(t.variables[0].end_segment, 4);
  EXPECT_FALSE(t.variables[0].single_segment);

  PathTemplate nested = T("/v1/{listing.listing_id}");
  EXPECT_THAT(nested.variables[0].field_path, ElementsAre("listing", "listing_id"));
  EXPECT_TRUE(nested.variables[0].single_segment);

  PathTemplate multi = T("/files/{path=**}");
  EXPECT_EQ(multi.segments.back().kind, PathSegment::kMulti);
  EXPECT_EQ(multi.MultiCount(), 1);
  EXPECT_EQ(T("/a/*/b:do").LiteralCount(), 3);  // a, b and the verb
}

TEST(PathTemplateTest, RefusesBadTemplates) {
  for (const char* bad : {"", "v1/x", "/v1/**/x", "/v1/{a=b/{c}}", "/v1/{}", "/v1/{a", "/v1/:",
                          "/v1//x", "/v1/{a}/{a}", "/v1/x:"}) {
    EXPECT_FALSE(ParsePathTemplate(bad).ok()) << bad;
  }
}

TEST(PathTemplateTest, PercentDecoding) {
  EXPECT_EQ(*PercentDecode("a%20b%2Fc%2f", false), "a b/c/");
  EXPECT_EQ(*PercentDecode("a%20b%2Fc%2f", true), "a b%2Fc%2f");
  EXPECT_FALSE(PercentDecode("a%2", false).ok());
  EXPECT_FALSE(PercentDecode("a%zz", false).ok());
  EXPECT_FALSE(PercentDecode("%", true).ok());
}

class RouterTest : public ::testing::Test {
 protected:
  void Add(const std::string& method, const std::string& path, int id) {
    ASSERT_TRUE(router_.Add(method, T(path), path, id).ok()) << path;
  }
  Router router_;
};

TEST_F(RouterTest, LiteralsVariablesAndVerbs) {
  Add("GET", "/v1/listings/{listing_id}", 1);
  Add("POST", "/v1/listings/{listing_id}:submit", 2);
  Add("GET", "/v1/{name=accounts/*}", 3);
  Add("POST", "/v1/sessions:login", 4);
  Add("GET", "/v1/listings", 5);

  auto r = router_.Match("GET", "/v1/listings/lst_1");
  ASSERT_EQ(r.outcome, Router::Outcome::kMatched);
  EXPECT_EQ(r.id, 1);
  EXPECT_THAT(r.values, ElementsAre("lst_1"));

  r = router_.Match("POST", "/v1/listings/lst_1:submit");
  ASSERT_EQ(r.outcome, Router::Outcome::kMatched);
  EXPECT_EQ(r.id, 2);
  EXPECT_THAT(r.values, ElementsAre("lst_1"));

  r = router_.Match("GET", "/v1/accounts/abc");
  ASSERT_EQ(r.outcome, Router::Outcome::kMatched);
  EXPECT_EQ(r.id, 3);
  EXPECT_THAT(r.values, ElementsAre("accounts/abc"));

  EXPECT_EQ(router_.Match("POST", "/v1/sessions:login").id, 4);
  EXPECT_EQ(router_.Match("GET", "/v1/listings").id, 5);
}

TEST_F(RouterTest, NotFoundAndMethodNotAllowed) {
  Add("GET", "/v1/listings/{listing_id}", 1);
  Add("DELETE", "/v1/listings/{listing_id}", 2);
  EXPECT_EQ(router_.Match("GET", "/v1/nothing").outcome, Router::Outcome::kNotFound);
  auto r = router_.Match("PUT", "/v1/listings/x");
  EXPECT_EQ(r.outcome, Router::Outcome::kMethodNotAllowed);
  EXPECT_THAT(r.allowed, ElementsAre("DELETE", "GET"));
  EXPECT_THAT(router_.AllowedMethods("/v1/listings/x"), ElementsAre("DELETE", "GET"));
  EXPECT_TRUE(router_.AllowedMethods("/v1/other").empty());
}

TEST_F(RouterTest, PathsMatchAsSent) {
  Add("GET", "/v1/listings/{listing_id}", 1);
  Add("GET", "/v1/listings", 2);
  // Nothing is collapsed: "//", a trailing '/', ".." are never another route.
  EXPECT_EQ(router_.Match("GET", "/v1//listings").outcome, Router::Outcome::kNotFound);
  EXPECT_EQ(router_.Match("GET", "/v1/listings/").outcome, Router::Outcome::kNotFound);
  EXPECT_EQ(router_.Match("GET", "/v1/listings/x/../").outcome, Router::Outcome::kNotFound);
  auto dots = router_.Match("GET", "/v1/listings/..");
  ASSERT_EQ(dots.outcome, Router::Outcome::kMatched);  // a value the service validates
  EXPECT_THAT(dots.values, ElementsAre(".."));
  EXPECT_EQ(router_.Match("GET", "v1/listings").outcome, Router::Outcome::kNotFound);
  // Literals compare with the raw segment.
  EXPECT_EQ(router_.Match("GET", "/v1/%6Cistings").outcome, Router::Outcome::kNotFound);
}

TEST_F(RouterTest, PercentDecodingOfVariables) {
  Add("GET", "/v1/items/{id}", 1);
  Add("GET", "/v1/{name=shelves/*/books/*}", 2);
  Add("GET", "/v1/files/{path=**}", 3);
  auto single = router_.Match("GET", "/v1/items/a%2Fb%20c");
  ASSERT_EQ(single.outcome, Router::Outcome::kMatched);
  EXPECT_THAT(single.values, ElementsAre("a/b c"));
  auto multi = router_.Match("GET", "/v1/shelves/s%2F1/books/b%2f%41");
  ASSERT_EQ(multi.outcome, Router::Outcome::kMatched);
  EXPECT_THAT(multi.values, ElementsAre("shelves/s%2F1/books/b%2fA"));
  auto rest = router_.Match("GET", "/v1/files/a/b%2Fc/d");
  ASSERT_EQ(rest.outcome, Router::Outcome::kMatched);
  EXPECT_THAT(rest.values, ElementsAre("a/b%2Fc/d"));
  auto bad = router_.Match("GET", "/v1/items/a%zz");
  EXPECT_EQ(bad.outcome, Router::Outcome::kBadPath);
  EXPECT_THAT(bad.error, HasSubstr("id"));
}

TEST_F(RouterTest, DoubleWildcardMatchesZeroOrMore) {
  Add("GET", "/v1/files/{path=**}", 3);
  Add("GET", "/v2/**:list", 4);
  auto zero = router_.Match("GET", "/v1/files");
  ASSERT_EQ(zero.outcome, Router::Outcome::kMatched);
  EXPECT_THAT(zero.values, ElementsAre(""));
  EXPECT_EQ(router_.Match("GET", "/v2/a/b/c:list").id, 4);
  EXPECT_EQ(router_.Match("GET", "/v2/a/b/c").outcome, Router::Outcome::kNotFound);
}

TEST_F(RouterTest, PrecedenceMoreLiteralsThenSingleOverDouble) {
  Add("GET", "/v1/*/*", 1);
  Add("GET", "/v1/shelves/*", 2);
  Add("GET", "/v1/**", 3);
  Add("GET", "/v1/shelves/special", 4);
  EXPECT_EQ(router_.Match("GET", "/v1/shelves/special").id, 4);
  EXPECT_EQ(router_.Match("GET", "/v1/shelves/x").id, 2);
  EXPECT_EQ(router_.Match("GET", "/v1/a/b").id, 1);        // * beats ** at one literal
  EXPECT_EQ(router_.Match("GET", "/v1/a/b/c").id, 3);
  EXPECT_EQ(router_.Match("GET", "/v1").id, 3);
  // A verb counts as a literal.
  Add("GET", "/v1/things/{id}:count", 5);
  EXPECT_EQ(router_.Match("GET", "/v1/things/x:count").id, 5);
}

TEST_F(RouterTest, ConflictsNameBothRoutes) {
  Add("GET", "/v1/listings/{listing_id}", 1);
  absl::Status s = router_.Add("GET", T("/v1/listings/{other}"), "Other.Method", 2);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("/v1/listings/{listing_id}"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("Other.Method"));
  // Another method, another verb, or more literals: no conflict.
  EXPECT_TRUE(router_.Add("POST", T("/v1/listings/{x}"), "P", 3).ok());
  EXPECT_TRUE(router_.Add("GET", T("/v1/listings/{x}:v"), "V", 4).ok());
  EXPECT_TRUE(router_.Add("GET", T("/v1/listings/fixed"), "F", 5).ok());
  // Same precedence, overlapping through different literals: /v1/a/* and /v1/*/b.
  EXPECT_TRUE(router_.Add("GET", T("/v2/a/*"), "A", 6).ok());
  EXPECT_FALSE(router_.Add("GET", T("/v2/*/b"), "B", 7).ok());
  // Same precedence, disjoint.
  EXPECT_TRUE(router_.Add("GET", T("/v3/a/*"), "C", 8).ok());
  EXPECT_TRUE(router_.Add("GET", T("/v3/b/*"), "D", 9).ok());
  // "**" overlaps a longer path with the same literal count.
  EXPECT_TRUE(router_.Add("GET", T("/v4/**"), "E", 10).ok());
  EXPECT_TRUE(router_.Add("GET", T("/v4/x/**"), "G", 11).ok());     // more literals
  EXPECT_FALSE(router_.Add("GET", T("/v4/{a=**}"), "H", 12).ok());  // the same as /v4/**
}

TEST(TemplatesOverlapTest, Cases) {
  EXPECT_TRUE(TemplatesOverlap(T("/a/*"), T("/a/b")));
  EXPECT_FALSE(TemplatesOverlap(T("/a/*"), T("/a/b/c")));
  EXPECT_TRUE(TemplatesOverlap(T("/a/**"), T("/a/b/c")));
  EXPECT_TRUE(TemplatesOverlap(T("/a/**"), T("/a")));
  EXPECT_FALSE(TemplatesOverlap(T("/a/**"), T("/b/**")));
  EXPECT_FALSE(TemplatesOverlap(T("/a/*:x"), T("/a/*:y")));
  EXPECT_TRUE(TemplatesOverlap(T("/*/b/**"), T("/a/*/c")));
}

}  // namespace
}  // namespace marketplace::gateway
