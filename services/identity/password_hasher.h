#ifndef MARKETPLACE_SERVICES_IDENTITY_PASSWORD_HASHER_H_
#define MARKETPLACE_SERVICES_IDENTITY_PASSWORD_HASHER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/executor.h"

namespace marketplace::identity {

// Argon2id cost. The parameters are written into every encoded hash
// ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash"), so raising them later only affects new hashes
// and old ones are upgraded at the next successful login.
struct Argon2idParams {
  uint64_t iterations = 2;
  size_t memory_bytes = size_t{19} * 1024 * 1024;
};

// OWASP's minimum for Argon2id (19 MiB, 2 iterations, parallelism 1). Production refuses less.
inline constexpr Argon2idParams kMinimumArgon2idParams{2, size_t{19} * 1024 * 1024};

// INVALID_ARGUMENT when `params` are below kMinimumArgon2idParams or beyond libsodium's limits.
[[nodiscard]] absl::Status ValidateArgon2idParams(const Argon2idParams& params);

// Hashes and verifies passwords with Argon2id (libsodium, parallelism 1). Each hash costs tens
// of milliseconds of one core and `memory_bytes` of memory by design, so the work runs on a
// small dedicated pool: a burst of logins then queues there (and is refused with
// RESOURCE_EXHAUSTED beyond the queue) instead of occupying every worker of the server.
class PasswordHasher {
 public:
  // `pool` runs the hashing and must outlive the hasher; nullptr runs it on the calling
  // thread (tests). Params are not checked here; see ValidateArgon2idParams.
  PasswordHasher(Argon2idParams params, common::BoundedExecutor* pool);

  // An encoded Argon2id hash with a fresh random salt.
  [[nodiscard]] absl::StatusOr<std::string> Hash(absl::string_view password) const;

  // Whether `password` matches `encoded`. INTERNAL when `encoded` is not an Argon2id hash.
  [[nodiscard]] absl::StatusOr<bool> Verify(absl::string_view encoded,
                                            absl::string_view password) const;

  // Spends the time of one Verify against a hash with the current parameters, for logins with
  // an unknown email: the answer must not come faster than for a wrong password.
  [[nodiscard]] absl::Status VerifyDummy(absl::string_view password) const;

  // True when `encoded` was made with other parameters than the current ones.
  bool NeedsRehash(absl::string_view encoded) const;

  const Argon2idParams& params() const { return params_; }

 private:
  // Runs `work` on the pool and waits for it. RESOURCE_EXHAUSTED when the pool is full.
  absl::Status RunOnPool(const std::function<void()>& work) const;

  Argon2idParams params_;
  common::BoundedExecutor* pool_;
  std::string dummy_hash_;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_PASSWORD_HASHER_H_
