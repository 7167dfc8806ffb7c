#include "common/executor.h"

#include <utility>

namespace marketplace::common {

BoundedExecutor::BoundedExecutor(int threads, int max_queue) : max_queue_(max_queue) {
  workers_.reserve(threads);
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

BoundedExecutor::~BoundedExecutor() { Shutdown(); }

bool BoundedExecutor::TrySubmit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  // Idle workers take queued tasks at once, so they add to what may wait.
  const int idle = static_cast<int>(workers_.size()) - busy_;
  if (stopping_ || static_cast<int>(queue_.size()) >= max_queue_ + idle) return false;
  queue_.push_back(std::move(task));
  return true;
}

void BoundedExecutor::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

int BoundedExecutor::QueueDepth() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

int BoundedExecutor::Busy() const {
  absl::MutexLock lock(&mu_);
  return busy_;
}

void BoundedExecutor::WorkerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    task();
    absl::MutexLock lock(&mu_);
    --busy_;
  }
}

}  // namespace marketplace::common
