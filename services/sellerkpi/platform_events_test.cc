#include "services/sellerkpi/platform_events.h"

#include <map>
#include <string>

#include "common/errors.h"
#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "protos/marketplace/catalog/v1/catalog.pb.h"
#include "protos/marketplace/support/v1/support.pb.h"
#include "services/sellerkpi/seller_event.h"

namespace marketplace::sellerkpi {
namespace {

namespace sup = ::marketplace::support::v1;
namespace cat = ::marketplace::catalog::v1;
using ::marketplace::events::v1::Event;

constexpr char kSeller[] = "0123456789abcdef0123456789abcdef";
constexpr char kTicket[] = "tkt_0123456789abcdef01234567";
const absl::Time kAt = absl::FromUnixSeconds(1'800'000'000);

template <typename Payload>
Event Of(const std::string& topic, const Payload& payload) {
  Event e;
  e.set_event_id("evt_" + topic);
  e.set_topic(topic);
  e.set_source(topic.substr(0, topic.find('.')));
  e.set_key(kTicket);
  *e.mutable_occurred_at() = common::ToTimestamp(kAt);
  e.mutable_payload()->PackFrom(payload);
  return e;
}

// A lookup over a map of remembered tickets.
TicketLookup Known(std::map<std::string, SupportTicket>* tickets) {
  return [tickets](const std::string& id) -> absl::StatusOr<std::optional<SupportTicket>> {
    auto it = tickets->find(id);
    if (it == tickets->end()) return std::nullopt;
    return it->second;
  };
}

// The mapped event passes sellerkpi's own rules (as a producer's event, not from the API).
void ExpectValid(const v1::SellerEvent& e) {
  common::Violations v;
  CheckEvent(e, "event", kAt + absl::Minutes(1), /*from_api=*/false, v);
  EXPECT_TRUE(v.empty()) << v.Status();
}

TEST(PlatformEventsTest, ClaimOpenedRemembersTheOrderAndFilesTheClaim) {
  std::map<std::string, SupportTicket> tickets;
  sup::TicketOpened opened;
  opened.set_ticket_id(kTicket);
  opened.set_order_id("order 42/β");
  opened.set_seller_id(kSeller);
  opened.set_is_claim(true);
  auto m = FromPlatformEvent(Of(kTicketOpenedTopic, opened), Known(&tickets));
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(m->ticket.has_value());
  EXPECT_EQ(m->ticket->order_id, "order 42/β");
  EXPECT_EQ(m->ticket->seller_id, kSeller);
  ASSERT_TRUE(m->event.has_value());
  EXPECT_TRUE(m->event->claim_filed().counts_against_seller());
  EXPECT_EQ(m->event->links().order_id(), "order 42/β");
  EXPECT_EQ(m->event->links().ticket_id(), kTicket);
  EXPECT_EQ(m->event->event_id(), "evt_support.ticket_opened");
  EXPECT_EQ(common::FromTimestamp(m->event->occurred_at(), "t").value(), kAt);
  ExpectValid(*m->event);

  // A question (not a claim): the order is remembered, nothing is recorded.
  opened.set_is_claim(false);
  auto q = FromPlatformEvent(Of(kTicketOpenedTopic, opened), Known(&tickets));
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->ticket.has_value());
  EXPECT_FALSE(q->event.has_value());
}

TEST(PlatformEventsTest, ResolutionsAndUpdatesFollowTheLatestCountsAgainstSeller) {
  std::map<std::string, SupportTicket> tickets = {
      {kTicket, {.ticket_id = kTicket, .seller_id = kSeller, .order_id = "o-1"}}};
  sup::TicketResolved resolved;
  resolved.set_ticket_id(kTicket);
  resolved.set_seller_id(kSeller);
  resolved.set_is_claim(true);
  resolved.set_favoured(sup::FAVOURS_BUYER);
  resolved.set_counts_against_seller(true);
  auto buyer = FromPlatformEvent(Of(kTicketResolvedTopic, resolved), Known(&tickets));
  ASSERT_TRUE(buyer.ok()) << buyer.status();
  EXPECT_EQ(buyer->event->claim_decided().favoured(), v1::FAVOURS_BUYER);
  EXPECT_TRUE(buyer->event->claim_decided().counts_against_seller());
  EXPECT_EQ(buyer->event->links().order_id(), "o-1");
  ExpectValid(*buyer->event);

  // Decided for the seller: never counts, whatever support says.
  resolved.set_favoured(sup::FAVOURS_SELLER);
  auto seller = FromPlatformEvent(Of(kTicketResolvedTopic, resolved), Known(&tickets));
  ASSERT_TRUE(seller.ok());
  EXPECT_EQ(seller->event->claim_decided().favoured(), v1::FAVOURS_SELLER);
  EXPECT_FALSE(seller->event->claim_decided().counts_against_seller());

  // Favouring neither: the claim keeps support's latest counts_against_seller.
  resolved.set_favoured(sup::FAVOURS_NEITHER);
  resolved.set_counts_against_seller(false);
  auto neither = FromPlatformEvent(Of(kTicketResolvedTopic, resolved), Known(&tickets));
  ASSERT_TRUE(neither.ok());
  ASSERT_TRUE(neither->event->has_claim_filed());
  EXPECT_FALSE(neither->event->claim_filed().counts_against_seller());
  ExpectValid(*neither->event);

  // A resolved ticket that is not a claim counts in nothing.
  resolved.set_is_claim(false);
  auto question = FromPlatformEvent(Of(kTicketResolvedTopic, resolved), Known(&tickets));
  ASSERT_TRUE(question.ok());
  EXPECT_FALSE(question->event.has_value());

  sup::ClaimUpdated updated;
  updated.set_ticket_id(kTicket);
  updated.set_seller_id(kSeller);
  updated.set_is_claim(true);
  updated.set_counts_against_seller(true);
  auto now_counts = FromPlatformEvent(Of(kClaimUpdatedTopic, updated), Known(&tickets));
  ASSERT_TRUE(now_counts.ok());
  EXPECT_TRUE(now_counts->event->claim_filed().counts_against_seller());
  // No longer a claim: its defect goes.
  updated.set_is_claim(false);
  auto not_claim = FromPlatformEvent(Of(kClaimUpdatedTopic, updated), Known(&tickets));
  ASSERT_TRUE(not_claim.ok());
  EXPECT_FALSE(not_claim->event->claim_filed().counts_against_seller());
}

TEST(PlatformEventsTest, ClaimOfAnUnknownTicketIsRefusedWithItsReason) {
  std::map<std::string, SupportTicket> none;
  sup::ClaimUpdated updated;
  updated.set_ticket_id(kTicket);
  updated.set_seller_id(kSeller);
  updated.set_is_claim(true);
  auto m = FromPlatformEvent(Of(kClaimUpdatedTopic, updated), Known(&none));
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(common::ReasonOf(m.status()), "TICKET_NOT_KNOWN") << m.status();
}

TEST(PlatformEventsTest, ResponsesAndBreachesCarryTheirParty) {
  std::map<std::string, SupportTicket> tickets = {
      {kTicket, {.ticket_id = kTicket, .seller_id = kSeller, .order_id = "o-1"}}};
  sup::FirstResponse first;
  first.set_ticket_id(kTicket);
  first.set_seller_id(kSeller);
  first.set_level(sup::L1_SELLER);
  first.set_seconds(3600);
  first.set_within_sla(true);
  auto r = FromPlatformEvent(Of(kFirstResponseTopic, first), Known(&tickets));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->event->ticket_first_response().seconds(), 3600);
  EXPECT_TRUE(r->event->ticket_first_response().within_sla());
  EXPECT_EQ(r->event->ticket_first_response().responder(), v1::ATTRIBUTED_SELLER);
  EXPECT_EQ(r->event->links().ticket_id(), kTicket);
  EXPECT_EQ(r->event->links().order_id(), "o-1");
  ExpectValid(*r->event);
  first.set_level(sup::L2_OPERATOR);
  EXPECT_EQ(FromPlatformEvent(Of(kFirstResponseTopic, first), Known(&tickets))
                ->event->ticket_first_response()
                .responder(),
            v1::ATTRIBUTED_OPERATOR);
  // Without the ticket's opening, a response is still recorded (links: the ticket only).
  std::map<std::string, SupportTicket> none;
  auto unknown = FromPlatformEvent(Of(kFirstResponseTopic, first), Known(&none));
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->event->links().order_id(), "");
  ExpectValid(*unknown->event);

