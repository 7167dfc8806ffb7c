// The notice notify_seller records (and the seller reads on its scorecard) for each action.
#include <string>

#include "gtest/gtest.h"
#include "services/sellerkpi/enforcement_policy.h"
#include "services/sellerkpi/grpc_step_executor.h"

namespace marketplace::sellerkpi {
namespace {

ClaimedStep Step(pb::ActionType type, const std::string& explanation) {
  ClaimedStep s;
  s.type = type;
  s.name = kNotifySeller;
  s.explanation = explanation;
  return s;
}

TEST(NoticeTextTest, MeasuresAndWarningsSayTheirExplanation) {
  EXPECT_EQ(NoticeText(Step(pb::AT_RISK_MEASURES, "Your seller health is AT_RISK")),
            "Your seller health is AT_RISK");
  EXPECT_EQ(NoticeText(Step(pb::SUSPENSION, "suspended (KPI_CRITICAL)")),
            "suspended (KPI_CRITICAL)");
}

TEST(NoticeTextTest, ARestorationSaysWhetherAnAppealOrRecoveryLiftedTheMeasures) {
  const std::string appeal =
      NoticeText(Step(pb::RESTORATION, std::string(kAppealRestorationPrefix) +
                                           "act_0123456789abcdef01234567 decided REINSTATE"));
  EXPECT_EQ(appeal.rfind("Your appeal was granted", 0), 0u) << appeal;
  EXPECT_NE(appeal.find("act_0123456789abcdef01234567"), std::string::npos);
  // Back to GOOD: no appeal was made, and the notice does not pretend one was.
  const std::string recovered = NoticeText(Step(
      pb::RESTORATION, "Your seller health is back to GOOD: new listings no longer wait"));
  EXPECT_EQ(recovered.find("appeal"), std::string::npos) << recovered;
  EXPECT_NE(recovered.find("back to GOOD"), std::string::npos);
}

TEST(NoticeTextTest, TopTermsAndTheirEndSayTheHolds) {
  pb::SellerScorecard card;
  card.set_health(pb::GOOD);
  card.set_top_badge(true);
  pb::Thresholds t;
  t.set_hold_days_good(14);
  t.set_hold_days_top(5);
  const std::string terms =
      NoticeText(Step(pb::TOP_SELLER_TERMS, Explain(pb::TOP_SELLER_TERMS, card, RulesOf(t))));
  EXPECT_NE(terms.find("TOP badge"), std::string::npos) << terms;
  EXPECT_NE(terms.find("held 5 days instead of 14 days"), std::string::npos) << terms;
  card.set_top_badge(false);
  const std::string end =
      NoticeText(Step(pb::RESTORATION, ExplainTopTermsEnd(card, RulesOf(t))));
  EXPECT_NE(end.find("without the TOP badge"), std::string::npos) << end;
  EXPECT_NE(end.find("held 14 days again"), std::string::npos) << end;
  EXPECT_EQ(end.find("appeal"), std::string::npos) << end;
}

}  // namespace
}  // namespace marketplace::sellerkpi
