#ifndef MARKETPLACE_SERVICES_SELLERKPI_CONFIG_H_
#define MARKETPLACE_SERVICES_SELLERKPI_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/identity_client/identity_connection.h"

namespace marketplace::sellerkpi {

// sellerkpi_server's own settings (README "Flags"), read once at start-up.
struct SellerKpiConfig {
  std::string thresholds_file;
  absl::Duration evaluation_interval;
  int64_t evaluation_batch = 500;
  // Enforcement (README "Enforcement"): the worker's pace and the services its steps call.
  absl::Duration enforcement_interval;
  int64_t enforcement_batch = 20;
  std::string catalog_address;
  std::string payments_address;
  absl::Duration call_timeout;
  common::identity_client::IdentityClientConfig identity;

  // What the flags' bounds cannot say.
  [[nodiscard]] absl::Status Validate() const;
};

// Declares every flag with its default, bounds and environment variable.
void AddFlags(common::Flags& flags, SellerKpiConfig* config);

}  // namespace marketplace::sellerkpi

#endif  // MARKETPLACE_SERVICES_SELLERKPI_CONFIG_H_
