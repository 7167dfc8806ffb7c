// The enforcement saga on a real MariaDB: steps in order, a failing step retried with backoff
// until it succeeds, steps done before a restart never run again, a crashed worker's step due
// again after its lease, two workers sharing the due steps without overlap; the appeals.
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/sellerkpi/enforcement_worker.h"
#include "services/sellerkpi/mysql_enforcement_store.h"
#include "services/sellerkpi/mysql_kpi_store.h"

namespace marketplace::sellerkpi {
namespace {

constexpr char kSeller[] = "0123456789abcdef0123456789abcdef";

// Records every call; fails the calls of a step while its failure budget lasts.
class RecordingExecutor final : public StepExecutor {
 public:
  absl::StatusOr<std::string> Run(const ClaimedStep& step) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(step);
    int& left = failures_[step.name];
    if (left > 0) {
      --left;
      return absl::UnavailableError(step.name + " unreachable");
    }
    return "result of " + step.name;
  }
  void FailNext(const std::string& step, int times) {
    absl::MutexLock lock(&mu_);
    failures_[step] = times;
  }
  std::vector<ClaimedStep> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int CallsOf(const std::string& step) {
    int n = 0;
    for (const ClaimedStep& c : calls()) n += c.name == step;
    return n;
  }

 private:
  absl::Mutex mu_;
  std::vector<ClaimedStep> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> failures_ ABSL_GUARDED_BY(mu_);
};

class EnforcementWorkerTest : public common::testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplySellerKpiMigrations(pool()));
    store_ = std::make_unique<MysqlEnforcementStore>(&pool());
  }

  std::unique_ptr<EnforcementWorker> Worker(EnforcementStore* store) {
    return std::make_unique<EnforcementWorker>(store, &executor_, &clock_, &observer_,
                                               options_);
  }

  pb::EnforcementAction Action(const std::string& id, pb::ActionType type) {
    pb::EnforcementAction a;
    a.set_action_id(id);
    a.set_seller_id(kSeller);
    a.set_type(type);
    a.set_explanation("ORDER_DEFECT_RATE 3/100 above 1%");
    return a;
  }

  pb::EnforcementAction Get(const std::string& id) {
    auto a = store_->GetAction(id);
    EXPECT_TRUE(a.ok()) << a.status();
    EXPECT_TRUE(a->has_value());
    return a->value_or(pb::EnforcementAction());
  }

  common::ManualClock clock_;
  RecordingExecutor executor_;
  NoKpiObserver observer_;
  EnforcementWorkerOptions options_{.batch = 20,
                                    .lease = absl::Minutes(2),
                                    .initial_backoff = absl::Seconds(1),
                                    .max_backoff = absl::Seconds(30)};
  std::unique_ptr<MysqlEnforcementStore> store_;
};

TEST_F(EnforcementWorkerTest, StepsRunInOrderEachWithItsOwnRequestId) {
  ASSERT_OK(store_->CreateAction(Action("act_1", pb::AT_RISK_MEASURES),
                                 {"notify_seller", "catalog.set_moderation_level",
                                  "payments.set_hold_policy"},
                                 clock_.Now()));
  pb::EnforcementAction fresh = Get("act_1");
  EXPECT_EQ(fresh.state(), pb::IN_PROGRESS);
  ASSERT_EQ(fresh.steps_size(), 3);
  std::set<std::string> ids;
  for (const auto& s : fresh.steps()) {
    EXPECT_EQ(s.state(), pb::PENDING);
    ids.insert(s.request_id());
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(store_->CreateAction(Action("act_1", pb::AT_RISK_MEASURES), {}, clock_.Now()).code(),
            absl::StatusCode::kAlreadyExists);

  auto worker = Worker(store_.get());
  // One step per action per pass: the next is due only once the previous one is done.
  for (int pass = 0; pass < 3; ++pass) {
    ASSERT_OK_AND_ASSIGN(auto counts, worker->RunPass());
    EXPECT_EQ(counts.done, 1) << pass;
  }
  ASSERT_OK_AND_ASSIGN(auto idle, worker->RunPass());
  EXPECT_EQ(idle.done + idle.failed, 0);
  std::vector<ClaimedStep> calls = executor_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].name, "notify_seller");
  EXPECT_EQ(calls[1].name, "catalog.set_moderation_level");
  EXPECT_EQ(calls[2].name, "payments.set_hold_policy");
  EXPECT_EQ(calls[2].seller_id, kSeller);
  EXPECT_EQ(calls[2].type, pb::AT_RISK_MEASURES);
  // A step sees what the earlier ones recorded (what a restoration needs).
  EXPECT_EQ(calls[2].earlier_results,
            (std::vector<std::string>{"result of notify_seller",
                                      "result of catalog.set_moderation_level"}));
  pb::EnforcementAction done = Get("act_1");
  EXPECT_EQ(done.state(), pb::DONE);
  for (const auto& s : done.steps()) {
    EXPECT_EQ(s.state(), pb::DONE_CHECKED);
    EXPECT_EQ(s.attempts(), 1);
    EXPECT_EQ(ids.count(s.request_id()), 1u);
  }
}

