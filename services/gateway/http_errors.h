#ifndef MARKETPLACE_SERVICES_GATEWAY_HTTP_ERRORS_H_
#define MARKETPLACE_SERVICES_GATEWAY_HTTP_ERRORS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace marketplace::gateway {

// The HTTP status of a google.rpc.Code: INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
// 400; UNAUTHENTICATED 401; PERMISSION_DENIED 403; NOT_FOUND 404; ALREADY_EXISTS, ABORTED 409;
// RESOURCE_EXHAUSTED 429; CANCELLED 499; UNIMPLEMENTED 501; UNAVAILABLE 503;
// DEADLINE_EXCEEDED 504; OK 200; any other 500.
int HttpStatusForCode(int grpc_code);

// "INVALID_ARGUMENT", ... ("UNKNOWN" for a number outside google.rpc.Code).
std::string CodeName(int grpc_code);

// An error in the AIP-193 shape:
//   {"error": {"code": <HTTP status>, "message": "...", "status": "INVALID_ARGUMENT",
//              "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", ...}]}}
struct ErrorReply {
  int http_status = 500;
  std::string body;  // the JSON above
};

// From a backend's status; details from its grpc-status-details-bin (a google.rpc.Status),
// each Any in proto3 JSON form with its "@type" (an unknown type keeps only "@type").
ErrorReply FromGrpcStatus(const grpc::Status& status);

// An error the gateway makes itself, with the same shape: `violations` become a
// google.rpc.BadRequest, `reason` (UPPER_SNAKE_CASE, domain "marketplace") an ErrorInfo.
// `http_status` other than 0 replaces the code's status (405, 413, 431).
ErrorReply GatewayError(grpc::StatusCode code, absl::string_view message,
                        const std::vector<std::pair<std::string, std::string>>& violations = {},
                        absl::string_view reason = "", int http_status = 0);

// `text` as a JSON string literal, quotes included (control characters, '"', '\\' and
// '<', '>' escaped; bytes that are not UTF-8 become U+FFFD).
std::string JsonQuote(absl::string_view text);

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_HTTP_ERRORS_H_
