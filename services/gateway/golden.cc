#include "services/gateway/golden.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"

namespace marketplace::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int64_t kSampleSeconds = 1767323045;  // 2026-01-02T03:04:05Z

const google::protobuf::EnumValueDescriptor* SampleEnum(const FieldDescriptor* field) {
  const auto* type = field->enum_type();
  return type->value(type->value_count() > 1 ? 1 : 0);
}

bool IsWellKnown(const Descriptor* d, absl::string_view name) {
  return d->full_name() == absl::StrCat("google.protobuf.", name);
}

bool IsWrapper(const Descriptor* d) {
  return d->file()->name() == "google/protobuf/wrappers.proto";
}

bool LeftEmpty(const Descriptor* d) {
  return IsWellKnown(d, "Any") || IsWellKnown(d, "Struct") || IsWellKnown(d, "Value") ||
         IsWellKnown(d, "ListValue");
}

// A field of `parent` other than `self` whose name can stand in a FieldMask.
std::string MaskPath(const Descriptor* parent, const FieldDescriptor* self) {
  for (int i = 0; i < parent->field_count(); ++i) {
    if (parent->field(i) != self) return parent->field(i)->name();
  }
  return "name";
}

void SetScalar(Message* m, const FieldDescriptor* f) {
  const Reflection* r = m->GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string v = f->type() == FieldDescriptor::TYPE_BYTES ? std::string("\x01\x02\x03", 3)
                                                                     : f->name() + "-1";
      rep ? r->AddString(m, f, v) : r->SetString(m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT32:
      rep ? r->AddInt32(m, f, 7) : r->SetInt32(m, f, 7);
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      rep ? r->AddInt64(m, f, 7) : r->SetInt64(m, f, 7);
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      rep ? r->AddUInt32(m, f, 7) : r->SetUInt32(m, f, 7);
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      rep ? r->AddUInt64(m, f, 7) : r->SetUInt64(m, f, 7);
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      rep ? r->AddDouble(m, f, 7.5) : r->SetDouble(m, f, 7.5);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      rep ? r->AddFloat(m, f, 7.5f) : r->SetFloat(m, f, 7.5f);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      rep ? r->AddBool(m, f, true) : r->SetBool(m, f, true);
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      rep ? r->AddEnum(m, f, SampleEnum(f)) : r->SetEnum(m, f, SampleEnum(f));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
}

void FillWellKnown(Message* m, const FieldDescriptor* in_parent_field,
                   const Descriptor* parent) {
  const Descriptor* d = m->GetDescriptor();
  const Reflection* r = m->GetReflection();
  if (IsWellKnown(d, "Timestamp")) {
    r->SetInt64(m, d->FindFieldByName("seconds"), kSampleSeconds);
  } else if (IsWellKnown(d, "Duration")) {
    r->SetInt64(m, d->FindFieldByName("seconds"), 60);
  } else if (IsWellKnown(d, "FieldMask")) {
    r->AddString(m, d->FindFieldByName("paths"),
                 parent == nullptr ? "name" : MaskPath(parent, in_parent_field));
  } else if (IsWrapper(d)) {
    SetScalar(m, d->FindFieldByName("value"));
  }
}

void Fill(Message* m, int depth, const FieldDescriptor* in_parent_field,
          const Descriptor* parent) {
  const Descriptor* d = m->GetDescriptor();
  if (d->file()->package() == "google.protobuf") {
    FillWellKnown(m, in_parent_field, parent);
    return;
  }
  const Reflection* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->containing_oneof() != nullptr && f->index_in_oneof() != 0) continue;
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      SetScalar(m, f);
      continue;
    }
    const Descriptor* type = f->message_type();
    if (LeftEmpty(type)) continue;
    const bool well_known = type->file()->package() == "google.protobuf";
    if (!well_known && !f->is_map() && depth <= 0) continue;
    if (f->is_map()) {
      Message* entry = r->AddMessage(m, f);
      SetScalar(entry, type->map_key());
      const FieldDescriptor* value = type->map_value();
      if (value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (!LeftEmpty(value->message_type())) {
          Fill(entry->GetReflection()->MutableMessage(entry, value), depth - 1, value, type);
        }
      } else {
        SetScalar(entry, value);
      }
    } else if (f->is_repeated()) {
      Fill(r->AddMessage(m, f), depth - 1, f, d);
    } else {
      Fill(r->MutableMessage(m, f), depth - 1, f, d);
    }
  }
}

std::string ToJson(const Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  auto status = google::protobuf::util::MessageToJsonString(m, &json, options);
  if (!status.ok()) return absl::StrCat("<json error: ", status.ToString(), ">");
  return json;
}

bool BoundByPath(const Route& route, const FieldDescriptor* f) {
  for (const FieldPath& p : route.path_fields) {
    if (!p.fields.empty() && p.fields.front() == f) return true;
  }
  return false;
}

