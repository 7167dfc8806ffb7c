#ifndef MARKETPLACE_COMMON_STATUS_MAPPING_H_
#define MARKETPLACE_COMMON_STATUS_MAPPING_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace marketplace::common {

// The one edge between absl::Status (the domain's errors, common/errors.h) and grpc::Status
// (the wire). Payloads become google.rpc.Status details and back.

// absl::Status -> grpc::Status with a serialized google.rpc.Status in the error details.
grpc::Status ToGrpcStatus(const absl::Status& status);

// grpc::Status -> absl::Status, keeping the details (used by clients of other services).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_STATUS_MAPPING_H_
