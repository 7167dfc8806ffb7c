#include "common/idempotency/idempotency.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/db/transaction.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"

namespace marketplace::common::idempotency {
namespace {

class IdempotencyTest : public testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(ApplyIdempotencyMigrations(pool()));
    ASSERT_OK(pool()
                  .Execute("CREATE TABLE effects (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                           "label VARCHAR(64) NOT NULL)")
                  .status());
  }

  int64_t EffectCount() {
    auto rows = pool().Query("SELECT COUNT(*) AS n FROM effects");
    EXPECT_OK(rows.status());
    return rows.ok() ? *(*rows)[0].GetInt64("n") : -1;
  }

  // An effect that writes a row and answers "done:<label>".
  std::function<absl::StatusOr<std::string>(db::Transaction&)> Writer(const std::string& label,
                                                                      std::atomic<int>* runs) {
    return [label, runs](db::Transaction& tx) -> absl::StatusOr<std::string> {
      if (runs != nullptr) ++*runs;
      RETURN_IF_ERROR(tx.Execute("INSERT INTO effects (label) VALUES (?)", {label}).status());
      return absl::StrCat("done:", label);
    };
  }

  ManualClock clock_;
  IdempotencyStore store_{&clock_};
  RequestKey key_{"buyer-1", "/svc/Method", "req-1"};
};

std::string Hash(const std::string& s) {
  google::protobuf::StringValue v;
  v.set_value(s);
  return RequestHash(v);
}

TEST_F(IdempotencyTest, RequestIdRule) {
  EXPECT_TRUE(IsValidRequestId("a-Z_0.9:x"));
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId("has space"));
  EXPECT_FALSE(IsValidRequestId(std::string(129, 'a')));
  EXPECT_TRUE(IsValidRequestId(std::string(128, 'a')));
  EXPECT_EQ(ValidateRequestId("request_id", "").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(IdempotencyTest, HashIsDeterministicAndDistinguishesRequests) {
  EXPECT_EQ(Hash("a"), Hash("a"));
  EXPECT_NE(Hash("a"), Hash("b"));
  EXPECT_EQ(Hash("a").size(), 32u);
}

TEST_F(IdempotencyTest, ReplayReturnsFirstResponseWithoutRunningAgain) {
  std::atomic<int> runs{0};
  ASSERT_OK_AND_ASSIGN(std::string first,
                       RunIdempotentBytes(pool(), store_, key_, Hash("x"), Writer("one", &runs)));
  EXPECT_EQ(first, "done:one");
  ASSERT_OK_AND_ASSIGN(std::string second,
                       RunIdempotentBytes(pool(), store_, key_, Hash("x"), Writer("two", &runs)));
  EXPECT_EQ(second, "done:one");
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(EffectCount(), 1);
  // Find sees it too (a reply lost after the commit).
  ASSERT_OK_AND_ASSIGN(auto found, store_.Find(pool(), key_, Hash("x")));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->response, "done:one");
}

TEST_F(IdempotencyTest, InsertCompletedRecordsABatchThatRetriesThenReplay) {
  const RequestKey second{"buyer-1", "/svc/Method", "req-2"};
  const std::vector<IdempotencyStore::Completed> batch = {
      {key_, Hash("x"), {absl::OkStatus(), "done:batch-1"}},
      {second, Hash("y"), {absl::OkStatus(), "done:batch-2"}}};
  ASSERT_OK(db::RunInTransaction(
      pool(), [&](db::Transaction& tx) { return store_.InsertCompleted(tx, batch); }));
  ASSERT_OK_AND_ASSIGN(auto found, store_.Find(pool(), second, Hash("y")));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->response, "done:batch-2");
  // A retry of a batched request gets the stored answer without running.
  std::atomic<int> runs{0};
  ASSERT_OK_AND_ASSIGN(std::string again,
                       RunIdempotentBytes(pool(), store_, key_, Hash("x"), Writer("two", &runs)));
  EXPECT_EQ(again, "done:batch-1");
  EXPECT_EQ(runs.load(), 0);
  // A batch holding a key that exists fails whole, writing nothing.
  const RequestKey third{"buyer-1", "/svc/Method", "req-3"};
  absl::Status twice = db::RunInTransaction(pool(), [&](db::Transaction& tx) {
    const std::vector<IdempotencyStore::Completed> mixed = {
        {third, Hash("z"), {absl::OkStatus(), "done:3"}},
        {key_, Hash("x"), {absl::OkStatus(), "done:again"}}};
    return store_.InsertCompleted(tx, mixed);
  });
  EXPECT_EQ(twice.code(), absl::StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(auto none, store_.Find(pool(), third, Hash("z")));
  EXPECT_FALSE(none.has_value());
}