// A top-level field's sample as a query value, or "" when the query cannot carry it.
std::string QueryValue(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return f->type() == FieldDescriptor::TYPE_BYTES ? "AQID" : f->name() + "-1";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true";
    case FieldDescriptor::CPPTYPE_ENUM:
      return SampleEnum(f)->name();
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "7.5";
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Descriptor* t = f->message_type();
      if (f->is_repeated()) return "";
      if (IsWellKnown(t, "Timestamp")) return "2026-01-02T03:04:05Z";
      if (IsWellKnown(t, "Duration")) return "60s";
      return "";
    }
    default:
      return "7";
  }
}

}  // namespace

std::string SamplePath(const Route& route, std::vector<std::string>* values) {
  values->clear();
  std::string path;
  size_t segment = 0;
  for (size_t v = 0; v <= route.path.variables.size(); ++v) {
    const size_t until = v < route.path.variables.size()
                             ? static_cast<size_t>(route.path.variables[v].first_segment)
                             : route.path.segments.size();
    for (; segment < until; ++segment) {
      const PathSegment& s = route.path.segments[segment];
      path += "/" + (s.kind == PathSegment::kLiteral ? s.literal : "w" + std::to_string(segment));
    }
    if (v == route.path.variables.size()) break;
    const PathVariable& var = route.path.variables[v];
    const FieldDescriptor* leaf = route.path_fields[v].fields.back();
    std::string value;
    for (int k = var.first_segment; k < var.end_segment; ++k) {
      const PathSegment& s = route.path.segments[k];
      std::string part = s.kind == PathSegment::kLiteral ? s.literal : "v" + std::to_string(k);
      if (leaf->type() == FieldDescriptor::TYPE_ENUM) {
        part = SampleEnum(leaf)->name();
      } else if (leaf->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
        part = "7";
      }
      value += (value.empty() ? "" : "/") + part;
      path += "/" + part;
    }
    segment = var.end_segment;
    values->push_back(value);
  }
  if (!route.path.verb.empty()) path += ":" + route.path.verb;
  return path;
}

void FillSample(Message* message, int depth) { Fill(message, depth, nullptr, nullptr); }

GoldenExchange MakeGoldenExchange(const Api& api, const Transcoder& transcoder,
                                  const Route& route) {
  google::protobuf::DynamicMessageFactory factory(&api.pool());
  const Descriptor* input = route.method->input_type();
  std::unique_ptr<Message> filled(factory.GetPrototype(input)->New());
  FillSample(filled.get(), 2);

  std::vector<std::string> values;
  const std::string path = SamplePath(route, &values);
  std::string body;
  std::vector<std::string> query;
  if (route.body == "*") {
    for (const FieldPath& p : route.path_fields) {
      if (p.fields.size() == 1) filled->GetReflection()->ClearField(filled.get(), p.fields[0]);
    }
    body = ToJson(*filled);
  } else {
    if (route.body_field != nullptr) {
      const FieldDescriptor* f = route.body_field;
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated()) {
        body = ToJson(filled->GetReflection()->GetMessage(*filled, f));
      } else {
        body = "null";
      }
    }
    for (int i = 0; i < input->field_count(); ++i) {
      const FieldDescriptor* f = input->field(i);
      if (f == route.body_field || BoundByPath(route, f) || f->is_map()) continue;
      if (f->containing_oneof() != nullptr && f->index_in_oneof() != 0) continue;
      const std::string v = QueryValue(f);
      if (!v.empty()) query.push_back(absl::StrCat(f->name(), "=", v));
    }
  }
  GoldenExchange out;
  const std::string query_string = absl::StrJoin(query, "&");
  out.http_request = absl::StrCat(route.http_method, " ", path,
                                  query_string.empty() ? "" : "?", query_string, "\n", body);
  std::string binary;
  auto error = transcoder.BuildRequest(route, values, query_string, body, &binary);
  if (error.has_value()) {
    out.grpc_request = absl::StrCat("error: HTTP ", error->http_status, " ", error->body);
  } else {
    std::unique_ptr<Message> request(factory.GetPrototype(input)->New());
    if (!request->ParseFromString(binary)) {
      out.grpc_request = "error: the transcoded request does not parse";
    } else {
      google::protobuf::TextFormat::PrintToString(*request, &out.grpc_request);
    }
  }
  std::unique_ptr<Message> response(factory.GetPrototype(route.method->output_type())->New());
  FillSample(response.get(), 2);
  std::string json;
  auto response_error = transcoder.ResponseToJson(route, response->SerializeAsString(), &json);
  out.json_response =
      response_error.has_value() ? absl::StrCat("error: ", response_error->body) : json;
  return out;
}

std::string GoldenText(const Route& route, const GoldenExchange& exchange) {
  return absl::StrCat("# ", route.name, " (binding ", route.binding, ")\n",
                      "# HTTP request\n", exchange.http_request, "\n",
                      "# gRPC request ", route.grpc_path, "\n", exchange.grpc_request,
                      "# JSON response\n", exchange.json_response, "\n");
}

std::string GoldenFileName(const Route& route) {
  return absl::StrCat(route.name, ".", route.binding, ".golden");
}

}  // namespace marketplace::gateway
