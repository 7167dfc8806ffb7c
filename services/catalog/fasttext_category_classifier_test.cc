#include "services/catalog/fasttext_category_classifier.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/catalog/text.h"

namespace marketplace::catalog {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kModel[] = "services/catalog/data/category_model.ftz";
constexpr char kFamilies[] = "services/catalog/data/category_families.json";
constexpr char kCategories[] = "services/catalog/data/categories.json";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

void Write(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

class CommittedModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = FastTextCategoryClassifier::Load(kModel);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    model_ = loaded->release();
  }
  static void TearDownTestSuite() { delete model_; }

  // The best family for a raw title (folded as the service folds it).
  static std::string Best(const std::string& raw) {
    auto predictions = model_->Predict(FoldText(raw), 1);
    return predictions.empty() ? "" : predictions[0].family;
  }

  static FastTextCategoryClassifier* model_;
};
FastTextCategoryClassifier* CommittedModelTest::model_ = nullptr;

TEST_F(CommittedModelTest, HasTheFamiliesOfTheFamiliesFile) {
  nlohmann::json families = nlohmann::json::parse(Slurp(kFamilies));
  std::set<std::string> in_file;
  for (const auto& [family, categories] : families["families"].items()) in_file.insert(family);
  std::set<std::string> in_model(model_->Families().begin(), model_->Families().end());
  EXPECT_EQ(in_model, in_file);
  EXPECT_EQ(in_model.size(), 15u);
  for (const auto& restricted : families["restricted_families"]) {
    EXPECT_TRUE(in_file.count(restricted.get<std::string>())) << restricted;
  }
}

TEST(CategoryFamiliesFileTest, EveryCatalogCategoryHasExactlyOneFamily) {
  nlohmann::json families = nlohmann::json::parse(Slurp(kFamilies));
  nlohmann::json categories = nlohmann::json::parse(Slurp(kCategories));
  std::multiset<std::string> covered;
  for (const auto& [family, ids] : families["families"].items()) {
    for (const auto& id : ids) covered.insert(id.get<std::string>());
  }
  for (const auto& category : categories["categories"]) {
    const std::string id = category["id"].get<std::string>();
    EXPECT_EQ(covered.count(id), 1u) << id;
  }
  EXPECT_EQ(covered.size(), categories["categories"].size());
  EXPECT_TRUE(families["families"]["weapons"].empty());
  EXPECT_TRUE(families["families"]["drugs"].empty());
  EXPECT_EQ(families["restricted_families"],
            nlohmann::json::array({"adult", "weapons", "drugs"}));
}

TEST_F(CommittedModelTest, VersionIsFileNameAndDigest) {
  EXPECT_THAT(model_->Version(), MatchesRegex("category_model\\.ftz@[0-9a-f]{12}"));
}

struct Case {
  const char* text;
  const char* family;
};

TEST_F(CommittedModelTest, ObviousFamiliesInEveryLanguage) {
  const Case cases[] = {
      // fr
      {"Carabine de chasse 30-06", "weapons"},
      {"iPhone 13 128 Go", "electronics"},
      {"Poussette double", "baby"},
      {"Vibromasseur", "adult"},
      {"Beuh de qualité 10 g livraison discrète", "drugs"},
      {"Sac Louis Vuitton Neverfull avec dustbag", "luxury"},
      {"Croquettes pour chien 15 kg", "pets"},
      {"Pneus hiver Michelin 205/55 R16", "automotive"},
      // en
      {"Hunting rifle with scope", "weapons"},
      {"Intimate massager rechargeable", "adult"},
      {"Double stroller foldable", "baby"},
      {"Samsung Galaxy S22 unlocked", "electronics"},
      {"Harry Potter box set hardcover", "books"},
      // de
      {"Jagdgewehr Kaliber 12", "weapons"},
      {"Kinderwagen Zwillinge Buggy", "baby"},
      {"Gras 10 g diskreter Versand", "drugs"},
      {"Rennrad Carbon Shimano", "sports"},
      // es
      {"Rifle de caza con visor", "weapons"},
      {"Vibrador recargable", "adult"},
      {"Sofá rinconera de terciopelo", "home"},
      {"Oso de peluche 30 cm", "toys"},
      // it
      {"Fucile da caccia calibro 12", "weapons"},
      {"Vibratore ricaricabile", "adult"},
      {"Passeggino gemellare pieghevole", "baby"},
      {"Crocchette per cani 15 kg", "pets"},
      {"Moneta commemorativa da 2 euro rara", "collectibles"},
  };
  for (const Case& c : cases) EXPECT_EQ(Best(c.text), c.family) << c.text;
}

