#include "services/gateway/http_errors.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/text.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace marketplace::gateway {
namespace {

const char* const kCodeNames[] = {
    "OK",        "CANCELLED",         "UNKNOWN",            "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",     "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL",     "UNAVAILABLE",        "DATA_LOSS",
    "UNAUTHENTICATED"};

std::string AnyJson(const google::protobuf::Any& any) {
  std::string json;
  if (google::protobuf::util::MessageToJsonString(any, &json).ok()) return json;
  return absl::StrCat("{\"@type\":", JsonQuote(any.type_url()), "}");
}

// `text` with each byte that is not part of valid UTF-8 replaced by U+FFFD: a field name or
// rule may quote what the client sent, and protobuf strings (and JSON) must be valid UTF-8.
std::string ValidUtf8(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t len = common::Utf8SequenceAt(text, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(text.data() + i, len);
    i += len;
  }
  return out;
}

ErrorReply Compose(int code, absl::string_view message, const std::vector<std::string>& details,
                   int http_status = 0) {
  ErrorReply reply;
  reply.http_status = http_status != 0 ? http_status : HttpStatusForCode(code);
  reply.body = absl::StrCat("{\"error\":{\"code\":", reply.http_status,
                            ",\"message\":", JsonQuote(message), ",\"status\":\"",
                            CodeName(code), "\",\"details\":[", absl::StrJoin(details, ","),
                            "]}}");
  return reply;
}

}  // namespace

int HttpStatusForCode(int code) {
  switch (code) {
    case grpc::OK: return 200;
    case grpc::INVALID_ARGUMENT:
    case grpc::FAILED_PRECONDITION:
    case grpc::OUT_OF_RANGE: return 400;
    case grpc::UNAUTHENTICATED: return 401;
    case grpc::PERMISSION_DENIED: return 403;
    case grpc::NOT_FOUND: return 404;
    case grpc::ALREADY_EXISTS:
    case grpc::ABORTED: return 409;
    case grpc::RESOURCE_EXHAUSTED: return 429;
    case grpc::CANCELLED: return 499;
    case grpc::UNIMPLEMENTED: return 501;
    case grpc::UNAVAILABLE: return 503;
    case grpc::DEADLINE_EXCEEDED: return 504;
    default: return 500;
  }
}

std::string CodeName(int code) {
  if (code < 0 || code > 16) return "UNKNOWN";
  return kCodeNames[code];
}

ErrorReply FromGrpcStatus(const grpc::Status& status) {
  std::vector<std::string> details;
  if (!status.error_details().empty()) {
    google::rpc::Status rich;
    if (rich.ParseFromString(status.error_details())) {
      for (const auto& any : rich.details()) details.push_back(AnyJson(any));
    }
  }
  return Compose(status.error_code(), status.error_message(), details);
}

ErrorReply GatewayError(grpc::StatusCode code, absl::string_view message,
                        const std::vector<std::pair<std::string, std::string>>& violations,
                        absl::string_view reason, int http_status) {
  std::vector<std::string> details;
  if (!violations.empty()) {
    google::rpc::BadRequest bad;
    for (const auto& [field, description] : violations) {
      auto* v = bad.add_field_violations();
      v->set_field(ValidUtf8(field));
      v->set_description(ValidUtf8(description));
    }
    google::protobuf::Any any;
    any.PackFrom(bad);
    details.push_back(AnyJson(any));
  }
  if (!reason.empty()) {
    google::rpc::ErrorInfo info;
    info.set_reason(ValidUtf8(reason));
    info.set_domain("marketplace");
    google::protobuf::Any any;
    any.PackFrom(info);
    details.push_back(AnyJson(any));
  }
  return Compose(code, message, details, http_status);
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '<': out += "\\u003c"; break;
        case '>': out += "\\u003e"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out += absl::StrFormat("\\u%04x", c);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: copied when well formed, else U+FFFD.
    int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = len > 0 && i + len <= text.size();
    for (int k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    }
    if (ok) {
      out.append(text.data() + i, len);
      i += len;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  out += "\"";
  return out;
}

}  // namespace marketplace::gateway
