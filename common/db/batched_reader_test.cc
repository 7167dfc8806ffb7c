#include "common/db/batched_reader.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/testing/database_test_base.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketplace::common::db {
namespace {

using ::marketplace::common::testing::DatabaseTest;

class BatchedReaderTest : public DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    ASSERT_OK(pool().Execute(
        "CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
        "item_id VARCHAR(64) CHARACTER SET ascii NOT NULL UNIQUE, v BIGINT NULL)"));
    for (int i = 0; i < 200; ++i) {
      SqlValue v = nullptr;
      if (i % 10 != 0) v = int64_t{i * 3};
      ASSERT_OK(pool().Execute("INSERT INTO items (item_id, v) VALUES (?, ?)",
                               {absl::StrCat("it_", i), v}));
    }
  }

  BatchedReader::Options ItemOptions() {
    BatchedReader::Options o;
    o.table = "items";
    o.columns = "item_id, v";
    o.key_column = "item_id";
    return o;
  }
};

// Reads one key and waits for its answer.
absl::StatusOr<std::optional<Row>> ReadNow(BatchedReader& reader, std::string key) {
  absl::Notification done;
  absl::StatusOr<std::optional<Row>> out;
  reader.Read(std::move(key), [&](absl::StatusOr<std::optional<Row>> r) {
    out = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return out;
}

TEST_F(BatchedReaderTest, FindsARowItsNullsAndNothingForAMissingKey) {
  BatchedReader reader(&pool(), ItemOptions());
  ASSERT_OK_AND_ASSIGN(std::optional<Row> row, ReadNow(reader, "it_7"));
  ASSERT_TRUE(row.has_value());
  ASSERT_OK_AND_ASSIGN(int64_t v, row->GetInt64("v"));
  EXPECT_EQ(v, 21);
  ASSERT_OK_AND_ASSIGN(std::optional<Row> with_null, ReadNow(reader, "it_10"));
  ASSERT_TRUE(with_null.has_value());
  EXPECT_TRUE(with_null->IsNull("v"));
  ASSERT_OK_AND_ASSIGN(std::optional<Row> none, ReadNow(reader, "it_9999"));
  EXPECT_FALSE(none.has_value());
}

TEST_F(BatchedReaderTest, ConcurrentReadsAreBatchedAndEachGetsItsOwnRow) {
  BatchedReader::Options o = ItemOptions();
  o.threads = 1;
  o.max_batch = 16;
  BatchedReader reader(&pool(), o);
  constexpr int kReads = 2000;
  std::atomic<int> right{0}, wrong{0}, answered{0};
  absl::Notification all;
  for (int i = 0; i < kReads; ++i) {
    // Some keys twice in a batch, some missing.
    const int n = (i * 37) % 230;
    reader.Read(absl::StrCat("it_", n), [&, n](absl::StatusOr<std::optional<Row>> r) {
      bool ok = r.ok();
      if (ok && n >= 200) ok = !r->has_value();
      if (ok && n < 200) {
        ok = r->has_value() && r->value().GetString("item_id").value_or("") ==
                                   absl::StrCat("it_", n);
        if (ok && n % 10 != 0) ok = r->value().GetInt64("v").value_or(-1) == n * 3;
      }
      (ok ? right : wrong)++;
      if (++answered == kReads) all.Notify();
    });
  }
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(right.load(), kReads);
  EXPECT_EQ(wrong.load(), 0);
  const BatchedReader::Stats stats = reader.GetStats();
  EXPECT_EQ(stats.reads, kReads);
  // Queued faster than one thread reads: most statements carry many keys.
  EXPECT_LT(stats.statements, kReads / 4) << stats.statements << " statements";
}

TEST_F(BatchedReaderTest, CaseInsensitiveKeysFindTheRowLikeTheColumnsCollation) {
  BatchedReader::Options o = ItemOptions();
  BatchedReader exact(&pool(), o);
  o.ascii_case_insensitive = true;
  BatchedReader folded(&pool(), o);
  // The database finds 'IT_5' under its _ci collation; only the folded reader matches it back.
  ASSERT_OK_AND_ASSIGN(std::optional<Row> a, ReadNow(folded, "IT_5"));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->GetString("item_id").value_or(""), "it_5");
  ASSERT_OK_AND_ASSIGN(std::optional<Row> b, ReadNow(exact, "IT_5"));
  EXPECT_FALSE(b.has_value());
}

TEST_F(BatchedReaderTest, AStatementErrorReachesEveryReadOfTheBatch) {
  BatchedReader::Options o = ItemOptions();
  o.table = "no_such_table";
  BatchedReader reader(&pool(), o);
  auto r = ReadNow(reader, "it_1");
  EXPECT_FALSE(r.ok());
}

TEST_F(BatchedReaderTest, AFullQueueAnswersResourceExhaustedAtOnce) {
  BatchedReader::Options o = ItemOptions();
  o.max_queue = 0;
  BatchedReader reader(&pool(), o);
  bool called = false;
  reader.Read("it_1", [&](absl::StatusOr<std::optional<Row>> r) {
    called = true;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  });
  EXPECT_TRUE(called);  // before Read returned
}

TEST_F(BatchedReaderTest, DestructionAnswersEveryQueuedRead) {
  std::atomic<int> answered{0};
  {
    BatchedReader::Options o = ItemOptions();
    o.threads = 1;
    BatchedReader reader(&pool(), o);
    for (int i = 0; i < 300; ++i) {
      reader.Read(absl::StrCat("it_", i % 200),
                  [&](absl::StatusOr<std::optional<Row>> r) {
                    if (r.ok() && r->has_value()) ++answered;
                  });
    }
  }
  EXPECT_EQ(answered.load(), 300);
}

}  // namespace
}  // namespace marketplace::common::db
