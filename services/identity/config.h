#ifndef MARKETPLACE_SERVICES_IDENTITY_CONFIG_H_
#define MARKETPLACE_SERVICES_IDENTITY_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/outbox/subscribers.h"
#include "services/identity/password_hasher.h"
#include "services/identity/token_issuer.h"

namespace marketplace::identity {

// identity_server's own flags (README "Flags"); the core flags every service shares are
// common::ServiceConfig.
struct IdentityConfig {
  std::string issuer;
  std::string audiences;  // comma-separated
  absl::Duration access_token_ttl;
  absl::Duration refresh_token_ttl;
  absl::Duration service_token_ttl;
  std::string signing_key_encryption_key;
  std::string bootstrap_admin_email;
  std::string bootstrap_admin_password;
  int64_t argon2id_memory_kib = 19456;
  int64_t argon2id_iterations = 2;
  int64_t password_hash_threads = 2;
  int64_t password_hash_queue = 64;
  absl::Duration cleanup_interval;
  absl::Duration caller_check_cache_ttl;
  absl::Duration min_key_rotation_interval;
  // --event_subscribers (consumers of identity's events), --event_max_refusals.
  common::outbox::RelayConfig events;

  // Declares every flag, pointing at this struct's fields.
  void AddFlags(common::Flags& flags);
  // The rules between flags that one flag's own rule cannot state: INVALID_ARGUMENT naming
  // the flag and the rule.
  [[nodiscard]] absl::Status Validate() const;

  TokenOptions Tokens() const;
  Argon2idParams Argon2id() const;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_CONFIG_H_
