#ifndef MARKETPLACE_COMMON_SERVER_REQUEST_PARSING_H_
#define MARKETPLACE_COMMON_SERVER_REQUEST_PARSING_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"

namespace marketplace::common {

// gRPC's callback API answers a request its message type cannot parse (a proto3 string field
// with invalid UTF-8, truncated bytes) UNIMPLEMENTED with an empty message, before any of our
// code runs. CheckRequestParsing(service) wraps each unary callback method of `service` so that
// such a call reaches the service's handler with the failure attached instead: UnaryRunner
// (unary_call.h) then answers it with TakeRequestParseFailure()'s status and runs nothing.
// Call it before the service is registered (Server::Start does, for every service it serves);
// every method of `service` must go through UnaryRunner.
void CheckRequestParsing(grpc::Service* service);

// The parse failure of the call whose service method runs on this thread right now (inside
// the method's gRPC handler), taken once: UnaryRunner calls it as it starts a call.
std::optional<absl::Status> TakeRequestParseFailure();

// Why `bytes` do not parse as `type`: INVALID_ARGUMENT with a google.rpc.BadRequest naming
// each string field whose value is not valid UTF-8 by its path ("title",
// "items[2].name", "labels[color]"), rule "must be valid UTF-8"; or, when the bytes are not a
// message at all, the field "request" with "must be a serialized <type full name>".
absl::Status DescribeParseFailure(const google::protobuf::Descriptor& type,
                                  absl::string_view bytes);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_SERVER_REQUEST_PARSING_H_
