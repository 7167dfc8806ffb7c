#ifndef MARKETPLACE_SERVICES_SELLERKPI_THRESHOLDS_FILE_H_
#define MARKETPLACE_SERVICES_SELLERKPI_THRESHOLDS_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"

namespace marketplace::sellerkpi {

// Reads the seed thresholds (text format of Thresholds, data/thresholds.textproto) and checks
// them like UpdateThresholds does: INVALID_ARGUMENT naming the file and the problem.
absl::StatusOr<v1::Thresholds> LoadThresholdsFile(const std::string& path);

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_THRESHOLDS_FILE_H_
