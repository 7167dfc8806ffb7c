#ifndef MARKETPLACE_TESTS_PAYMENTS_FAKE_PROCESSOR_H_
#define MARKETPLACE_TESTS_PAYMENTS_FAKE_PROCESSOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/money.h"
#include "services/payments/processor.h"
#include "services/payments/sandbox_processor.h"

// Stand-ins for the payment processor that payments tests script.
namespace marketplace::payments::testing {

// The sandbox behind a processor a test scripts: every call goes to it unless overridden.
class SandboxPassThrough : public PaymentProcessor {
 public:
  absl::StatusOr<ProcessorResult> Authorize(const std::string& key, const std::string& token,
                                            const common::Money& amount,
                                            const common::CallOrigin& origin) override {
    return sandbox_.Authorize(key, token, amount, origin);
  }
  absl::StatusOr<ProcessorResult> Capture(const std::string& key, const std::string& ref,
                                          const common::Money& amount,
                                          const common::CallOrigin& origin) override {
    return sandbox_.Capture(key, ref, amount, origin);
  }
  absl::StatusOr<ProcessorResult> Refund(const std::string& key, const std::string& ref,
                                         const common::Money& amount) override {
    return sandbox_.Refund(key, ref, amount);
  }
  absl::StatusOr<ProcessorResult> Payout(const std::string& key, const std::string& account,
                                         const common::Money& amount) override {
    return sandbox_.Payout(key, account, amount);
  }

 private:
  SandboxProcessor sandbox_;
};

// The sandbox, except that payouts can be made to fail (`outages` transient failures first,
// then a definitive refusal when `decline`), something can happen before the next capture
// (`before_capture`, run once), and refunds are counted.
class ScriptedProcessor final : public SandboxPassThrough {
 public:
  absl::StatusOr<ProcessorResult> Capture(const std::string& key, const std::string& ref,
                                          const common::Money& amount,
                                          const common::CallOrigin& origin) override {
    std::function<void()> hook;
    std::swap(hook, before_capture);
    if (hook) hook();
    ++capture_calls;
    last_origin = origin;
    absl::StatusOr<ProcessorResult> captured =
        SandboxPassThrough::Capture(key, ref, amount, origin);
    // The capture happened at the processor, but the answer is lost on the way back.
    if (captured.ok() && lose_capture_answers > 0) {
      --lose_capture_answers;
      return absl::DeadlineExceededError("capture answer lost (test)");
    }
    return captured;
  }
  absl::StatusOr<ProcessorResult> Authorize(const std::string& key, const std::string& token,
                                            const common::Money& amount,
                                            const common::CallOrigin& origin) override {
    ++authorize_calls;
    last_origin = origin;
    return SandboxPassThrough::Authorize(key, token, amount, origin);
  }
  absl::StatusOr<ProcessorResult> Refund(const std::string& key, const std::string& ref,
                                         const common::Money& amount) override {
    ++refund_calls;
    refunded_minor += amount.amount_minor();
    return SandboxPassThrough::Refund(key, ref, amount);
  }
  absl::StatusOr<ProcessorResult> Payout(const std::string& key, const std::string& account,
                                         const common::Money& amount) override {
    ++payout_calls;
    if (outages > 0) {
      --outages;
      return absl::UnavailableError("processor down");
    }
    if (decline) return ProcessorResult{false, DeclineCode::kDeclined, ""};
    return SandboxPassThrough::Payout(key, account, amount);
  }

  std::atomic<int> outages{0};
  std::atomic<bool> decline{false};
  std::atomic<int> payout_calls{0};
  std::function<void()> before_capture;  // set before the calls start
  std::atomic<int> lose_capture_answers{0};
  std::atomic<int> authorize_calls{0};
  std::atomic<int> capture_calls{0};
  common::CallOrigin last_origin;  // of the last Authorize or Capture (read after the calls)
  std::atomic<int> refund_calls{0};
  std::atomic<int64_t> refunded_minor{0};
};

// The sandbox for payments; refunds and payouts fail transiently the first `failures` times
// each idempotency key is sent, then are accepted (or refused for good when `refuse`). Like
// a real processor, an accepted key answers the same again without moving money twice;
// `moved` counts the keys that moved money, `calls` every call per key.
class FlakyProcessor final : public SandboxPassThrough {
 public:
  absl::StatusOr<ProcessorResult> Refund(const std::string& key, const std::string&,
                                         const common::Money& amount) override {
    return Send(key, amount);
  }
  absl::StatusOr<ProcessorResult> Payout(const std::string& key, const std::string&,
                                         const common::Money& amount) override {
    return Send(key, amount);
  }

  void Script(int failures, bool refuse) {
    absl::MutexLock lock(&mu_);
    failures_ = failures;
    refuse_ = refuse;
  }
  int Calls(const std::string& key) {
    absl::MutexLock lock(&mu_);
    return calls_[key];
  }
  int Moved(const std::string& key) {
    absl::MutexLock lock(&mu_);
    return moved_[key];
  }
  int64_t MovedMinor() {
    absl::MutexLock lock(&mu_);
    return moved_minor_;
  }
  int TotalCalls() {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const auto& [k, c] : calls_) n += c;
    return n;
  }

 private:
  absl::StatusOr<ProcessorResult> Send(const std::string& key, const common::Money& amount) {
    absl::MutexLock lock(&mu_);
    const int call = ++calls_[key];
    if (call <= failures_) return absl::UnavailableError("processor unreachable");
    if (refuse_) return ProcessorResult{false, DeclineCode::kDeclined, ""};
    if (moved_[key]++ == 0) moved_minor_ += amount.amount_minor();
    return ProcessorResult{true, DeclineCode::kNone, "ref_" + key};
  }

  absl::Mutex mu_;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
  bool refuse_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> moved_ ABSL_GUARDED_BY(mu_);
  int64_t moved_minor_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace marketplace::payments::testing

#endif  // MARKETPLACE_TESTS_PAYMENTS_FAKE_PROCESSOR_H_
