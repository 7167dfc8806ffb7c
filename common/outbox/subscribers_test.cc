#include "common/outbox/subscribers.h"

#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketplace::common::outbox {
namespace {

TEST(ParseSubscriberSpecsTest, NameTargetAndPrefixes) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<SubscriberSpec> specs,
      ParseSubscriberSpecs("sellerkpi=sellerkpi:7000:payments., support=[::1]:7004:"
                           "payments.payment_held|payments.dispute,all=dns:///kpi:7000:*"));
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].name, "sellerkpi");
  EXPECT_EQ(specs[0].target, "sellerkpi:7000");
  EXPECT_EQ(specs[0].topic_prefixes, std::vector<std::string>{"payments."});
  EXPECT_EQ(specs[1].name, "support");
  EXPECT_EQ(specs[1].target, "[::1]:7004");
  EXPECT_EQ(specs[1].topic_prefixes,
            (std::vector<std::string>{"payments.payment_held", "payments.dispute"}));
  EXPECT_EQ(specs[2].target, "dns:///kpi:7000");
  EXPECT_EQ(specs[2].topic_prefixes, std::vector<std::string>{"*"});
}

TEST(ParseSubscriberSpecsTest, EmptyIsNoSubscriber) {
  ASSERT_OK_AND_ASSIGN(std::vector<SubscriberSpec> specs, ParseSubscriberSpecs(" "));
  EXPECT_TRUE(specs.empty());
}

TEST(ParseSubscriberSpecsTest, RejectsWhatIsNotTheGrammar) {
  for (const char* bad : {
           "sellerkpi",                             // no '='
           "sellerkpi=host:7005",                   // a port is not a topic prefix
           "sellerkpi=host",                        // no prefix
           "=host:7005:payments.",                  // no name
           "Seller=host:7005:payments.",            // upper case name
           "a=h:1:payments.,a=h:2:catalog.",        // name twice
           "a=h:1:payments.|",                      // empty prefix
           "a=h:1:Payments.",                       // upper case prefix
           "a=h:1:payments.,",                      // empty item
           "c=:1:payments.",                        // no host
           "c=host::payments.",                     // no port
           "c=host:x7:payments.",                   // port not a number
       }) {
    EXPECT_EQ(ParseSubscriberSpecs(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_NE(ParseSubscriberSpecs("sellerkpi=host:7005").status().message().find(
                "event_subscribers"),
            std::string::npos);
}

}  // namespace
}  // namespace marketplace::common::outbox
