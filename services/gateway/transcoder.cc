#include "services/gateway/transcoder.h"

#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/text.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "google/protobuf/wire_format_lite.h"
#include "services/gateway/path_template.h"

namespace marketplace::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
constexpr char kTypeUrlPrefix[] = "type.googleapis.com";

std::string TypeUrl(const Descriptor* d) { return absl::StrCat(kTypeUrlPrefix, "/", d->full_name()); }

ErrorReply BadRequest(absl::string_view field, absl::string_view rule) {
  return GatewayError(grpc::INVALID_ARGUMENT, absl::StrCat(field, ": ", rule),
                      {{std::string(field), std::string(rule)}});
}

bool IsQuotedWellKnown(const std::string& name) {
  static const std::set<std::string>* const kTypes = new std::set<std::string>{
      "google.protobuf.Timestamp",   "google.protobuf.Duration",   "google.protobuf.FieldMask",
      "google.protobuf.StringValue", "google.protobuf.BytesValue", "google.protobuf.Int64Value",
      "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
      "google.protobuf.DoubleValue", "google.protobuf.FloatValue"};
  return kTypes->count(name) > 0;
}

// `value` wrapped in the objects of `path`: {"a":{"b":value}}.
std::string Wrap(const FieldPath& path, const std::string& value) {
  std::string out;
  for (const FieldDescriptor* f : path.fields) absl::StrAppend(&out, "{\"", f->name(), "\":");
  out += value;
  out.append(path.fields.size(), '}');
  return out;
}

using PbStatus = google::protobuf::util::Status;

std::string JsonErrorText(const PbStatus& s) {
  return std::string(s.message().data(), s.message().size());
}

// Does `a` start with `b` (or `b` with `a`)? Then they set the same field.
bool Overlaps(const FieldPath& a, const FieldPath& b) {
  const size_t n = std::min(a.fields.size(), b.fields.size());
  for (size_t i = 0; i < n; ++i) {
    if (a.fields[i] != b.fields[i]) return false;
  }
  return true;
}

}  // namespace

bool ParseQuery(absl::string_view query, std::vector<std::pair<std::string, std::string>>* out,
                std::string* bad) {
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    const std::string raw_name = kv.first;
    for (std::string* s : {&kv.first, &kv.second}) {
      for (char& c : *s) {
        if (c == '+') c = ' ';
      }
      auto decoded = PercentDecode(*s, /*keep_slash=*/false);
      if (!decoded.ok() || !common::IsValidUtf8(*decoded)) {
        // The parameter's name: decoded when the name itself decodes, else as sent.
        *bad = s == &kv.second ? kv.first : raw_name;
        if (bad->empty() || !common::IsValidUtf8(*bad)) *bad = "query";
        return false;
      }
      *s = *std::move(decoded);
    }
    out->push_back(std::move(kv));
  }
  return true;
}

Transcoder::Transcoder(const Api* api, bool allow_unknown_fields)
    : api_(api),
      allow_unknown_fields_(allow_unknown_fields),
      resolver_(google::protobuf::util::NewTypeResolverForDescriptorPool(kTypeUrlPrefix,
                                                                         &api->pool())),
      factory_(&api->pool()) {}

Transcoder::~Transcoder() = default;

absl::StatusOr<std::string> Transcoder::ScalarJson(const FieldDescriptor* leaf,
                                                   absl::string_view text) {
  if (!common::IsValidUtf8(text)) return absl::InvalidArgumentError("must be valid UTF-8");
  switch (leaf->type()) {
    case FieldDescriptor::TYPE_BOOL:
      if (text == "true" || text == "false") return std::string(text);
      return absl::InvalidArgumentError("must be true or false");
    case FieldDescriptor::TYPE_ENUM: {
      if (leaf->enum_type()->FindValueByName(std::string(text)) != nullptr) return JsonQuote(text);
      int number;
      if (absl::SimpleAtoi(text, &number) && std::to_string(number) == text) return std::string(text);
      return absl::InvalidArgumentError(
          absl::StrCat("must be a value of ", leaf->enum_type()->full_name(), " (name or number)"));
    }
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP: {
      const std::string& type = leaf->message_type()->full_name();
      if (type == "google.protobuf.BoolValue") {
        if (text == "true" || text == "false") return std::string(text);
        return absl::InvalidArgumentError("must be true or false");
      }
      if (IsQuotedWellKnown(type)) return JsonQuote(text);
      return absl::InvalidArgumentError(
          absl::StrCat("is a message (", type, "); set its fields one by one"));
    }
    default:
      // Strings, bytes (base64) and every number: proto3 JSON takes them quoted and checks them.
      return JsonQuote(text);
  }
}

std::optional<ErrorReply> Transcoder::SetField(const Descriptor* message, const FieldPath& path,
                                               absl::string_view value, absl::string_view name,
                                               std::string* out) const {
  const FieldDescriptor* leaf = path.fields.back();
  auto json = ScalarJson(leaf, value);
  if (!json.ok()) return BadRequest(name, json.status().message());
  const std::string doc = Wrap(path, leaf->is_repeated() ? absl::StrCat("[", *json, "]") : *json);
  std::string binary;
  google::protobuf::util::JsonParseOptions options;
  const PbStatus s = google::protobuf::util::JsonToBinaryString(
      resolver_.get(), TypeUrl(message), doc, &binary, options);
  if (!s.ok()) return BadRequest(name, absl::StrCat("bad value: ", JsonErrorText(s)));
  out->append(binary);
  return std::nullopt;
}