TEST_F(IdempotencyTest, SameKeyDifferentRequestIsRefused) {
  ASSERT_OK(RunIdempotentBytes(pool(), store_, key_, Hash("x"), Writer("one", nullptr)).status());
  auto other = RunIdempotentBytes(pool(), store_, key_, Hash("y"), Writer("two", nullptr));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(other.status()), "REQUEST_ID_REUSED");
  EXPECT_EQ(EffectCount(), 1);
  EXPECT_EQ(store_.Find(pool(), key_, Hash("y")).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(IdempotencyTest, KeysAreScopedByCallerAndMethod) {
  ASSERT_OK(RunIdempotentBytes(pool(), store_, key_, Hash("x"), Writer("a", nullptr)).status());
  RequestKey other_caller = key_;
  other_caller.caller = "buyer-2";
  RequestKey other_method = key_;
  other_method.method = "/svc/Other";
  ASSERT_OK(
      RunIdempotentBytes(pool(), store_, other_caller, Hash("y"), Writer("b", nullptr)).status());
  ASSERT_OK(
      RunIdempotentBytes(pool(), store_, other_method, Hash("z"), Writer("c", nullptr)).status());
  EXPECT_EQ(EffectCount(), 3);
}

TEST_F(IdempotencyTest, DefinitiveErrorAfterWorkBeganIsStoredAndReplayed) {
  std::atomic<int> runs{0};
  auto refusing = [&runs](db::Transaction& tx) -> absl::StatusOr<std::string> {
    ++runs;
    RETURN_IF_ERROR(tx.Execute("INSERT INTO effects (label) VALUES ('partial')").status());
    return FailedPrecondition("PAYMENT_NOT_HELD", "payment is not held");
  };
  auto first = RunIdempotentBytes(pool(), store_, key_, Hash("x"), refusing);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(EffectCount(), 0) << "the effect's writes roll back";
  // The retry gets the same error even though the effect would now succeed.
  auto second = RunIdempotentBytes(pool(), store_, key_, Hash("x"), Writer("later", &runs));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(second.status()), "PAYMENT_NOT_HELD");
  EXPECT_EQ(second.status().message(), "payment is not held");
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(EffectCount(), 0);
}

TEST_F(IdempotencyTest, RefusalWithKeptWritesCommitsThemWithTheStoredError) {
  std::atomic<int> runs{0};
  auto refusing = [&runs](db::Transaction& tx) -> absl::StatusOr<std::string> {
    ++runs;
    RETURN_IF_ERROR(tx.Execute("INSERT INTO effects (label) VALUES ('compensation')").status());
    return KeepWrites(
        WithReason(absl::AlreadyExistsError("order has a payment"), "ORDER_ALREADY_PAID"));
  };
  auto first = RunIdempotentBytes(pool(), store_, key_, Hash("x"), refusing);
  EXPECT_EQ(ReasonOf(first.status()), "ORDER_ALREADY_PAID");
  EXPECT_EQ(EffectCount(), 1) << "the refusal's writes commit";
  auto second = RunIdempotentBytes(pool(), store_, key_, Hash("x"), refusing);
  EXPECT_EQ(ReasonOf(second.status()), "ORDER_ALREADY_PAID");
  EXPECT_EQ(second.status().message(), "order has a payment");
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(EffectCount(), 1);
  // A transient error is not kept: its writes roll back and nothing is stored.
  RequestKey other = key_;
  other.request_id = "req-2";
  auto transient = RunIdempotentBytes(
      pool(), store_, other, Hash("x"), [](db::Transaction& tx) -> absl::StatusOr<std::string> {
        RETURN_IF_ERROR(tx.Execute("INSERT INTO effects (label) VALUES ('lost')").status());
        return KeepWrites(absl::UnavailableError("processor down"));
      });
  EXPECT_TRUE(absl::IsUnavailable(transient.status()));
  EXPECT_EQ(EffectCount(), 1);
  ASSERT_OK(RunIdempotentBytes(pool(), store_, other, Hash("x"), Writer("b", nullptr)).status());
}