TEST_F(EnforcementWorkerTest, AFailingStepIsRetriedWithBackoffUntilItSucceeds) {
  ASSERT_OK(store_->CreateAction(Action("act_2", pb::SUSPENSION),
                                 {"identity.suspend_account", "check_effects"}, clock_.Now()));
  executor_.FailNext("identity.suspend_account", 2);
  auto worker = Worker(store_.get());

  ASSERT_OK_AND_ASSIGN(auto first, worker->RunPass());
  EXPECT_EQ(first.failed, 1);
  pb::EnforcementAction a = Get("act_2");
  EXPECT_EQ(a.steps(0).state(), pb::RETRYING);
  EXPECT_EQ(a.steps(0).attempts(), 1);
  EXPECT_NE(a.steps(0).error().find("unreachable"), std::string::npos);
  EXPECT_EQ(a.steps(1).state(), pb::PENDING);

  // Not due before its backoff (1 s), nor is the next step.
  ASSERT_OK_AND_ASSIGN(auto early, worker->RunPass());
  EXPECT_EQ(early.done + early.failed, 0);
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(auto second, worker->RunPass());
  EXPECT_EQ(second.failed, 1);
  // Second failure: 2 s.
  clock_.Advance(absl::Milliseconds(1999));
  ASSERT_OK_AND_ASSIGN(auto still_early, worker->RunPass());
  EXPECT_EQ(still_early.done + still_early.failed, 0);
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_OK_AND_ASSIGN(auto third, worker->RunPass());
  EXPECT_EQ(third.done, 1);
  ASSERT_OK_AND_ASSIGN(auto fourth, worker->RunPass());
  EXPECT_EQ(fourth.done, 1);

  a = Get("act_2");
  EXPECT_EQ(a.state(), pb::DONE);
  EXPECT_EQ(a.steps(0).state(), pb::DONE_CHECKED);
  EXPECT_EQ(a.steps(0).attempts(), 3);
  EXPECT_EQ(a.steps(0).error(), "");
  EXPECT_EQ(executor_.CallsOf("identity.suspend_account"), 3);
  EXPECT_EQ(executor_.CallsOf("check_effects"), 1);
  // Every attempt of the step used the same request_id.
  std::set<std::string> request_ids;
  for (const ClaimedStep& c : executor_.calls()) {
    if (c.name == "identity.suspend_account") request_ids.insert(c.request_id);
  }
  EXPECT_EQ(request_ids.size(), 1u);
}

TEST_F(EnforcementWorkerTest, BackoffDoublesUpToItsCap) {
  auto worker = Worker(store_.get());
  EXPECT_EQ(worker->BackoffAfter(1), absl::Seconds(1));
  EXPECT_EQ(worker->BackoffAfter(2), absl::Seconds(2));
  EXPECT_EQ(worker->BackoffAfter(5), absl::Seconds(16));
  EXPECT_EQ(worker->BackoffAfter(6), absl::Seconds(30));
  EXPECT_EQ(worker->BackoffAfter(100), absl::Seconds(30));
}

