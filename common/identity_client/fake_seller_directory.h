#ifndef MARKETPLACE_COMMON_IDENTITY_CLIENT_FAKE_SELLER_DIRECTORY_H_
#define MARKETPLACE_COMMON_IDENTITY_CLIENT_FAKE_SELLER_DIRECTORY_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/identity_client/seller_directory.h"

namespace marketplace::common::identity_client {

// Stands in for identity (a remote service) in tests: sellers are whatever the test set,
// unknown ones are not found, and the whole directory can be made unreachable.
class FakeSellerDirectory final : public SellerDirectory {
 public:
  void Set(const std::string& seller_id, bool approved_active,
           std::string payout_account = "acct_sandbox_payout") {
    absl::MutexLock lock(&mu_);
    sellers_[seller_id] = SellerStatus{true, approved_active, std::move(payout_account)};
  }
  void Remove(const std::string& seller_id) {
    absl::MutexLock lock(&mu_);
    sellers_.erase(seller_id);
  }
  void SetUnavailable(bool unavailable) {
    absl::MutexLock lock(&mu_);
    unavailable_ = unavailable;
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  absl::StatusOr<SellerStatus> GetSeller(const std::string& seller_id) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (unavailable_) return absl::UnavailableError("identity unreachable (test)");
    auto it = sellers_.find(seller_id);
    return it == sellers_.end() ? SellerStatus{} : it->second;
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, SellerStatus> sellers_ ABSL_GUARDED_BY(mu_);
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace marketplace::common::identity_client

#endif  // MARKETPLACE_COMMON_IDENTITY_CLIENT_FAKE_SELLER_DIRECTORY_H_
