#ifndef MARKETPLACE_COMMON_AUTH_FAKE_KEY_FETCHER_H_
#define MARKETPLACE_COMMON_AUTH_FAKE_KEY_FETCHER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/auth/token_verifier.h"

namespace marketplace::common::auth {

// Stands in for identity's GetSigningKeys in tests: serves whatever keys it was given, or an
// error, and counts the calls.
class FakeKeyFetcher final : public KeyFetcher {
 public:
  FakeKeyFetcher() = default;
  explicit FakeKeyFetcher(std::vector<PublicKey> keys) : keys_(std::move(keys)) {}

  absl::StatusOr<std::vector<PublicKey>> FetchKeys() override {
    absl::MutexLock lock(&mu_);
    ++fetches_;
    if (!error_.ok()) return error_;
    return keys_;
  }

  void SetKeys(std::vector<PublicKey> keys) {
    absl::MutexLock lock(&mu_);
    keys_ = std::move(keys);
  }
  void AddKey(PublicKey key) {
    absl::MutexLock lock(&mu_);
    keys_.push_back(std::move(key));
  }
  // A non-OK status makes every fetch fail until cleared with absl::OkStatus().
  void SetError(absl::Status error) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(error);
  }
  int fetches() const {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<PublicKey> keys_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  int fetches_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace marketplace::common::auth

#endif  // MARKETPLACE_COMMON_AUTH_FAKE_KEY_FETCHER_H_