TEST_F(EnforcementWorkerTest, StepsDoneBeforeARestartAreNotRepeated) {
  ASSERT_OK(store_->CreateAction(Action("act_3", pb::SUSPENSION),
                                 {"notify_seller", "identity.suspend_account", "check_effects"},
                                 clock_.Now()));
  {
    auto before = Worker(store_.get());
    ASSERT_OK(before->RunPass().status());
    ASSERT_OK(before->RunPass().status());
  }
  // "Restart": a new store and worker over the same database.
  MysqlEnforcementStore reopened(&pool());
  auto after = Worker(&reopened);
  for (int i = 0; i < 5; ++i) ASSERT_OK(after->RunPass().status());
  EXPECT_EQ(executor_.CallsOf("notify_seller"), 1);
  EXPECT_EQ(executor_.CallsOf("identity.suspend_account"), 1);
  EXPECT_EQ(executor_.CallsOf("check_effects"), 1);
  EXPECT_EQ(Get("act_3").state(), pb::DONE);
}

TEST_F(EnforcementWorkerTest, AStepClaimedByACrashedWorkerIsDueAgainAfterItsLease) {
  ASSERT_OK(store_->CreateAction(Action("act_4", pb::SUSPENSION), {"identity.suspend_account"},
                                 clock_.Now()));
  // A worker claims the step and dies before it reports anything.
  ASSERT_OK_AND_ASSIGN(std::vector<ClaimedStep> claimed,
                       store_->ClaimDueSteps(10, clock_.Now(), options_.lease));
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].attempts, 1);
  auto worker = Worker(store_.get());
  ASSERT_OK_AND_ASSIGN(auto during, worker->RunPass());
  EXPECT_EQ(during.done + during.failed, 0);
  clock_.Advance(options_.lease);
  ASSERT_OK_AND_ASSIGN(auto resumed, worker->RunPass());
  EXPECT_EQ(resumed.done, 1);
  std::vector<ClaimedStep> calls = executor_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].request_id, claimed[0].request_id);  // the same request at identity
  EXPECT_EQ(calls[0].attempts, 2);
  EXPECT_EQ(Get("act_4").state(), pb::DONE);
}

TEST_F(EnforcementWorkerTest, TwoWorkersShareTheDueStepsWithoutOverlap) {
  for (int i = 0; i < 30; ++i) {
    ASSERT_OK(store_->CreateAction(Action("act_m" + std::to_string(i), pb::CRITICAL_WARNING),
                                   {"notify_seller"}, clock_.Now()));
  }
  MysqlEnforcementStore other(&pool());
  options_.batch = 3;
  auto a = Worker(store_.get());
  auto b = Worker(&other);
  std::atomic<int> done{0};
  auto run = [&done](EnforcementWorker* w) {
    for (int i = 0; i < 30; ++i) {
      auto c = w->RunPass();
      ASSERT_TRUE(c.ok()) << c.status();
      done += c->done;
    }
  };
  std::thread ta(run, a.get());
  std::thread tb(run, b.get());
  ta.join();
  tb.join();
  EXPECT_EQ(done.load(), 30);
  EXPECT_EQ(executor_.calls().size(), 30u);
  std::set<std::string> actions;
  for (const ClaimedStep& c : executor_.calls()) actions.insert(c.action_id);
  EXPECT_EQ(actions.size(), 30u);
}

TEST_F(EnforcementWorkerTest, ListActionsPagesNewestFirst) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(store_->CreateAction(Action("act_p" + std::to_string(i), pb::CRITICAL_WARNING),
                                   {"notify_seller"}, clock_.Now()));
    clock_.Advance(absl::Seconds(1));
  }
  pb::EnforcementAction other = Action("act_other", pb::CRITICAL_WARNING);
  other.set_seller_id("ffffffffffffffffffffffffffffffff");
  ASSERT_OK(store_->CreateAction(other, {}, clock_.Now()));
  std::vector<std::string> seen;
  std::optional<std::pair<absl::Time, std::string>> after;
  for (int page = 0; page < 5; ++page) {
    ASSERT_OK_AND_ASSIGN(ActionPage p, store_->ListActions(kSeller, after, 2));
    for (const auto& a : p.actions) {
      seen.push_back(a.action_id());
      EXPECT_EQ(a.steps_size(), 1);
    }
    if (!p.next.has_value()) break;
    after = p.next;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"act_p4", "act_p3", "act_p2", "act_p1", "act_p0"}));
  // An action without steps is DONE at once.
  EXPECT_EQ(Get("act_other").state(), pb::DONE);
}

