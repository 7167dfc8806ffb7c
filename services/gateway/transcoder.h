#ifndef MARKETPLACE_SERVICES_GATEWAY_TRANSCODER_H_
#define MARKETPLACE_SERVICES_GATEWAY_TRANSCODER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/type_resolver.h"
#include "services/gateway/api.h"
#include "services/gateway/http_errors.h"

namespace marketplace::gateway {

// HTTP/JSON <-> protobuf binary for the routes of one Api, through one TypeResolver over its
// pool (built once; safe to share between threads).
//
// A request message is assembled from three parts, serialized one after the other (protobuf
// merges them: a singular field takes the last value, repeated fields append):
//   1. the body: with body "*" the JSON object is the whole request; with body "<field>" it is
//      that field's value; without body a request body is ignored;
//   2. the query string (without body "*"): `a.b.c=value` sets a field by its dotted path of
//      proto or lowerCamelCase names; a repeated scalar takes one value per repetition; enums
//      by name or number; bools `true`/`false`; int64, bytes (base64), Timestamp (RFC 3339),
//      Duration ("1.5s"), FieldMask and wrappers as in proto3 JSON. A repeated message, a map,
//      a message that is not one of those well-known types, a field bound by the path or the
//      body, or an unknown name is refused naming the parameter;
//   3. the path variables.
// Every refusal is INVALID_ARGUMENT (HTTP 400) with a google.rpc.BadRequest naming the
// parameter, the body or the path field.
class Transcoder {
 public:
  // `allow_unknown_fields`: unknown JSON body fields are dropped instead of refused.
  Transcoder(const Api* api, bool allow_unknown_fields);
  ~Transcoder();

  // The request's binary form in `out`, or the error to answer.
  std::optional<ErrorReply> BuildRequest(const Route& route,
                                         const std::vector<std::string>& path_values,
                                         absl::string_view query, absl::string_view body,
                                         std::string* out) const;

  // The response's JSON (response_body honoured): lowerCamelCase names, enums by name, int64
  // as strings, default values omitted.
  std::optional<ErrorReply> ResponseToJson(const Route& route, const std::string& binary,
                                           std::string* json) const;

  // The value of `leaf` as a proto3 JSON value for `text` from a path or a query string.
  static absl::StatusOr<std::string> ScalarJson(const google::protobuf::FieldDescriptor* leaf,
                                                absl::string_view text);

 private:
  std::optional<ErrorReply> SetField(const google::protobuf::Descriptor* message,
                                     const FieldPath& path, absl::string_view value,
                                     absl::string_view name, std::string* out) const;
  std::optional<ErrorReply> BodyBinary(const Route& route, absl::string_view body,
                                       std::string* out) const;

  const Api* api_;
  bool allow_unknown_fields_;
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver_;
  mutable google::protobuf::DynamicMessageFactory factory_;
};

// The query string's parameters, '+' and percent-escapes decoded; false if one is malformed
// (`bad` names it).
bool ParseQuery(absl::string_view query, std::vector<std::pair<std::string, std::string>>* out,
                std::string* bad);

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_TRANSCODER_H_