std::optional<ErrorReply> Transcoder::BodyBinary(const Route& route, absl::string_view body,
                                                 std::string* out) const {
  if (route.body.empty()) return std::nullopt;
  const Descriptor* input = route.method->input_type();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = allow_unknown_fields_;
  if (route.body == "*") {
    const absl::string_view json = body.empty() ? absl::string_view("{}") : body;
    const PbStatus s = google::protobuf::util::JsonToBinaryString(
        resolver_.get(), TypeUrl(input), std::string(json), out, options);
    if (!s.ok()) return BadRequest("body", absl::StrCat("bad JSON: ", JsonErrorText(s)));
    return std::nullopt;
  }
  if (body.empty()) return std::nullopt;
  const FieldDescriptor* field = route.body_field;
  if (!field->is_repeated() && field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    // The body is the field's message: converted alone, then framed as that field.
    std::string inner;
    const PbStatus s = google::protobuf::util::JsonToBinaryString(
        resolver_.get(), TypeUrl(field->message_type()), std::string(body), &inner, options);
    if (!s.ok()) return BadRequest("body", absl::StrCat("bad JSON: ", JsonErrorText(s)));
    google::protobuf::io::StringOutputStream stream(out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.WriteTag(google::protobuf::internal::WireFormatLite::MakeTag(
        field->number(), google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
    coded.WriteVarint32(static_cast<uint32_t>(inner.size()));
    coded.WriteRaw(inner.data(), static_cast<int>(inner.size()));
    return std::nullopt;
  }
  // Any other field kind: {"field": body}, then checked to have set nothing else.
  std::string binary;
  const std::string doc = absl::StrCat("{\"", field->name(), "\":", body, "}");
  const PbStatus s = google::protobuf::util::JsonToBinaryString(
      resolver_.get(), TypeUrl(input), doc, &binary, options);
  if (!s.ok()) return BadRequest("body", absl::StrCat("bad JSON: ", JsonErrorText(s)));
  std::unique_ptr<google::protobuf::Message> check(factory_.GetPrototype(input)->New());
  std::vector<const FieldDescriptor*> set;
  if (check->ParseFromString(binary)) check->GetReflection()->ListFields(*check, &set);
  if (set.size() > 1 || (set.size() == 1 && set[0] != field)) {
    return BadRequest("body", absl::StrCat("must be one JSON value for '", field->name(), "'"));
  }
  out->append(binary);
  return std::nullopt;
}

std::optional<ErrorReply> Transcoder::BuildRequest(const Route& route,
                                                   const std::vector<std::string>& path_values,
                                                   absl::string_view query, absl::string_view body,
                                                   std::string* out) const {
  const Descriptor* input = route.method->input_type();
  out->clear();
  if (auto e = BodyBinary(route, body, out)) return e;

  std::vector<std::pair<std::string, std::string>> params;
  std::string bad;
  if (!ParseQuery(query, &params, &bad)) {
    return BadRequest(bad, "is not percent-encoded UTF-8");
  }
  for (const auto& [key, value] : params) {
    const std::string name = key;
    if (route.body == "*") {
      return BadRequest(name, "not accepted: this method takes every field from the body");
    }
    auto path = Api::ResolveField(input, key);
    if (!path.ok()) return BadRequest(name, "not a field of the request");
    const FieldDescriptor* leaf = path->fields.back();
    if (leaf->is_map() ||
        (leaf->is_repeated() && leaf->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)) {
      return BadRequest(name, "a repeated message or map field cannot be set from the query");
    }
    if (route.body_field != nullptr && path->fields.front() == route.body_field) {
      return BadRequest(name, "bound by the body");
    }
    for (const FieldPath& bound : route.path_fields) {
      if (Overlaps(bound, *path)) return BadRequest(name, "bound by the path");
    }
    if (auto e = SetField(input, *path, value, name, out)) return e;
  }
  for (size_t i = 0; i < route.path_fields.size() && i < path_values.size(); ++i) {
    if (auto e = SetField(input, route.path_fields[i], path_values[i], route.path_fields[i].text, out)) {
      return e;
    }
  }
  return std::nullopt;
}

std::optional<ErrorReply> Transcoder::ResponseToJson(const Route& route, const std::string& binary,
                                                     std::string* json) const {
  google::protobuf::util::JsonPrintOptions options;
  const Descriptor* output = route.method->output_type();
  json->clear();
  PbStatus s;
  if (route.response_field == nullptr) {
    s = google::protobuf::util::BinaryToJsonString(resolver_.get(), TypeUrl(output), binary, json,
                                                   options);
  } else {
    std::unique_ptr<google::protobuf::Message> message(factory_.GetPrototype(output)->New());
    if (!message->ParseFromString(binary)) {
      s = PbStatus(google::protobuf::util::StatusCode::kInternal, "response does not parse");
    } else {
      const auto& part = message->GetReflection()->GetMessage(*message, route.response_field);
      s = google::protobuf::util::BinaryToJsonString(
          resolver_.get(), TypeUrl(route.response_field->message_type()),
          part.SerializeAsString(), json, options);
    }
  }
  if (!s.ok()) {
    return GatewayError(grpc::INTERNAL, "internal error: the gateway could not convert the response");
  }
  return std::nullopt;
}

}  // namespace marketplace::gateway
