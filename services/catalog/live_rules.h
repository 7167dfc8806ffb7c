#ifndef MARKETPLACE_SERVICES_CATALOG_LIVE_RULES_H_
#define MARKETPLACE_SERVICES_CATALOG_LIVE_RULES_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/catalog/rule_set.h"

namespace marketplace::catalog {

// The moderation rules in force, read from the two data files and replaceable while the
// service runs: a reload that fails (unreadable file, bad JSON, a broken rule) changes nothing
// and returns the error; the previous rules stay in force. Thread-safe.
class LiveRules {
 public:
  // Loads the category model the rules consult (README "Category model"); called at every
  // load and reload, so the model is read again with the rules.
  using ModelLoader =
      std::function<absl::StatusOr<std::shared_ptr<const CategoryClassifier>>()>;

  // Reads both files once (and the model, when `model_loader` is set; without it the rules
  // run alone). INVALID_ARGUMENT / NOT_FOUND naming the file and the problem.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LiveRules>> Load(
      std::string categories_path, std::string rules_path, ModelLoader model_loader = nullptr);

  // The rules in force; a caller keeps the snapshot for a whole evaluation.
  std::shared_ptr<const RuleSet> Current() const ABSL_LOCKS_EXCLUDED(mu_);

  // Reads the files again and swaps the rules in when they are valid.
  [[nodiscard]] absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  LiveRules(std::string categories_path, std::string rules_path, ModelLoader model_loader,
            std::shared_ptr<const RuleSet> rules);

  const std::string categories_path_;
  const std::string rules_path_;
  const ModelLoader model_loader_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const RuleSet> rules_ ABSL_GUARDED_BY(mu_);
};

// The whole content of a file; NOT_FOUND / UNAVAILABLE naming it when it cannot be read.
[[nodiscard]] absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_LIVE_RULES_H_
