#include "services/support/bounded_token_fetch.h"

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace marketplace::support {
namespace {

TEST(BoundedTokenFetchTest, ATokenAtHandIsReturned) {
  BoundedTokenFetch tokens([]() -> absl::StatusOr<std::string> { return std::string("tok"); });
  absl::StatusOr<std::string> token = tokens.Token(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "tok");
  EXPECT_EQ(tokens.fetches(), 1);
}

// A token the source holds is taken on the caller's thread: no fetch, even with the source's
// fetch hung.
TEST(BoundedTokenFetchTest, ATokenThePeekHasNeedsNoFetch) {
  absl::Notification never;
  BoundedTokenFetch tokens(
      [&]() -> absl::StatusOr<std::string> {
        never.WaitForNotification();
        return std::string("late");
      },
      []() -> std::optional<std::string> { return std::string("cached"); });
  absl::StatusOr<std::string> token = tokens.Token(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "cached");
  EXPECT_EQ(tokens.fetches(), 0);
  never.Notify();
}

TEST(BoundedTokenFetchTest, TheSourcesErrorIsReturned) {
  BoundedTokenFetch tokens(
      []() -> absl::StatusOr<std::string> { return absl::UnauthenticatedError("bad secret"); });
  EXPECT_EQ(tokens.Token(absl::Now() + absl::Seconds(30)).status().code(),
            absl::StatusCode::kUnauthenticated);
}

// A hung source: callers give up at their deadlines, one fetch stays in flight (later callers
// wait for it, none starts another), and its answer serves the next caller.
TEST(BoundedTokenFetchTest, AHungFetchHoldsNoCallerPastItsDeadline) {
  absl::Notification answer;
  std::atomic<int> calls{0};
  BoundedTokenFetch tokens([&]() -> absl::StatusOr<std::string> {
    ++calls;
    answer.WaitForNotification();
    return std::string("late");
  });
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::string> token = tokens.Token(start + absl::Milliseconds(200));
    const absl::Duration waited = absl::Now() - start;
    EXPECT_EQ(token.status().code(), absl::StatusCode::kDeadlineExceeded) << token.status();
    EXPECT_GE(waited, absl::Milliseconds(190));
    EXPECT_LT(waited, absl::Seconds(5));
  }
  EXPECT_EQ(tokens.fetches(), 1);
  // A deadline already past is answered at once.
  EXPECT_EQ(tokens.Token(absl::Now() - absl::Seconds(1)).status().code(),
            absl::StatusCode::kDeadlineExceeded);

  answer.Notify();
  absl::StatusOr<std::string> token = tokens.Token(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "late");
  EXPECT_EQ(calls.load(), tokens.fetches());
  EXPECT_LE(calls.load(), 2);
}

// Destroyed while a fetch is in flight: waits for it, then stops.
TEST(BoundedTokenFetchTest, DestructionWaitsForTheFetchInFlight) {
  absl::Notification answer;
  std::atomic<bool> returned{false};
  {
    BoundedTokenFetch tokens([&]() -> absl::StatusOr<std::string> {
      answer.WaitForNotification();
      absl::SleepFor(absl::Milliseconds(50));
      returned = true;
      return std::string("tok");
    });
    EXPECT_FALSE(tokens.Token(absl::Now() + absl::Milliseconds(50)).ok());
    answer.Notify();
  }
  EXPECT_TRUE(returned.load());
}

}  // namespace
}  // namespace marketplace::support
