#include "services/support/bounded_token_fetch.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace marketplace::support {

BoundedTokenFetch::BoundedTokenFetch(Fetch fetch, Peek peek)
    : fetch_(std::move(fetch)),
      peek_(std::move(peek)),
      last_(absl::UnavailableError("no token fetched yet")),
      thread_([this] { Run(); }) {}

BoundedTokenFetch::~BoundedTokenFetch() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

absl::StatusOr<std::string> BoundedTokenFetch::Token(absl::Time deadline) {
  if (peek_) {
    if (std::optional<std::string> at_hand = peek_()) return *std::move(at_hand);
  }
  absl::MutexLock lock(&mu_);
  // The fetch in flight, if any, else the next one: the first to end from now on.
  const int64_t awaited = ended_ + 1;
  if (started_ == ended_) wanted_ = true;
  auto ended = [this, awaited]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ended_ >= awaited; };
  if (!mu_.AwaitWithDeadline(absl::Condition(&ended), deadline)) {
    return absl::DeadlineExceededError(
        absl::StrCat("identity issued no token within the call's deadline (fetch ",
                     started_ > ended_ ? "still in flight" : "not started", ")"));
  }
  return last_;
}

int64_t BoundedTokenFetch::fetches() const {
  absl::MutexLock lock(&mu_);
  return started_;
}

void BoundedTokenFetch::Run() {
  auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return wanted_ || stopping_; };
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&woken));
      if (stopping_) return;
      wanted_ = false;
      ++started_;
    }
    absl::StatusOr<std::string> token = fetch_();
    absl::MutexLock lock(&mu_);
    last_ = std::move(token);
    ++ended_;
  }
}

}  // namespace marketplace::support
