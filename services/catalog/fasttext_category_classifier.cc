#include "services/catalog/fasttext_category_classifier.h"

#include <fasttext/args.h>
#include <fasttext/dictionary.h>
#include <fasttext/fasttext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "services/catalog/live_rules.h"

namespace marketplace::catalog {
namespace {

// fastText's file header (fasttext.cc: FASTTEXT_FILEFORMAT_MAGIC_INT32, FASTTEXT_VERSION).
constexpr int32_t kMagic = 793712314;
constexpr int32_t kVersion = 12;
constexpr absl::string_view kLabelPrefix = "__label__";

absl::Status Invalid(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("category model ", path, ": not a fastText supervised model (", what, ")"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<FastTextCategoryClassifier>> FastTextCategoryClassifier::Load(
    const std::string& path) {
  absl::StatusOr<std::string> content = ReadWholeFile(path);
  if (!content.ok()) {
    return absl::NotFoundError(
        absl::StrCat("category model ", path, ": ", content.status().message()));
  }
  if (content->size() < 2 * sizeof(int32_t)) return Invalid(path, "file too short");
  int32_t magic = 0, version = 0;
  std::memcpy(&magic, content->data(), sizeof magic);
  std::memcpy(&version, content->data() + sizeof magic, sizeof version);
  if (magic != kMagic) return Invalid(path, "wrong magic number");
  if (version != kVersion) return Invalid(path, absl::StrCat("file format version ", version));

  auto model = std::make_unique<fasttext::FastText>();
  try {
    std::istringstream in(content->substr(2 * sizeof(int32_t)));
    model->loadModel(in);
    if (in.fail()) return Invalid(path, "truncated");
    if (in.peek() != std::char_traits<char>::eof()) return Invalid(path, "trailing bytes");
  } catch (const std::exception& e) {
    return Invalid(path, e.what());
  }
  if (model->getArgs().model != fasttext::model_name::sup) {
    return Invalid(path, "not a supervised model");
  }
  std::shared_ptr<const fasttext::Dictionary> dict = model->getDictionary();
  if (dict->nlabels() <= 0) return Invalid(path, "no labels");
  std::vector<std::string> families;
  for (int32_t i = 0; i < dict->nlabels(); ++i) {
    std::string label = dict->getLabel(i);
    if (!absl::StartsWith(label, kLabelPrefix) || label.size() == kLabelPrefix.size()) {
      return Invalid(path, absl::StrCat("label \"", label, "\""));
    }
    families.push_back(label.substr(kLabelPrefix.size()));
  }
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string version_text =
      absl::StrCat(name, "@", common::Sha256Hex(*content).substr(0, 12));
  return std::unique_ptr<FastTextCategoryClassifier>(new FastTextCategoryClassifier(
      std::move(model), std::move(families), std::move(version_text)));
}

FastTextCategoryClassifier::FastTextCategoryClassifier(std::unique_ptr<fasttext::FastText> model,
                                                       std::vector<std::string> families,
                                                       std::string version)
    : model_(std::move(model)), families_(std::move(families)), version_(std::move(version)) {}

FastTextCategoryClassifier::~FastTextCategoryClassifier() = default;

std::vector<FamilyPrediction> FastTextCategoryClassifier::Predict(absl::string_view text,
                                                                  int k) const {
  std::vector<FamilyPrediction> out;
  if (k <= 0 || text.empty()) return out;
  // Per-call buffers: FastText::predict keeps its own state per call and only reads the model.
  // One line, ended as the training lines were (fastText reads "\n" as the word "</s>").
  std::istringstream in{absl::StrCat(text, "\n")};
  std::vector<int32_t> words, labels;
  model_->getDictionary()->getLine(in, words, labels);
  if (words.empty()) return out;
  fasttext::Predictions predictions;  // (log probability, label id), best first
  model_->predict(k, words, predictions);
  out.reserve(predictions.size());
  for (const auto& [log_probability, label] : predictions) {
    if (label < 0 || static_cast<size_t>(label) >= families_.size()) continue;
    // fastText's log adds 1e-5 before taking the logarithm: a sure label reads 1.00001.
    const double probability = std::exp(static_cast<double>(log_probability));
    out.push_back({families_[label], std::clamp(probability, 0.0, 1.0)});
  }
  return out;
}

LiveRules::ModelLoader FastTextModelLoader(std::string path) {
  return [path = std::move(path)]() -> absl::StatusOr<std::shared_ptr<const CategoryClassifier>> {
    auto model = FastTextCategoryClassifier::Load(path);
    if (!model.ok()) return model.status();
    return std::shared_ptr<const CategoryClassifier>(*std::move(model));
  };
}

}  // namespace marketplace::catalog
