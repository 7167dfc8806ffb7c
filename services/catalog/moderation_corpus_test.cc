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
// Floors: on the tuning part, precision and recall >= kFloor for every reason code with at
// least kMinExamples labelled listings, and verdict agreement >= kFloor. On the blind part, the
// targets for listings the project has never seen: recall >= kBlindRecall for every such reason
// and agreement >= kBlindAgreement; the tuning floors are printed for it ("under the floor")
// and asserted by //services/catalog:moderation_blind_floors_test (manual).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "services/catalog/fasttext_category_classifier.h"
#include "services/catalog/live_rules.h"
#include "services/catalog/moderation.h"
#include "services/catalog/moderation_corpus_reader.h"

namespace marketplace::catalog {
namespace {

constexpr double kFloor = 0.9;
constexpr double kBlindRecall = 0.8;
constexpr double kBlindAgreement = 0.85;
constexpr int kMinExamples = 10;

// What a part is held to.
struct Floors {
  double precision = kFloor;
  double recall = kFloor;
  double agreement = kFloor;
};
constexpr size_t kMinTuning = 320;
constexpr char kTuning[] = "services/catalog/data/moderation_corpus.jsonl";
constexpr char kBlind[] = "services/catalog/data/moderation_blind.jsonl";

struct Counts {
  int true_positive = 0, false_positive = 0, false_negative = 0;
};

// Evaluates every listing of `path` and checks the floors. Returns the number of listings.
size_t RunPart(const char* part, const char* path, const RuleSet& rules, const Floors& floors) {
  auto items = ReadModerationCorpus(path);
  EXPECT_TRUE(items.ok()) << items.status();
  if (!items.ok()) return 0;
  std::map<std::string, Counts> by_reason;
  size_t total = 0, verdict_agrees = 0;
  int confusion[3][3] = {};
  std::printf("\n=== %s part (%s) ===\n", part, path);
  for (const CorpusItem& item : *items) {
    const std::string& id = item.id;
    const ListingContent& listing = item.listing;
    const SellerContext& seller = item.seller;
    const Verdict* expected_verdict = &item.expected_verdict;
    const std::set<std::string>& expected = item.expected_reasons;
    Evaluation e = Evaluate(rules, listing, seller, rules.classifier());
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
      if (precision < kFloor || recall < kFloor) {
        std::printf("  ^ under the floor (%.2f)\n", kFloor);
      }
      EXPECT_GE(precision, floors.precision) << part << " " << reason;
      EXPECT_GE(recall, floors.recall) << part << " " << reason;
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
  EXPECT_GE(agreement, floors.agreement) << part;
  return total;
}

TEST(ModerationCorpusTest, TuningAndBlindPartsAreAboveTheFloors) {
  // The rules as the server runs them: with the category model.
  auto live = LiveRules::Load("services/catalog/data/categories.json",
                              "services/catalog/data/moderation_rules.json",
                              FastTextModelLoader("services/catalog/data/category_model.ftz"));
  ASSERT_TRUE(live.ok()) << live.status();
  std::shared_ptr<const RuleSet> rules = (*live)->Current();

  EXPECT_GE(RunPart("tuning", kTuning, *rules, Floors{}), kMinTuning);
  // The blind part is held to the targets for unseen listings (no precision floor);
  // //services/catalog:moderation_blind_floors_test (manual, MODERATION_BLIND_FLOORS=1) holds
  // it to the tuning floors, not all met (services/catalog/README.md, "Moderation corpus").
  const char* blind_floors = std::getenv("MODERATION_BLIND_FLOORS");
  const bool strict = blind_floors != nullptr && std::string(blind_floors) == "1";
  if (std::ifstream(kBlind)) {
    RunPart("blind", kBlind, *rules,
            strict ? Floors{} : Floors{0.0, kBlindRecall, kBlindAgreement});
  } else {
    std::printf("\nblind part: absent\n");
  }
}

}  // namespace
}  // namespace marketplace::catalog

// Debian's libfasttext.so exports the fasttext command's own main(): this test defines its own
// (third_party/BUILD, fasttext).
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