TEST_F(IdempotencyTest, FieldViolationsSurviveStorage) {
  auto invalid = [](db::Transaction&) -> absl::StatusOr<std::string> {
    return InvalidField("amount.amount_minor", "must be > 0");
  };
  ASSERT_FALSE(RunIdempotentBytes(pool(), store_, key_, Hash("x"), invalid).ok());
  auto again = RunIdempotentBytes(pool(), store_, key_, Hash("x"), Writer("x", nullptr));
  ASSERT_EQ(again.status().code(), absl::StatusCode::kInvalidArgument);
  auto violations = FieldViolationsOf(again.status());
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "amount.amount_minor");
}

TEST_F(IdempotencyTest, TransientErrorIsNotStoredSoTheRetryDoesTheWork) {
  auto flaky = [](db::Transaction&) -> absl::StatusOr<std::string> {
    return absl::UnavailableError("processor unreachable");
  };
  EXPECT_EQ(RunIdempotentBytes(pool(), store_, key_, Hash("x"), flaky).status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_OK_AND_ASSIGN(auto found, store_.Find(pool(), key_, Hash("x")));
  EXPECT_FALSE(found.has_value());
  ASSERT_OK_AND_ASSIGN(std::string ok,
                       RunIdempotentBytes(pool(), store_, key_, Hash("x"), Writer("ok", nullptr)));
  EXPECT_EQ(ok, "done:ok");
  EXPECT_EQ(EffectCount(), 1);
}

TEST_F(IdempotencyTest, FiftyParallelIdenticalRequestsMakeOneEffect) {
  ASSERT_OK_AND_ASSIGN(auto pool2, NewPool(50));
  std::atomic<int> runs{0};
  std::vector<absl::StatusOr<std::string>> results(50, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      results[i] = RunIdempotentBytes(*pool2, store_, key_, Hash("same"),
                                      Writer(absl::StrCat("t", i), &runs));
    });
  }
  for (auto& t : threads) t.join();
  std::string winner;
  for (const auto& r : results) {
    ASSERT_OK(r.status());
    if (winner.empty()) winner = *r;
    EXPECT_EQ(*r, winner);
  }
  EXPECT_EQ(EffectCount(), 1);
}

TEST_F(IdempotencyTest, ParallelIdenticalRefusalsAllGetTheOneStoredError) {
  ASSERT_OK_AND_ASSIGN(auto pool2, NewPool(20));
  std::atomic<int> n{0};
  auto refusing = [&n](db::Transaction&) -> absl::StatusOr<std::string> {
    int mine = ++n;
    return FailedPrecondition("REASON_" + std::to_string(mine), "refused");
  };
  std::vector<absl::Status> results(20);
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      results[i] = RunIdempotentBytes(*pool2, store_, key_, Hash("same"), refusing).status();
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_OK_AND_ASSIGN(auto stored, store_.Find(pool(), key_, Hash("same")));
  ASSERT_TRUE(stored.has_value());
  std::string reason = ReasonOf(stored->status);
  // Each caller either stored its own refusal first or was handed the stored one; later
  // replays all see the stored one.
  auto replay = RunIdempotentBytes(pool(), store_, key_, Hash("same"), Writer("x", nullptr));
  EXPECT_EQ(ReasonOf(replay.status()), reason);
  EXPECT_EQ(EffectCount(), 0);
  for (const auto& s : results) EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(IdempotencyTest, PurgeDropsKeysOlderThanADay) {
  ASSERT_OK(RunIdempotentBytes(pool(), store_, key_, Hash("x"), Writer("old", nullptr)).status());
  clock_.Advance(absl::Hours(23));
  RequestKey young = key_;
  young.request_id = "req-2";
  ASSERT_OK(
      RunIdempotentBytes(pool(), store_, young, Hash("y"), Writer("young", nullptr)).status());
  ASSERT_OK_AND_ASSIGN(int64_t none, store_.Purge(pool()));
  EXPECT_EQ(none, 0);
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(int64_t purged, store_.Purge(pool(), absl::Hours(24), 1));
  EXPECT_EQ(purged, 1);
  ASSERT_OK_AND_ASSIGN(auto gone, store_.Find(pool(), key_, Hash("x")));
  EXPECT_FALSE(gone.has_value());
  ASSERT_OK_AND_ASSIGN(auto kept, store_.Find(pool(), young, Hash("y")));
  EXPECT_TRUE(kept.has_value());
}

TEST_F(IdempotencyTest, TypedRunRoundTripsMessages) {
  auto effect = [](db::Transaction&) -> absl::StatusOr<google::protobuf::StringValue> {
    google::protobuf::StringValue v;
    v.set_value("payment-7");
    return v;
  };
  ASSERT_OK_AND_ASSIGN(auto first, RunIdempotent<google::protobuf::StringValue>(
                                       pool(), store_, key_, Hash("x"), effect));
  ASSERT_OK_AND_ASSIGN(auto second, RunIdempotent<google::protobuf::StringValue>(
                                        pool(), store_, key_, Hash("x"), effect));
  EXPECT_EQ(first.value(), "payment-7");
  EXPECT_EQ(second.value(), "payment-7");
}

}  // namespace
}  // namespace marketplace::common::idempotency

