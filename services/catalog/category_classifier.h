// What the moderation rules ask of a learned category check: given a listing's title and
// description, the most likely category families with their probabilities.
//
// A family is a label of the model (services/catalog/data/category_families.json maps each one
// to the catalog categories it covers, and names the restricted families: adult, weapons,
// drugs). The implementation over a fastText model lives in fasttext_category_classifier.*;
// the rules depend only on this interface.
#ifndef SERVICES_CATALOG_CATEGORY_CLASSIFIER_H_
#define SERVICES_CATALOG_CATEGORY_CLASSIFIER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace marketplace::catalog {

struct FamilyPrediction {
  std::string family;        // a label of the model, e.g. "electronics", "weapons"
  double probability = 0.0;  // in [0, 1]
};

class CategoryClassifier {
 public:
  virtual ~CategoryClassifier() = default;

  // The `k` most likely families for the text, most likely first. `text` is the listing's
  // title and description joined by a space, already folded by FoldText (lower case ASCII
  // words). Thread-safe; never fails (an empty text gives an empty answer).
  virtual std::vector<FamilyPrediction> Predict(absl::string_view text, int k) const = 0;

  // The model's version (file name and content digest), for explanations and metrics.
  virtual std::string Version() const = 0;
};

}  // namespace marketplace::catalog

#endif  // SERVICES_CATALOG_CATEGORY_CLASSIFIER_H_