TEST_F(EnforcementWorkerTest, AppealsOncePerActionByItsSellerOnly) {
  ASSERT_OK(store_->CreateAction(Action("act_a", pb::SUSPENSION), {"notify_seller"},
                                 clock_.Now()));
  // Another seller: exactly like an unknown id.
  const std::string stranger = "ffffffffffffffffffffffffffffffff";
  auto other = store_->Appeal("act_a", stranger, "mine", stranger, clock_.Now());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(common::ReasonOf(other.status()), "ACTION_NOT_FOUND");
  auto unknown = store_->Appeal("act_zz", kSeller, "mine", kSeller, clock_.Now());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(common::ReasonOf(unknown.status()), "ACTION_NOT_FOUND");
  EXPECT_FALSE(Get("act_a").has_appeal());

  // Two appeals at once: one is recorded, the other is ALREADY_EXISTS.
  std::atomic<int> ok{0}, exists{0};
  auto appeal = [&](const std::string& text) {
    auto r = store_->Appeal("act_a", kSeller, text, kSeller, clock_.Now());
    if (r.ok()) ++ok;
    if (r.status().code() == absl::StatusCode::kAlreadyExists &&
        common::ReasonOf(r.status()) == "APPEAL_EXISTS") {
      ++exists;
    }
  };
  std::thread t1(appeal, "first");
  std::thread t2(appeal, "second");
  t1.join();
  t2.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), 1);
  pb::EnforcementAction a = Get("act_a");
  ASSERT_TRUE(a.has_appeal());
  EXPECT_TRUE(a.appeal().statement() == "first" || a.appeal().statement() == "second");
  EXPECT_EQ(a.appeal().decision(), pb::APPEAL_DECISION_UNSPECIFIED);
  EXPECT_TRUE(a.appeal().has_appealed_at());
  EXPECT_EQ(a.appeal().filed_by(), kSeller);

  // A SUPPORT_AGENT files for a seller who cannot sign in (no seller to match): the appeal
  // names the agent; once per action still.
  const std::string agent = "a9e11700000000000000000000000001";
  ASSERT_OK(store_->CreateAction(Action("act_b", pb::SUSPENSION), {"notify_seller"},
                                 clock_.Now()));
  ASSERT_OK_AND_ASSIGN(pb::EnforcementAction filed,
                       store_->Appeal("act_b", "", "seller called: carrier fault", agent,
                                      clock_.Now()));
  EXPECT_EQ(filed.appeal().filed_by(), agent);
  EXPECT_EQ(filed.seller_id(), kSeller);
  EXPECT_EQ(common::ReasonOf(store_->Appeal("act_b", kSeller, "again", kSeller, clock_.Now())
                                 .status()),
            "APPEAL_EXISTS");

  // A restoration cannot be appealed.
  ASSERT_OK(store_->CreateAction(Action("act_r", pb::RESTORATION), {}, clock_.Now()));
  auto restoration = store_->Appeal("act_r", kSeller, "why", kSeller, clock_.Now());
  EXPECT_EQ(restoration.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(common::ReasonOf(restoration.status()), "NOT_APPEALABLE");
}

