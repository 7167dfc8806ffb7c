#include "services/catalog/live_rules.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"

namespace marketplace::catalog {
namespace {

absl::StatusOr<std::shared_ptr<const RuleSet>> ReadRules(const std::string& categories_path,
                                                         const std::string& rules_path,
                                                         const LiveRules::ModelLoader& loader) {
  auto categories = ReadWholeFile(categories_path);
  if (!categories.ok()) return categories.status();
  auto rules = ReadWholeFile(rules_path);
  if (!rules.ok()) return rules.status();
  std::shared_ptr<const CategoryClassifier> model;
  if (loader) {
    auto loaded = loader();
    if (!loaded.ok()) return loaded.status();
    model = *std::move(loaded);
  }
  return RuleSet::Parse(*categories, *rules, std::move(model));
}

}  // namespace

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  return content.str();
}

absl::StatusOr<std::unique_ptr<LiveRules>> LiveRules::Load(std::string categories_path,
                                                           std::string rules_path,
                                                           ModelLoader model_loader) {
  auto rules = ReadRules(categories_path, rules_path, model_loader);
  if (!rules.ok()) return rules.status();
  return std::unique_ptr<LiveRules>(new LiveRules(std::move(categories_path),
                                                  std::move(rules_path), std::move(model_loader),
                                                  *std::move(rules)));
}

LiveRules::LiveRules(std::string categories_path, std::string rules_path,
                     ModelLoader model_loader, std::shared_ptr<const RuleSet> rules)
    : categories_path_(std::move(categories_path)),
      rules_path_(std::move(rules_path)),
      model_loader_(std::move(model_loader)),
      rules_(std::move(rules)) {}

std::shared_ptr<const RuleSet> LiveRules::Current() const {
  absl::MutexLock lock(&mu_);
  return rules_;
}

absl::Status LiveRules::Reload() {
  auto rules = ReadRules(categories_path_, rules_path_, model_loader_);
  if (!rules.ok()) return rules.status();
  absl::MutexLock lock(&mu_);
  rules_ = *std::move(rules);
  return absl::OkStatus();
}

}  // namespace marketplace::catalog
