// The role x method table of support.proto, method by method.
#include "services/support/permissions.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace marketplace::support {
namespace {

common::auth::Caller CallerWith(std::vector<std::string> roles,
                                std::vector<std::string> scopes = {}) {
  common::auth::Caller c;
  c.subject = "0123456789abcdef0123456789abcdef";
  c.roles = std::move(roles);
  c.scopes = std::move(scopes);
  return c;
}

// Which of BUYER, SELLER, SUPPORT_AGENT, ADMIN, MODERATOR, SERVICE(support.intake) may call.
struct Row {
  bool buyer, seller, agent, admin, intake;
};

TEST(PermissionsTest, EveryMethodFollowsTheDocumentedTable) {
  const std::map<Method, Row> table = {
      {Method::kCreateTicket, {true, false, true, true, true}},
      {Method::kGetTicket, {true, true, true, true, false}},
      {Method::kListTicketMessages, {true, true, true, true, false}},
      {Method::kListTickets, {true, true, true, true, false}},
      {Method::kAddTicketMessage, {true, true, true, true, false}},
      {Method::kEscalateTicket, {true, true, true, true, false}},
      {Method::kAssignTicket, {false, false, true, true, false}},
      {Method::kResolveTicket, {false, true, true, true, false}},
      {Method::kReopenTicket, {true, false, false, false, false}},
      {Method::kMergeTickets, {false, false, true, true, false}},
      {Method::kUpdateTicket, {false, false, true, true, false}},
      {Method::kRateTicket, {true, false, false, false, false}},
      {Method::kGetSlaPolicy, {false, false, true, true, false}},
      {Method::kUpdateSlaPolicy, {false, false, false, true, false}},
      {Method::kGetComplaintReport, {false, true, true, true, false}},
  };
  ASSERT_EQ(table.size(), kMethodCount);
  for (const auto& [method, row] : table) {
    SCOPED_TRACE(std::string(MethodName(method)));
    EXPECT_EQ(ActorFor(CallerWith({"BUYER"}), method).ok(), row.buyer);
    EXPECT_EQ(ActorFor(CallerWith({"SELLER"}), method).ok(), row.seller);
    EXPECT_EQ(ActorFor(CallerWith({"SUPPORT_AGENT"}), method).ok(), row.agent);
    EXPECT_EQ(ActorFor(CallerWith({"ADMIN"}), method).ok(), row.admin);
    EXPECT_EQ(ActorFor(CallerWith({"SERVICE"}, {"support.intake"}), method).ok(), row.intake);
    // MODERATOR and a SERVICE without the scope: never.
    EXPECT_EQ(ActorFor(CallerWith({"MODERATOR"}), method).status().code(),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(ActorFor(CallerWith({"SERVICE"}, {"payments.read"}), method).status().code(),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(ActorFor(std::nullopt, method).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
}

TEST(PermissionsTest, ActorCarriesOnlyTheGrantedRoles) {
  absl::StatusOr<Actor> a = ActorFor(CallerWith({"BUYER", "SELLER"}), Method::kReopenTicket);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->buyer);
  EXPECT_FALSE(a->seller);  // ReopenTicket is the buyer's only
}

}  // namespace
}  // namespace marketplace::support
