#include "services/catalog/rules_reloader.h"

#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <string>

#include "absl/strings/str_replace.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketplace::catalog {
namespace {

std::string Read(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.value_or("");
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

class RulesReloaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = tmp != nullptr ? tmp : "/tmp";
    categories_ = dir_ + "/categories.json";
    rules_file_ = dir_ + "/moderation_rules.json";
    rules_text_ = Read("services/catalog/data/moderation_rules.json");
    Write(categories_, Read("services/catalog/data/categories.json"));
    Write(rules_file_, rules_text_);
    auto live = LiveRules::Load(categories_, rules_file_);
    ASSERT_TRUE(live.ok()) << live.status();
    rules_ = *std::move(live);
  }

  void WriteRulesVersion(const std::string& version) {
    // The rules file's own "version" (the first one in the file), whatever it is today.
    Write(rules_file_, std::regex_replace(rules_text_, std::regex(R"("version"\s*:\s*"[^"]*")"),
                                          "\"version\": \"" + version + "\"",
                                          std::regex_constants::format_first_only));
  }

  std::string dir_, categories_, rules_file_, rules_text_;
  std::unique_ptr<LiveRules> rules_;
};

TEST_F(RulesReloaderTest, ARequestReloadsAtTheNextCheck) {
  RulesReloader reloader(rules_.get(), categories_, rules_file_, absl::Hours(1));
  WriteRulesVersion("2099-01-01.1");
  reloader.Check();  // the interval has not passed and nobody asked
  EXPECT_THAT(rules_->Current()->version(), ::testing::Not(::testing::HasSubstr("2099")));
  RulesReloader::RequestReload();
  reloader.Check();
  EXPECT_THAT(rules_->Current()->version(), ::testing::HasSubstr("2099-01-01.1"));
}

TEST_F(RulesReloaderTest, ABadFileKeepsTheRulesInForce) {
  RulesReloader reloader(rules_.get(), categories_, rules_file_, absl::Hours(1));
  const std::string before = rules_->Current()->version();
  Write(rules_file_, "{ not json");
  RulesReloader::RequestReload();
  reloader.Check();
  EXPECT_EQ(rules_->Current()->version(), before);
}

TEST_F(RulesReloaderTest, AChangedFileIsReloadedOnceTheIntervalPassed) {
  RulesReloader reloader(rules_.get(), categories_, rules_file_, absl::ZeroDuration());
  WriteRulesVersion("2099-02-02.1");
  reloader.Check();
  EXPECT_THAT(rules_->Current()->version(), ::testing::HasSubstr("2099-02-02.1"));
}

}  // namespace
}  // namespace marketplace::catalog
