#ifndef MARKETPLACE_TESTS_PAYMENTS_FAKE_SELLER_DIRECTORY_H_
#define MARKETPLACE_TESTS_PAYMENTS_FAKE_SELLER_DIRECTORY_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/payments/seller_directory.h"

namespace marketplace::payments::testing {

// A stand-in for identity (a remote service): sellers as the test declares them.
class FakeSellerDirectory final : public SellerDirectory {
 public:
  void Set(const std::string& seller_id, bool approved_active,
           const std::string& payout_account = "acct_sandbox_1") {
    absl::MutexLock lock(&mu_);
    sellers_[seller_id] = SellerStatus{true, approved_active, payout_account};
  }
  void SetUnavailable(bool unavailable) {
    absl::MutexLock lock(&mu_);
    unavailable_ = unavailable;
  }

  absl::StatusOr<SellerStatus> GetSeller(const std::string& seller_id) override {
    absl::MutexLock lock(&mu_);
    if (unavailable_) return absl::UnavailableError("identity unreachable");
    auto it = sellers_.find(seller_id);
    if (it == sellers_.end()) return SellerStatus{};
    return it->second;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, SellerStatus> sellers_;
  bool unavailable_ = false;
};

}  // namespace marketplace::payments::testing

#endif  // MARKETPLACE_TESTS_PAYMENTS_FAKE_SELLER_DIRECTORY_H_
