// CategoryClassifier over a fastText supervised model (Debian's libfasttext, linked from C++):
// services/catalog/data/category_model.ftz, trained by scripts/train_category_model.sh
// (README "Category model").
#ifndef SERVICES_CATALOG_FASTTEXT_CATEGORY_CLASSIFIER_H_
#define SERVICES_CATALOG_FASTTEXT_CATEGORY_CLASSIFIER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/catalog/category_classifier.h"
#include "services/catalog/live_rules.h"

namespace fasttext {
class FastText;
}  // namespace fasttext

namespace marketplace::catalog {

class FastTextCategoryClassifier final : public CategoryClassifier {
 public:
  // Reads the model file. NOT_FOUND naming the file when it cannot be opened; INVALID_ARGUMENT
  // naming it when it is not a fastText supervised model (wrong magic or version, truncated,
  // no labels, a label that is not "__label__<family>").
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<FastTextCategoryClassifier>> Load(
      const std::string& path);

  ~FastTextCategoryClassifier() override;

  // Families of the `k` best labels (k <= 0: none; k above the label count: every label),
  // probabilities from the model's softmax. Thread-safe: every call has its own buffers and
  // the model is only read. Every word of the text counts: the cost grows with its length.
  std::vector<FamilyPrediction> Predict(absl::string_view text, int k) const override;

  // "<file name>@<first 12 hex digits of the file's SHA-256>", e.g.
  // "category_model.ftz@c2de8d48e2d4".
  std::string Version() const override { return version_; }

  // The model's families (its labels without "__label__"), in the model's order.
  const std::vector<std::string>& Families() const { return families_; }

 private:
  FastTextCategoryClassifier(std::unique_ptr<fasttext::FastText> model,
                             std::vector<std::string> families, std::string version);

  std::unique_ptr<fasttext::FastText> model_;
  std::vector<std::string> families_;  // by label id
  std::string version_;
};

// The model loader LiveRules calls at every load and reload of the rules: reads `path` with
// FastTextCategoryClassifier::Load (its errors as they are).
LiveRules::ModelLoader FastTextModelLoader(std::string path);

}  // namespace marketplace::catalog

#endif  // SERVICES_CATALOG_FASTTEXT_CATEGORY_CLASSIFIER_H_
