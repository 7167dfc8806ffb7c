#ifndef MARKETPLACE_SERVICES_SELLERKPI_TEST_EVENTS_H_
#define MARKETPLACE_SERVICES_SELLERKPI_TEST_EVENTS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "protos/marketplace/sellerkpi/v1/sellerkpi.pb.h"
#include "services/sellerkpi/seller_event.h"

namespace marketplace::sellerkpi::testing {

namespace pb = ::marketplace::sellerkpi::v1;

inline constexpr char kSeller[] = "0123456789abcdef0123456789abcdef";
inline constexpr char kOtherSeller[] = "fedcba9876543210fedcba9876543210";

// An event of `seller` about `order` at `at`, payload to be set by the caller.
inline pb::SellerEvent EventAt(const std::string& id, absl::Time at,
                               const std::string& order = "",
                               const std::string& seller = kSeller) {
  pb::SellerEvent e;
  e.set_event_id(id);
  e.set_seller_id(seller);
  common::ToTimestamp(at, e.mutable_occurred_at());
  if (!order.empty()) e.mutable_links()->set_order_id(order);
  return e;
}

inline pb::SellerEvent Placed(const std::string& id, absl::Time at, const std::string& order,
                              const std::string& seller = kSeller) {
  pb::SellerEvent e = EventAt(id, at, order, seller);
  e.mutable_order_placed();
  return e;
}

inline pb::SellerEvent Rated(const std::string& id, absl::Time at, const std::string& order,
                             int stars, const std::string& seller = kSeller) {
  pb::SellerEvent e = EventAt(id, at, order, seller);
  e.mutable_rating()->set_stars(stars);
  return e;
}

inline pb::SellerEvent Disputed(const std::string& id, absl::Time at, const std::string& order,
                                const std::string& seller = kSeller) {
  pb::SellerEvent e = EventAt(id, at, order, seller);
  e.mutable_dispute_opened();
  e.mutable_links()->set_dispute_id("pay_" + order);
  return e;
}

inline pb::SellerEvent Claim(const std::string& id, absl::Time at, const std::string& order,
                             bool counts, const std::string& seller = kSeller) {
  pb::SellerEvent e = EventAt(id, at, order, seller);
  e.mutable_claim_filed()->set_counts_against_seller(counts);
  return e;
}

inline pb::SellerEvent ClaimDecision(const std::string& id, absl::Time at,
                                     const std::string& order, pb::Party favoured, bool counts,
                                     const std::string& seller = kSeller) {
  pb::SellerEvent e = EventAt(id, at, order, seller);
  e.mutable_claim_decided()->set_favoured(favoured);
  e.mutable_claim_decided()->set_counts_against_seller(counts);
  return e;
}

inline pb::SellerEvent Shipped(const std::string& id, absl::Time at, const std::string& order,
                               bool late, bool valid_tracking,
                               const std::string& seller = kSeller) {
  pb::SellerEvent e = EventAt(id, at, order, seller);
  e.mutable_shipment_confirmed()->set_late(late);
  e.mutable_shipment_confirmed()->set_valid_tracking(valid_tracking);
  return e;
}

inline pb::SellerEvent FirstResponse(const std::string& id, absl::Time at, int64_t seconds,
                                     bool within, const std::string& seller = kSeller) {
  pb::SellerEvent e = EventAt(id, at, "", seller);
  e.mutable_links()->set_ticket_id("tkt_" + id);
  e.mutable_ticket_first_response()->set_seconds(seconds);
  e.mutable_ticket_first_response()->set_within_sla(within);
  e.mutable_ticket_first_response()->set_responder(pb::ATTRIBUTED_SELLER);
  return e;
}

inline pb::SellerEvent Cancelled(const std::string& id, absl::Time at, const std::string& order,
                                 pb::CancelledBy by, const std::string& seller = kSeller) {
  pb::SellerEvent e = EventAt(id, at, order, seller);
  e.mutable_order_cancelled()->set_by(by);
  return e;
}

// The store's records of `events` (source "api"); a failure fails the test.
inline std::vector<EventRecord> Records(const std::vector<pb::SellerEvent>& events) {
  std::vector<EventRecord> out;
  for (const auto& e : events) {
    auto r = MakeRecord(e, "api");
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) out.push_back(*r);
  }
  return out;
}

}  // namespace marketplace::sellerkpi::testing

#endif  // MARKETPLACE_SERVICES_SELLERKPI_TEST_EVENTS_H_