namespace marketplace::common::idempotency {
namespace {

TEST_F(IdempotencyTest, FindManyReadsKeysAndTheCallersRowsForManyRequestsInOneStatement) {
  // Effect rows: their id is what the lookup reads, by label (compared as the column's
  // collation does: case-insensitively here).
  ASSERT_OK(pool().Execute("INSERT INTO effects (label) VALUES ('existing')").status());
  ASSERT_OK(RunIdempotentBytes(pool(), store_, key_, Hash("x"), Writer("one", nullptr)).status());
  const std::vector<IdempotencyStore::Lookup> lookups = {{"effects", "label", "id"}};
  const RequestKey other{"buyer-2", "/svc/Method", "req-1"};
  const std::vector<IdempotencyStore::Probe> probes = {
      {other, Hash("x"), {"EXISTING"}},  // unknown key, a row found
      {key_, Hash("x"), {"nothing"}},    // completed key, no row
      {key_, Hash("y"), {"one"}},        // the key holds another request
      {other, Hash("x"), {"one"}},       // twin of the first with another value
      // Key columns compare bytes: another case is another key.
      {{key_.caller, key_.method, absl::AsciiStrToUpper(key_.request_id)}, Hash("x"), {"none"}},
  };
  std::vector<absl::StatusOr<IdempotencyStore::Found>> found =
      store_.FindMany(pool(), lookups, probes);
  ASSERT_EQ(found.size(), 5u);
  ASSERT_OK(found[0].status());
  EXPECT_FALSE(found[0]->stored.has_value());
  EXPECT_EQ(found[0]->values, std::vector<std::optional<std::string>>{"1"});
  ASSERT_OK(found[1].status());
  ASSERT_TRUE(found[1]->stored.has_value());
  EXPECT_EQ(found[1]->stored->response, "done:one");
  EXPECT_EQ(found[1]->values, std::vector<std::optional<std::string>>{std::nullopt});
  EXPECT_EQ(ReasonOf(found[2].status()), "REQUEST_ID_REUSED");
  ASSERT_OK(found[3].status());
  EXPECT_FALSE(found[3]->stored.has_value());
  EXPECT_EQ(found[3]->values, std::vector<std::optional<std::string>>{"2"});
  ASSERT_OK(found[4].status());
  EXPECT_FALSE(found[4]->stored.has_value());
  // A probe alone reads the same; a failing statement is every probe's error.
  found = store_.FindMany(pool(), lookups, absl::MakeConstSpan(&probes[1], 1));
  ASSERT_EQ(found.size(), 1u);
  ASSERT_OK(found[0].status());
  EXPECT_EQ(found[0]->stored->response, "done:one");
  const std::vector<IdempotencyStore::Lookup> missing = {{"no_such_table", "label", "id"}};
  found = store_.FindMany(pool(), missing, probes);
  ASSERT_EQ(found.size(), 5u);
  for (const auto& f : found) EXPECT_FALSE(f.ok());
}

}  // namespace
}  // namespace marketplace::common::idempotency
