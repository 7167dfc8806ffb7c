#ifndef MARKETPLACE_SERVICES_CATALOG_FAKE_SELLER_DIRECTORY_H_
#define MARKETPLACE_SERVICES_CATALOG_FAKE_SELLER_DIRECTORY_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "services/catalog/seller_directory.h"

namespace marketplace::catalog {

// Stands in for identity in tests: sellers are whatever the test set, unknown ones are not
// found, and the whole directory can be made unreachable.
class FakeSellerDirectory final : public SellerDirectory {
 public:
  void Set(const std::string& seller_id, bool approved_active) {
    absl::MutexLock lock(&mu_);
    sellers_[seller_id] = approved_active;
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
    SellerStatus out;
    auto it = sellers_.find(seller_id);
    if (it == sellers_.end()) return out;
    out.found = true;
    out.approved_active = it->second;
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, bool> sellers_ ABSL_GUARDED_BY(mu_);
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_FAKE_SELLER_DIRECTORY_H_