TEST_F(EnforcementWorkerTest, DecisionsUpholdOrReinstateOnceOnly) {
  ASSERT_OK(store_->CreateAction(Action("act_u", pb::AT_RISK_MEASURES), {"notify_seller"},
                                 clock_.Now()));
  ASSERT_OK(store_->CreateAction(Action("act_s", pb::SUSPENSION), {"notify_seller"},
                                 clock_.Now()));
  // Nothing to decide before an appeal.
  auto early = store_->DecideAppeal("act_u", pb::UPHOLD, "", "admin", std::nullopt, clock_.Now());
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(common::ReasonOf(early.status()), "NOT_APPEALED");
  auto unknown = store_->DecideAppeal("act_zz", pb::UPHOLD, "", "admin", std::nullopt,
                                      clock_.Now());
  EXPECT_EQ(common::ReasonOf(unknown.status()), "ACTION_NOT_FOUND");

  ASSERT_OK(store_->Appeal("act_u", kSeller, "late carrier", kSeller, clock_.Now()).status());
  ASSERT_OK_AND_ASSIGN(pb::EnforcementAction upheld,
                       store_->DecideAppeal("act_u", pb::UPHOLD, "figures stand", "admin",
                                            std::nullopt, clock_.Now()));
  EXPECT_EQ(upheld.appeal().decision(), pb::UPHOLD);
  EXPECT_EQ(upheld.appeal().decision_note(), "figures stand");
  EXPECT_EQ(upheld.state(), pb::IN_PROGRESS);  // the action goes on
  auto again = store_->DecideAppeal("act_u", pb::REINSTATE, "", "admin", std::nullopt,
                                    clock_.Now());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(common::ReasonOf(again.status()), "APPEAL_ALREADY_DECIDED");
  EXPECT_EQ(Get("act_u").appeal().decision(), pb::UPHOLD);

  // Two decisions at once on the suspension: one wins; REINSTATE creates the restoration.
  ASSERT_OK(store_->Appeal("act_s", kSeller, "tracking was valid", kSeller, clock_.Now()).status());
  EnforcementStore::Restoration r;
  r.action = Action("act_back", pb::RESTORATION);
  r.step_names = {"identity.reinstate_account", "catalog.restore_listings"};
  std::atomic<int> ok{0}, decided{0};
  auto decide = [&](pb::AppealDecision d) {
    auto out = store_->DecideAppeal("act_s", d, "", "admin",
                                    d == pb::REINSTATE ? std::optional(r) : std::nullopt,
                                    clock_.Now());
    if (out.ok()) ++ok;
    if (common::ReasonOf(out.status()) == "APPEAL_ALREADY_DECIDED") ++decided;
  };
  std::thread t1(decide, pb::REINSTATE);
  std::thread t2(decide, pb::UPHOLD);
  t1.join();
  t2.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(decided.load(), 1);
  pb::EnforcementAction s = Get("act_s");
  auto back = store_->GetAction("act_back");
  ASSERT_OK(back.status());
  if (s.appeal().decision() == pb::REINSTATE) {
    EXPECT_EQ(s.state(), pb::REVERSED);
    ASSERT_TRUE(back->has_value());
    EXPECT_EQ((*back)->type(), pb::RESTORATION);
    EXPECT_EQ((*back)->steps_size(), 2);
    EXPECT_EQ((*back)->state(), pb::IN_PROGRESS);
  } else {
    EXPECT_EQ(s.appeal().decision(), pb::UPHOLD);
    EXPECT_FALSE(back->has_value());  // nothing restored
  }
}

