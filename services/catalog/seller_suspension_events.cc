#include "services/catalog/seller_suspension_events.h"

#include <string>

#include "common/events/revocations.h"
#include "protos/marketplace/events/v1/events.pb.h"

namespace marketplace::catalog {
namespace {

using ::marketplace::events::v1::AccountReinstated;
using ::marketplace::events::v1::AccountSuspended;
using ::marketplace::events::v1::Event;

// The actor recorded on the suspensions and transitions these events cause.
constexpr const char* kIdentity = kIdentityActor;

}  // namespace

void AddSellerSuspensionConsumer(common::events::EventConsumer& consumer,
                                 Enforcement* enforcement) {
  consumer.On(common::events::kAccountSuspendedTopic,
              {.prepare = [enforcement](const Event& event) -> absl::Status {
                AccountSuspended payload;
                if (!event.payload().UnpackTo(&payload) || payload.account_id().empty()) {
                  return absl::InvalidArgumentError(
                      "event.payload: must be a marketplace.events.v1.AccountSuspended");
                }
                const std::string reason =
                    payload.reason_code().empty() ? "ACCOUNT_SUSPENDED" : payload.reason_code();
                return enforcement
                    ->SuspendSeller(kIdentity, payload.account_id(), reason,
                                    "the seller's account was suspended",
                                    SuspensionSource::kAccount)
                    .status();
              }});
  consumer.On(common::events::kAccountReinstatedTopic,
              {.prepare = [enforcement](const Event& event) -> absl::Status {
                AccountReinstated payload;
                if (!event.payload().UnpackTo(&payload) || payload.account_id().empty()) {
                  return absl::InvalidArgumentError(
                      "event.payload: must be a marketplace.events.v1.AccountReinstated");
                }
                return enforcement
                    ->ReinstateSeller(kIdentity, payload.account_id(), SuspensionSource::kAccount)
                    .status();
              }});
}

}  // namespace marketplace::catalog
