// Runs the rule engine over the labelled moderation corpus and reports, for each part, per
// reason code: how many listings are labelled with it, how many the rules flagged with it,
// precision (of the flagged, how many the label has) and recall (of the labelled, how many were
// flagged); and the decision confusion matrix (labelled PASS / REVIEW / REJECT against what
// the rules decided).
//
// Two parts (services/catalog/README.md, "Moderation corpus"):
//   tuning  data/moderation_corpus.jsonl, written beside the rules and used to tune them;
//   blind   data/moderation_blind.jsonl, written by someone else from the policy alone and
//           never read while writing rules; when the file is absent the test prints
//           "blind part: absent".
// Floors, asserted on each part present: precision and recall >= kFloor for every reason code
// with at least kMinExamples labelled listings; verdict agreement >= kFloor.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/catalog/live_rules.h"
#include "services/catalog/moderation.h"

namespace marketplace::catalog {
namespace {

constexpr double kFloor = 0.9;
constexpr int kMinExamples = 10;
constexpr size_t kMinTuning = 320;
constexpr char kTuning[] = "services/catalog/data/moderation_corpus.jsonl";
constexpr char kBlind[] = "services/catalog/data/moderation_blind.jsonl";

struct Counts {
  int true_positive = 0, false_positive = 0, false_negative = 0;
};

absl::StatusOr<Verdict> VerdictOf(const std::string& name) {
  if (name == "PASS") return Verdict::kPass;
  if (name == "REVIEW") return Verdict::kReview;
  if (name == "REJECT") return Verdict::kReject;
  return absl::InvalidArgumentError(name);
}

SellerListingState StateOf(const std::string& name) {
  if (name == "LIVE") return SellerListingState::kLive;
  if (name == "PENDING_REVIEW") return SellerListingState::kPendingReview;
  return SellerListingState::kOther;
}

// Evaluates every listing of `path` and checks the floors. Returns the number of listings.
size_t RunPart(const char* part, const char* path, const RuleSet& rules) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path << " missing";
  std::map<std::string, Counts> by_reason;
  std::set<std::string> ids;
  size_t total = 0, verdict_agrees = 0;
  int confusion[3][3] = {};
  std::string line;
  std::printf("\n=== %s part (%s) ===\n", part, path);
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    nlohmann::json item = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(item.is_discarded()) << path << " line " << line_no << " is not JSON";
    if (item.is_discarded()) continue;
    const std::string id = item.at("id").get<std::string>();
    EXPECT_TRUE(ids.insert(id).second) << "duplicate id " << id;

    ListingContent listing;
    listing.title = item.value("title", "");
    listing.description = item.value("description", "");
    listing.category_id = item.value("category_id", "");
    listing.brand = item.value("brand", "");
    if (item.contains("price")) {
      auto price = common::Money::Of(item["price"].at("currency_code").get<std::string>(),
                                     item["price"].at("amount_minor").get<int64_t>());
      EXPECT_TRUE(price.ok()) << id;
      if (price.ok()) listing.price = *price;
    }
    for (int i = 0; i < item.value("images", 1); ++i) {
      listing.image_urls.push_back("https://img.example/" + id + "/" + std::to_string(i));
    }
    if (item.contains("attributes")) {
      for (auto it = item["attributes"].begin(); it != item["attributes"].end(); ++it) {
        listing.attributes[it.key()] = it.value().get<std::string>();
      }
    }
    SellerContext seller;
    seller.decided_listings = 100;
    if (item.contains("seller")) {
      const auto& s = item["seller"];
      seller.decided_listings = s.value("decided_listings", 100);
      const std::string level = s.value("level", "STANDARD");
      seller.level = level == "AT_RISK"   ? SellerModerationLevel::kAtRisk
                     : level == "TRUSTED" ? SellerModerationLevel::kTrusted
                                          : SellerModerationLevel::kStandard;
      for (const auto& b : s.value("authorized_brands", nlohmann::json::array())) {
        seller.authorized_brands.insert(FoldText(b.get<std::string>()));
      }
      for (const auto& o : s.value("other_live_listings", nlohmann::json::array())) {
        seller.other_listings.push_back({o.value("listing_id", "other"), o.value("title", ""),
                                         o.value("description", ""),
                                         StateOf(o.value("state", "LIVE"))});
      }
    }

