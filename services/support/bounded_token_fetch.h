#ifndef MARKETPLACE_SERVICES_SUPPORT_BOUNDED_TOKEN_FETCH_H_
#define MARKETPLACE_SERVICES_SUPPORT_BOUNDED_TOKEN_FETCH_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace marketplace::support {

// support's SERVICE token, waited for until a deadline at most. The token source
// (common's ServiceTokenSource) bounds each IssueServiceToken call by its own timeout only, and
// its callers queue one after another behind a renewal in flight: a caller with a deadline of
// its own (a refund worker's call, sized to its lease) cannot wait on it directly.
//
// The fetch runs on a thread of this object, one at a time: a caller whose deadline passes
// leaves it running (its token is cached by the source for the next caller), and a caller that
// comes while a fetch is in flight waits for that fetch rather than starting another, so a hung
// identity holds one thread here, never the callers. Thread-safe.
class BoundedTokenFetch {
 public:
  using Fetch = std::function<absl::StatusOr<std::string>()>;
  // A good token at hand without waiting, or nothing (ServiceTokenSource::CachedToken).
  using Peek = std::function<std::optional<std::string>()>;

  // `peek` (may be empty) answers first, on the caller's thread: the thread hand-off happens
  // only when the source has no good token cached.
  explicit BoundedTokenFetch(Fetch fetch, Peek peek = nullptr);
  // Waits for a fetch in flight (the source's own timeout bounds it).
  ~BoundedTokenFetch();
  BoundedTokenFetch(const BoundedTokenFetch&) = delete;
  BoundedTokenFetch& operator=(const BoundedTokenFetch&) = delete;

  // The token, or the fetch's error; DEADLINE_EXCEEDED when no fetch ended by `deadline`.
  absl::StatusOr<std::string> Token(absl::Time deadline);

  // Fetches started (tests).
  int64_t fetches() const;

 private:
  void Run();

  const Fetch fetch_;
  const Peek peek_;
  mutable absl::Mutex mu_;
  bool wanted_ ABSL_GUARDED_BY(mu_) = false;  // a caller waits for a fetch not yet started
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t started_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t ended_ ABSL_GUARDED_BY(mu_) = 0;
  absl::StatusOr<std::string> last_ ABSL_GUARDED_BY(mu_);  // the result of fetch `ended_`
  // Last: started once the rest is set up.
  std::thread thread_;
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_BOUNDED_TOKEN_FETCH_H_