  sup::SlaBreached breach;
  breach.set_ticket_id(kTicket);
  breach.set_seller_id(kSeller);
  breach.set_attributed_to(sup::OPERATOR);
  auto op = FromPlatformEvent(Of(kSlaBreachedTopic, breach), Known(&tickets));
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->event->ticket_sla_breached().attributed_to(), v1::ATTRIBUTED_OPERATOR);
  ExpectValid(*op->event);
  breach.set_attributed_to(sup::SELLER);
  EXPECT_EQ(FromPlatformEvent(Of(kSlaBreachedTopic, breach), Known(&tickets))
                ->event->ticket_sla_breached()
                .attributed_to(),
            v1::ATTRIBUTED_SELLER);
  breach.set_attributed_to(sup::SLA_PARTY_UNSPECIFIED);
  EXPECT_FALSE(
      FromPlatformEvent(Of(kSlaBreachedTopic, breach), Known(&tickets))->event.has_value());
}

TEST(PlatformEventsTest, ListingDecisionsBecomeListingReviewed) {
  std::map<std::string, SupportTicket> none;
  cat::ListingApproved approved;
  approved.set_listing_id("lst_1");
  approved.set_seller_id(kSeller);
  auto a = FromPlatformEvent(Of(kListingApprovedTopic, approved), Known(&none));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->event->listing_reviewed().approved());
  EXPECT_EQ(a->event->links().listing_id(), "lst_1");
  ExpectValid(*a->event);

  cat::ListingRejected rejected;
  rejected.set_listing_id("lst_2");
  rejected.set_seller_id(kSeller);
  for (int i = 0; i < 25; ++i) rejected.add_reason_codes("REASON_" + std::to_string(i));
  auto r = FromPlatformEvent(Of(kListingRejectedTopic, rejected), Known(&none));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->event->listing_reviewed().approved());
  EXPECT_EQ(r->event->listing_reviewed().reasons_size(), 20);
  ExpectValid(*r->event);
}

TEST(PlatformEventsTest, APayloadThatIsNotTheTopicsMessageIsRefused) {
  std::map<std::string, SupportTicket> none;
  cat::ListingApproved wrong;
  for (const char* topic : {kTicketOpenedTopic, kFirstResponseTopic, kSlaBreachedTopic,
                            kTicketResolvedTopic, kClaimUpdatedTopic, kListingRejectedTopic}) {
    EXPECT_EQ(FromPlatformEvent(Of(topic, wrong), Known(&none)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << topic;
  }
  sup::TicketOpened opened;
  EXPECT_EQ(FromPlatformEvent(Of(kListingApprovedTopic, opened), Known(&none)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace marketplace::sellerkpi
