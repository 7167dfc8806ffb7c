#ifndef MARKETPLACE_SERVICES_IDENTITY_SELLER_ONBOARDING_H_
#define MARKETPLACE_SERVICES_IDENTITY_SELLER_ONBOARDING_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "services/identity/identity_store.h"
#include "services/identity/model.h"
#include "services/identity/permissions.h"

namespace marketplace::identity {

enum class ReviewOutcome { kApprove, kReject };

// A seller profile as its readers see it.
struct SellerProfileView {
  SellerProfile profile;
  // The account is suspended: shown as SELLER_SUSPENDED whatever the application's status.
  bool suspended = false;
};

// Seller onboarding: a SELLER submits an application (legal name, registration, country,
// payout reference, contact); an ADMIN or MODERATOR approves or rejects it with a reason the
// seller reads. Only approved sellers may sell; other services ask GetSellerProfile.
class SellerOnboarding {
 public:
  SellerOnboarding(IdentityStore* store, const common::Clock* clock);

  [[nodiscard]] absl::StatusOr<SellerProfileView> Submit(absl::string_view account_id,
                                                         const SellerApplication& application,
                                                         absl::string_view request_id,
                                                         const RequestContext& ctx);

  // `decision` nullopt: not given (INVALID_ARGUMENT).
  [[nodiscard]] absl::StatusOr<SellerProfileView> Review(absl::string_view account_id,
                                                         std::optional<ReviewOutcome> decision,
                                                         absl::string_view reason_code,
                                                         absl::string_view reason,
                                                         const RequestContext& ctx);

  [[nodiscard]] absl::StatusOr<SellerProfileView> Get(absl::string_view account_id,
                                                      const RequestContext& ctx);

 private:
  // Checks the caller may use `method` on `account_id`'s profile, before and after loading it.
  absl::Status AuthorizeOn(Method method, absl::string_view account_id,
                           const RequestContext& ctx);

  IdentityStore* const store_;
  const common::Clock* const clock_;
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_SELLER_ONBOARDING_H_
