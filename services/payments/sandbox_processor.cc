#include "services/payments/sandbox_processor.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace marketplace::payments {
namespace {

std::string Reference(absl::string_view operation, absl::string_view idempotency_key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(idempotency_key.data()), idempotency_key.size(),
         digest);
  return absl::StrCat(
      "sbx_", operation, "_",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 12)));
}

absl::StatusOr<ProcessorResult> Accepted(absl::string_view operation,
                                         absl::string_view idempotency_key) {
  if (idempotency_key.empty()) {
    return absl::InvalidArgumentError("sandbox processor: empty idempotency key");
  }
  return ProcessorResult{true, DeclineCode::kNone, Reference(operation, idempotency_key)};
}

absl::StatusOr<ProcessorResult> Declined(DeclineCode code) {
  return ProcessorResult{false, code, ""};
}

}  // namespace

absl::StatusOr<ProcessorResult> SandboxProcessor::Authorize(const std::string& idempotency_key,
                                                            const std::string& payment_method_token,
                                                            const common::Money& /*amount*/,
                                                            const common::CallOrigin& origin) {
  if (origin.Expired(absl::Now())) {
    return absl::DeadlineExceededError("sandbox processor: the caller's deadline has passed");
  }
  if (payment_method_token == kSuccessToken) return Accepted("auth", idempotency_key);
  if (payment_method_token == kDeclineToken) return Declined(DeclineCode::kDeclined);
  if (payment_method_token == kInsufficientFundsToken) {
    return Declined(DeclineCode::kInsufficientFunds);
  }
  if (payment_method_token == kProcessorErrorToken) {
    return absl::UnavailableError("sandbox processor: simulated processor error");
  }
  if (payment_method_token == kTimeoutToken) {
    return absl::DeadlineExceededError("sandbox processor: simulated timeout");
  }
  return Declined(DeclineCode::kInvalidPaymentMethod);
}

absl::StatusOr<ProcessorResult> SandboxProcessor::Capture(const std::string& idempotency_key,
                                                          const std::string&,
                                                          const common::Money&,
                                                          const common::CallOrigin& origin) {
  if (origin.Expired(absl::Now())) {
    return absl::DeadlineExceededError("sandbox processor: the caller's deadline has passed");
  }
  return Accepted("capture", idempotency_key);
}

absl::StatusOr<ProcessorResult> SandboxProcessor::Refund(const std::string& idempotency_key,
                                                         const std::string&, const common::Money&) {
  return Accepted("refund", idempotency_key);
}

absl::StatusOr<ProcessorResult> SandboxProcessor::Payout(const std::string& idempotency_key,
                                                         const std::string&, const common::Money&) {
  return Accepted("payout", idempotency_key);
}

}  // namespace marketplace::payments
