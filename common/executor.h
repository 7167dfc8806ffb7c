#ifndef MARKETPLACE_COMMON_EXECUTOR_H_
#define MARKETPLACE_COMMON_EXECUTOR_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace marketplace::common {

// A fixed pool of threads with a bounded queue, for blocking work (database queries, password
// hashing) that must never run on gRPC's callback threads. Size it to the database pool: more
// threads than connections would only wait for a connection.
class BoundedExecutor {
 public:
  // `threads` workers; at most `max_queue` tasks wait beyond the ones running.
  BoundedExecutor(int threads, int max_queue);
  ~BoundedExecutor();  // Shutdown() and join.

  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Queues `task`; false when the queue is full or the executor is shutting down, so the
  // caller can answer RESOURCE_EXHAUSTED / UNAVAILABLE instead of queueing without limit.
  [[nodiscard]] bool TrySubmit(std::function<void()> task);

  // Stops accepting tasks, runs those already queued, joins the workers. Idempotent.
  void Shutdown();

  int threads() const { return static_cast<int>(workers_.size()); }
  int max_queue() const { return max_queue_; }
  int QueueDepth() const;
  int Busy() const;

 private:
  void WorkerLoop();

  const int max_queue_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  int busy_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_EXECUTOR_H_
