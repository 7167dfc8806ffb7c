#include "common/db/db_options.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace marketplace::common::db {

std::string Endpoint(const DbOptions& options) {
  return absl::StrCat(options.host, ":", options.port);
}

absl::Status ValidateDbOptions(const DbOptions& options) {
  if (options.host.empty()) return absl::InvalidArgumentError("db host: must not be empty");
  if (options.port < 1 || options.port > 65535) {
    return absl::InvalidArgumentError("db port: must be in 1..65535");
  }
  if (options.user.empty()) return absl::InvalidArgumentError("db user: must not be empty");
  if (options.database.size() > 64) {
    return absl::InvalidArgumentError("db database: at most 64 characters");
  }
  if (options.pool_size < 1) return absl::InvalidArgumentError("db pool_size: must be >= 1");
  const struct {
    const char* name;
    absl::Duration value;
  } durations[] = {
      {"connect_timeout", options.connect_timeout},
      {"acquire_timeout", options.acquire_timeout},
      {"read_timeout", options.read_timeout},
      {"write_timeout", options.write_timeout},
      {"lock_wait_timeout", options.lock_wait_timeout},
  };
  for (const auto& d : durations) {
    if (d.value <= absl::ZeroDuration() || d.value == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("db ", d.name, ": must be positive and finite"));
    }
  }
  if (options.validate_idle_after < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("db validate_idle_after: must be >= 0");
  }
  return absl::OkStatus();
}

}  // namespace marketplace::common::db