    auto expected_verdict = VerdictOf(item.at("expected_verdict").get<std::string>());
    EXPECT_TRUE(expected_verdict.ok()) << id;
    if (!expected_verdict.ok()) continue;
    std::set<std::string> expected;
    for (const auto& r : item.value("expected_reasons", nlohmann::json::array())) {
      expected.insert(r.get<std::string>());
    }
    Evaluation e = Evaluate(rules, listing, seller);
    // The duplicate rule's margin: the highest similarity with a LIVE / PENDING_REVIEW listing.
    double best = -1;
    for (const SellerListing& o : seller.other_listings) {
      if (o.state == SellerListingState::kOther) continue;
      best = std::max(best, TextSimilarity(listing.title + "\n" + listing.description,
                                           o.title + "\n" + o.description));
    }
    if (best >= 0) {
      std::printf("similar  %-6s %.2f %s\n", id.c_str(), best,
                  expected.count("DUPLICATE_LISTING") ? "labelled duplicate" : "labelled distinct");
    }
    std::set<std::string> found;
    for (const Finding& f : e.findings) found.insert(f.reason_code);
    ++total;
    ++confusion[static_cast<int>(*expected_verdict)][static_cast<int>(e.verdict)];
    if (e.verdict == *expected_verdict) {
      ++verdict_agrees;
    } else {
      std::string got;
      for (const std::string& r : found) got += " " + r;
      std::printf("verdict  %-6s expected %-6s got %-6s  %s  [%s ]\n", id.c_str(),
                  std::string(VerdictName(*expected_verdict)).c_str(),
                  std::string(VerdictName(e.verdict)).c_str(), listing.title.c_str(),
                  got.c_str());
    }
    for (const std::string& r : expected) {
      if (found.count(r)) {
        ++by_reason[r].true_positive;
      } else {
        ++by_reason[r].false_negative;
        std::printf("missed   %-6s %-28s %s\n", id.c_str(), r.c_str(), listing.title.c_str());
      }
    }
    for (const std::string& r : found) {
      if (!expected.count(r)) {
        ++by_reason[r].false_positive;
        std::printf("extra    %-6s %-28s %s\n", id.c_str(), r.c_str(), listing.title.c_str());
      }
    }
  }
  if (total == 0) return 0;

  std::printf("\n%s part: %zu listings\n%-30s %8s %8s %9s %7s\n", part, total, "reason",
              "labelled", "flagged", "precision", "recall");
  for (const auto& [reason, c] : by_reason) {
    const int labelled = c.true_positive + c.false_negative;
    const int flagged = c.true_positive + c.false_positive;
    const double precision = flagged == 0 ? 1.0 : double(c.true_positive) / flagged;
    const double recall = labelled == 0 ? 1.0 : double(c.true_positive) / labelled;
    std::printf("%-30s %8d %8d %9.3f %7.3f\n", reason.c_str(), labelled, flagged, precision,
                recall);
    if (labelled >= kMinExamples) {
      EXPECT_GE(precision, kFloor) << part << " " << reason;
      EXPECT_GE(recall, kFloor) << part << " " << reason;
    }
  }
  std::printf("\ndecisions (rows: labelled, columns: decided)\n%-8s %7s %7s %7s\n", "", "PASS",
              "REVIEW", "REJECT");
  for (int row = 0; row < 3; ++row) {
    std::printf("%-8s %7d %7d %7d\n", std::string(VerdictName(static_cast<Verdict>(row))).c_str(),
                confusion[row][0], confusion[row][1], confusion[row][2]);
  }
  const double agreement = double(verdict_agrees) / double(total);
  std::printf("verdict agreement: %zu / %zu = %.3f\n", verdict_agrees, total, agreement);
  EXPECT_GE(agreement, kFloor) << part;
  return total;
}

TEST(ModerationCorpusTest, TuningAndBlindPartsAreAboveTheFloors) {
  auto live = LiveRules::Load("services/catalog/data/categories.json",
                              "services/catalog/data/moderation_rules.json");
  ASSERT_TRUE(live.ok()) << live.status();
  std::shared_ptr<const RuleSet> rules = (*live)->Current();

  EXPECT_GE(RunPart("tuning", kTuning, *rules), kMinTuning);
  if (std::ifstream(kBlind)) {
    RunPart("blind", kBlind, *rules);
  } else {
    std::printf("\nblind part: absent\n");
  }
}

}  // namespace
}  // namespace marketplace::catalog
