#include "services/sellerkpi/thresholds_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "services/sellerkpi/kpi_math.h"

namespace marketplace::sellerkpi {

absl::StatusOr<v1::Thresholds> LoadThresholdsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  v1::Thresholds thresholds;
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), &thresholds)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a text-format marketplace.sellerkpi.v1.Thresholds"));
  }
  if (absl::Status valid = ValidateThresholds(thresholds); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", valid.message()));
  }
  return thresholds;
}

}  // namespace marketplace::sellerkpi
