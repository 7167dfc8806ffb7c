#ifndef MARKETPLACE_COMMON_IDEMPOTENCY_REQUEST_ID_H_
#define MARKETPLACE_COMMON_IDEMPOTENCY_REQUEST_ID_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace marketplace::common::idempotency {

// The client's side of request ids (AIP-155), for the API glue: no storage here.

// Who asked what: the key is unique per caller and method.
struct RequestKey {
  std::string caller;      // authenticated subject, 1-255 ASCII characters
  std::string method;      // full method name, "/marketplace.payments.v1.Payments/RefundPayment"
  std::string request_id;  // the client's idempotency key
};

// True for 1-128 characters of A-Z a-z 0-9 . _ : -
bool IsValidRequestId(absl::string_view request_id);
// INVALID_ARGUMENT naming `field` unless IsValidRequestId.
absl::Status ValidateRequestId(absl::string_view field, absl::string_view request_id);

// SHA-256 (32 raw bytes) of the deterministic serialization of `request`: what makes two
// requests with one request id "the same".
std::string RequestHash(const google::protobuf::Message& request);

}  // namespace marketplace::common::idempotency

#endif  // MARKETPLACE_COMMON_IDEMPOTENCY_REQUEST_ID_H_
