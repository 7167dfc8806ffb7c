// Sample HTTP exchanges generated from a route alone, for the golden tests (golden_test.cc),
// the round-trip test (api_test.cc) and the fuzz seeds: no per-method code, so a new annotated
// method is covered as soon as it is in the descriptor set.
#ifndef MARKETPLACE_SERVICES_GATEWAY_GOLDEN_H_
#define MARKETPLACE_SERVICES_GATEWAY_GOLDEN_H_

#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "services/gateway/api.h"
#include "services/gateway/transcoder.h"

namespace marketplace::gateway {

// A request path made from the route's template: literals as written, each variable one value
// per segment ("v<k>" for strings, "7" for numbers, the second value's name for enums), the
// verb appended. `values` receives each variable's value as the transcoder must set it.
std::string SamplePath(const Route& route, std::vector<std::string>* values);

// Sets every field of `message` to a value derived from its name and type, `depth` levels
// deep: strings "<name>-1", numbers 7, bools true, enums their second value, one element per
// repeated field and map, the first field of each oneof, well-known types with a fixed valid
// value (Timestamp 2026-01-02T03:04:05Z, Duration 60s, FieldMask the message's first field,
// wrappers their value). google.protobuf.Any, Struct, Value and ListValue stay empty.
void FillSample(google::protobuf::Message* message, int depth);

// One generated exchange for a route.
struct GoldenExchange {
  std::string http_request;   // "<METHOD> <path>[?query]\n<body JSON or empty>"
  std::string grpc_request;   // the transcoded request in text format (or the error reply)
  std::string json_response;  // a filled response message converted to JSON
};

// The request: path from SamplePath; the body (body "*": the filled request without the
// path-bound fields; body "<field>": that field filled) as JSON; without a body the filled
// request's top-level scalar fields that the path does not bind as query parameters.
GoldenExchange MakeGoldenExchange(const Api& api, const Transcoder& transcoder,
                                  const Route& route);

// The text written to and compared with a golden file.
std::string GoldenText(const Route& route, const GoldenExchange& exchange);

// The golden file's name for a route: "<method full name>.<binding>.golden".
std::string GoldenFileName(const Route& route);

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_GOLDEN_H_