// A slow pass does not start a claimed step in the second half of its lease: it could still be
// running when the lease ends and another worker, or a restoration, acts on the step.
TEST_F(EnforcementWorkerTest, AStepIsNotStartedInTheSecondHalfOfItsLease) {
  class SlowExecutor final : public StepExecutor {
   public:
    SlowExecutor(common::ManualClock* clock, absl::Duration each) : clock_(clock), each_(each) {}
    absl::StatusOr<std::string> Run(const ClaimedStep& step) override {
      ran.push_back(step.action_id);
      clock_->Advance(each_);
      return "ok";
    }
    std::vector<std::string> ran;

   private:
    common::ManualClock* clock_;
    absl::Duration each_;
  };
  for (const char* id : {"act_a", "act_b", "act_c"}) {
    ASSERT_OK(
        store_->CreateAction(Action(id, pb::AT_RISK_MEASURES), {"notify_seller"}, clock_.Now()));
  }
  SlowExecutor slow(&clock_, options_.lease / 3);
  EnforcementWorker worker(store_.get(), &slow, &clock_, &observer_, options_);
  ASSERT_OK_AND_ASSIGN(EnforcementWorker::PassCounts first, worker.RunPass());
  // Two started (at 0 and a third of the lease), the third not (at two thirds).
  EXPECT_EQ(first.done, 2);
  EXPECT_EQ(first.not_started, 1);
  EXPECT_EQ(slow.ran.size(), 2u);
  // It stays claimed until its lease ends, then runs.
  ASSERT_OK_AND_ASSIGN(EnforcementWorker::PassCounts second, worker.RunPass());
  EXPECT_EQ(second.done + second.not_started, 0);
  clock_.Advance(options_.lease / 3 + absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(EnforcementWorker::PassCounts third, worker.RunPass());
  EXPECT_EQ(third.done, 1);
  EXPECT_EQ(slow.ran.size(), 3u);
}

// A REINSTATE cancels what the reversed suspension (and the measures it closes) has not done;
// a step a worker is running meanwhile may still land, and the restoration waits for it.
TEST_F(EnforcementWorkerTest, ReinstateCancelsUnfinishedStepsAndTheRestorationWaitsForRunningOnes) {
  ASSERT_OK(store_->CreateAction(Action("act_m", pb::AT_RISK_MEASURES),
                                 {"catalog.set_moderation_level", "payments.set_hold_policy"},
                                 clock_.Now()));
  ASSERT_OK(store_->CreateAction(Action("act_s", pb::SUSPENSION),
                                 {"identity.suspend_account", "notify_seller"}, clock_.Now()));
  // A worker takes the first step of each and is still running them.
  ASSERT_OK_AND_ASSIGN(std::vector<ClaimedStep> running,
                       store_->ClaimDueSteps(10, clock_.Now(), options_.lease));
  ASSERT_EQ(running.size(), 2u);

  ASSERT_OK(store_->Appeal("act_s", kSeller, "tracking was valid", kSeller, clock_.Now()).status());
  EnforcementStore::Restoration r;
  r.action = Action("act_back", pb::RESTORATION);
  // Its payments step is not held up by the measures' cancelled one (which never runs).
  r.step_names = {"identity.reinstate_account", "payments.restore_hold_policy"};
  ASSERT_OK(store_->DecideAppeal("act_s", pb::REINSTATE, "", "admin", r, clock_.Now()).status());
  EXPECT_EQ(Get("act_s").state(), pb::REVERSED);
  EXPECT_EQ(Get("act_m").state(), pb::DONE);  // closed, nothing left to run
  for (const char* id : {"act_s", "act_m"}) {
    pb::EnforcementAction a = Get(id);
    ASSERT_EQ(a.steps_size(), 2) << id;
    for (const pb::EnforcementStep& step : a.steps()) {
      EXPECT_EQ(step.state(), pb::CANCELLED) << id << " " << step.name();
    }
  }

  // The restoration waits while the cancelled steps are being run.
  clock_.Advance(absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(std::vector<ClaimedStep> none,
                       store_->ClaimDueSteps(10, clock_.Now(), options_.lease));
  EXPECT_TRUE(none.empty());
  // The suspension landed after all: recorded as done.
  ASSERT_OK(store_->CompleteStep("act_s", 0, "suspended", clock_.Now()));
  EXPECT_EQ(Get("act_s").steps(0).state(), pb::DONE_CHECKED);
  EXPECT_EQ(Get("act_s").state(), pb::REVERSED);
  ASSERT_OK_AND_ASSIGN(none, store_->ClaimDueSteps(10, clock_.Now(), options_.lease));
  EXPECT_TRUE(none.empty()) << "the measures' step is still running";
  // The measures' worker died: once its lease ends, the restoration goes.
  clock_.Advance(options_.lease);
  ASSERT_OK_AND_ASSIGN(std::vector<ClaimedStep> back,
                       store_->ClaimDueSteps(10, clock_.Now(), options_.lease));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].action_id, "act_back");
  EXPECT_EQ(back[0].step_no, 0);
  // A late failure of a cancelled step does not revive it.
  ASSERT_OK(store_->FailStep("act_m", 0, "catalog unreachable", clock_.Now(), clock_.Now()));
  EXPECT_EQ(Get("act_m").steps(0).state(), pb::CANCELLED);
  ASSERT_OK(store_->CompleteStep("act_back", 0, "reinstated", clock_.Now()));
  // From now on only the restoration's steps run; the cancelled ones never do.
  std::vector<std::string> claimed;
  for (int pass = 0; pass < 3; ++pass) {
    clock_.Advance(options_.lease + absl::Seconds(1));
    ASSERT_OK_AND_ASSIGN(std::vector<ClaimedStep> steps,
                         store_->ClaimDueSteps(10, clock_.Now(), options_.lease));
    for (const ClaimedStep& c : steps) {
      claimed.push_back(absl::StrCat(c.action_id, ".", c.step_no));
      ASSERT_OK(store_->CompleteStep(c.action_id, c.step_no, "ok", clock_.Now()));
    }
  }
  EXPECT_EQ(claimed, (std::vector<std::string>{"act_back.1"}));
  EXPECT_EQ(Get("act_back").state(), pb::DONE);
}

}  // namespace
}  // namespace marketplace::sellerkpi