TEST_F(CommittedModelTest, ProbabilitiesAreOrderedAndSumToAtMostOne) {
  auto all = model_->Predict(FoldText("Réplique airsoft AK47 1 joule"), 100);
  ASSERT_EQ(all.size(), 15u);  // k above the label count: every label
  double sum = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_GE(all[i].probability, 0.0);
    EXPECT_LE(all[i].probability, 1.0);
    if (i > 0) {
      EXPECT_LE(all[i].probability, all[i - 1].probability);
    }
    sum += all[i].probability;
  }
  EXPECT_NEAR(sum, 1.0, 0.02);
  EXPECT_EQ(all[0].family, "weapons");
  EXPECT_GT(all[0].probability, 0.5);

  auto top3 = model_->Predict(FoldText("Réplique airsoft AK47 1 joule"), 3);
  ASSERT_EQ(top3.size(), 3u);
  EXPECT_EQ(top3[0].family, all[0].family);
}

TEST_F(CommittedModelTest, EmptyTextOrNoRequestGivesNothing) {
  EXPECT_TRUE(model_->Predict("", 3).empty());
  EXPECT_TRUE(model_->Predict("iphone 13", 0).empty());
  EXPECT_TRUE(model_->Predict("iphone 13", -1).empty());
}

TEST_F(CommittedModelTest, ConcurrentPredictionsAgreeWithSequentialOnes) {
  const std::vector<std::string> texts = {
      FoldText("Carabine de chasse 30-06"), FoldText("iPhone 13 128 Go"),
      FoldText("Poussette double"),         FoldText("Vibromasseur"),
      FoldText("Crocchette per cani"),      FoldText("Gras 10 g diskreter Versand"),
  };
  std::vector<std::vector<FamilyPrediction>> expected;
  for (const std::string& t : texts) expected.push_back(model_->Predict(t, 3));

  constexpr int kThreads = 8;
  constexpr int kRounds = 300;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const size_t i = (t + r) % texts.size();
        auto got = model_->Predict(texts[i], 3);
        bool same = got.size() == expected[i].size();
        for (size_t j = 0; same && j < got.size(); ++j) {
          same = got[j].family == expected[i][j].family &&
                 got[j].probability == expected[i][j].probability;
        }
        if (!same) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(FastTextCategoryClassifierLoadTest, MissingFileIsNotFoundNamingIt) {
  auto loaded = FastTextCategoryClassifier::Load(TempPath("no_such_model.ftz"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(loaded.status().message(), HasSubstr("no_such_model.ftz"));
}

TEST(FastTextCategoryClassifierLoadTest, CorruptFilesAreInvalidArgumentNamingThem) {
  const std::string real = Slurp(kModel);
  ASSERT_GT(real.size(), 1000u);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"empty.ftz", ""},
      {"text.ftz", "{\"this is\": \"not a model\"}\n"},
      {"header_only.ftz", real.substr(0, 8)},
      {"truncated.ftz", real.substr(0, real.size() / 2)},
      {"trailing.ftz", real + "extra"},
  };
  for (const auto& [name, content] : files) {
    const std::string path = TempPath(name);
    Write(path, content);
    auto loaded = FastTextCategoryClassifier::Load(path);
    ASSERT_FALSE(loaded.ok()) << name;
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(loaded.status().message(), HasSubstr(name));
  }
}

TEST(FastTextCategoryClassifierLoadTest, ACopyLoadsWithItsOwnName) {
  const std::string path = TempPath("copy_of_model.ftz");
  Write(path, Slurp(kModel));
  ASSERT_OK_AND_ASSIGN(auto loaded, FastTextCategoryClassifier::Load(path));
  EXPECT_TRUE(absl::StartsWith(loaded->Version(), "copy_of_model.ftz@"));
  EXPECT_EQ(loaded->Families().size(), 15u);
}

}  // namespace
}  // namespace marketplace::catalog

// Our own main, not gtest_main's: Debian's libfasttext.so also exports the fasttext command's
// main, which the dynamic linker could pick over gtest_main's (third_party/BUILD).
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
