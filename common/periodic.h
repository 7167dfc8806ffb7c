#ifndef MARKETPLACE_COMMON_PERIODIC_H_
#define MARKETPLACE_COMMON_PERIODIC_H_

#include <functional>
#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace marketplace::common {

// Runs a pass on a thread of its own: once at Start(), then again `interval` after each pass
// ends (at once when the pass returns true: "more is due"), until Stop() or destruction. Start()
// after Stop() starts it again.
// Background workers (pollers, purges, releases) share it instead of each owning a loop.
//
//   PeriodicThread poller(absl::Milliseconds(200), [&] { Poll(); return false; });
//   poller.Start();
class PeriodicThread {
 public:
  PeriodicThread(absl::Duration interval, std::function<bool()> pass)
      : interval_(interval), pass_(std::move(pass)) {}
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  // Starts the thread; a call while it runs does nothing.
  void Start() {
    absl::MutexLock lock(&mu_);
    if (thread_.joinable()) return;
    stop_ = std::make_unique<absl::Notification>();
    thread_ = std::thread([this, stop = stop_.get()] {
      while (!stop->HasBeenNotified()) {
        if (pass_()) continue;
        stop->WaitForNotificationWithTimeout(interval_);
      }
    });
  }

  // Waits for a pass under way to end; no pass starts afterwards (until Start()).
  void Stop() {
    std::thread thread;
    {
      absl::MutexLock lock(&mu_);
      if (!thread_.joinable()) return;
      stop_->Notify();
      thread = std::move(thread_);
    }
    thread.join();
  }

 private:
  const absl::Duration interval_;
  const std::function<bool()> pass_;
  absl::Mutex mu_;
  std::unique_ptr<absl::Notification> stop_ ABSL_GUARDED_BY(mu_);
  std::thread thread_ ABSL_GUARDED_BY(mu_);
};

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_PERIODIC_H_
