#include "services/identity/password_hasher.h"

#include <sodium.h>

#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/errors.h"

namespace marketplace::identity {
namespace {

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) abort();  // no usable random source: nothing here may continue
}

std::string HashNow(const Argon2idParams& params, absl::string_view password, bool* ok) {
  char out[crypto_pwhash_STRBYTES];
  *ok = crypto_pwhash_str_alg(out, password.data(), password.size(), params.iterations,
                              params.memory_bytes, crypto_pwhash_ALG_ARGON2ID13) == 0;
  return *ok ? std::string(out) : std::string();
}

}  // namespace

absl::Status ValidateArgon2idParams(const Argon2idParams& params) {
  if (params.memory_bytes < kMinimumArgon2idParams.memory_bytes) {
    return common::InvalidField("argon2_memory", "must be at least 19 MiB (OWASP minimum)");
  }
  if (params.memory_bytes > crypto_pwhash_argon2id_MEMLIMIT_MAX ||
      params.memory_bytes > size_t{4} * 1024 * 1024 * 1024) {
    return common::InvalidField("argon2_memory", "must be at most 4 GiB");
  }
  if (params.iterations < kMinimumArgon2idParams.iterations) {
    return common::InvalidField("argon2_iterations", "must be at least 2 (OWASP minimum)");
  }
  if (params.iterations > 64) return common::InvalidField("argon2_iterations", "must be <= 64");
  return absl::OkStatus();
}

PasswordHasher::PasswordHasher(Argon2idParams params, common::BoundedExecutor* pool)
    : params_(params), pool_(pool) {
  InitSodium();
  // A hash of a random password nobody knows, with the current parameters, so that verifying
  // against it costs what a real verification costs.
  unsigned char random[32];
  randombytes_buf(random, sizeof(random));
  bool ok = false;
  dummy_hash_ = HashNow(
      params_, absl::string_view(reinterpret_cast<const char*>(random), sizeof(random)), &ok);
}

absl::Status PasswordHasher::RunOnPool(const std::function<void()>& work) const {
  if (pool_ == nullptr) {
    work();
    return absl::OkStatus();
  }
  absl::Notification done;
  if (!pool_->TrySubmit([&] {
        work();
        done.Notify();
      })) {
    return common::WithReason(
        absl::ResourceExhaustedError("too many password checks in progress; retry shortly"),
        "PASSWORD_HASHING_BUSY");
  }
  done.WaitForNotification();
  return absl::OkStatus();
}

absl::StatusOr<std::string> PasswordHasher::Hash(absl::string_view password) const {
  std::string encoded;
  bool ok = false;
  absl::Status pooled = RunOnPool([&] { encoded = HashNow(params_, password, &ok); });
  if (!pooled.ok()) return pooled;
  // Only out-of-memory makes crypto_pwhash fail with valid parameters.
  if (!ok) return absl::ResourceExhaustedError("password hashing ran out of memory");
  return encoded;
}

absl::StatusOr<bool> PasswordHasher::Verify(absl::string_view encoded,
                                            absl::string_view password) const {
  if (encoded.rfind("$argon2id$", 0) != 0) {
    return absl::InternalError("stored password hash is not an Argon2id hash");
  }
  const std::string hash(encoded);  // crypto_pwhash_str_verify wants a NUL-terminated string
  int result = -1;
  absl::Status pooled = RunOnPool([&] {
    result = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size());
  });
  if (!pooled.ok()) return pooled;
  return result == 0;
}

absl::Status PasswordHasher::VerifyDummy(absl::string_view password) const {
  absl::StatusOr<bool> ignored = Verify(dummy_hash_, password);
  return ignored.status();
}

bool PasswordHasher::NeedsRehash(absl::string_view encoded) const {
  const std::string hash(encoded);
  return crypto_pwhash_str_needs_rehash(hash.c_str(), params_.iterations, params_.memory_bytes) !=
         0;
}

}  // namespace marketplace::identity
