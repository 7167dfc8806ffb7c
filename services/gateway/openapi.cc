#include "services/gateway/openapi.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "nlohmann/json.hpp"

namespace marketplace::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using json = nlohmann::ordered_json;

template <typename D>
std::string Comment(const D* d) {
  google::protobuf::SourceLocation loc;
  if (!d->GetSourceLocation(&loc)) return "";
  return std::string(absl::StripAsciiWhitespace(loc.leading_comments));
}

std::string SchemaName(const std::string& full_name) { return full_name; }

std::string Ref(const std::string& full_name) {
  return "#/components/schemas/" + SchemaName(full_name);
}

class Builder {
 public:
  json FieldSchema(const FieldDescriptor* f) {
    if (f->is_map()) {
      json s = {{"type", "object"}};
      s["additionalProperties"] = ValueSchema(f->message_type()->map_value());
      return s;
    }
    json value = ValueSchema(f);
    if (f->is_repeated()) return json{{"type", "array"}, {"items", value}};
    return value;
  }

  // The schema of one value of `f` (ignoring repetition).
  json ValueSchema(const FieldDescriptor* f) {
    switch (f->type()) {
      case FieldDescriptor::TYPE_STRING: return {{"type", "string"}};
      case FieldDescriptor::TYPE_BYTES: return {{"type", "string"}, {"format", "byte"}};
      case FieldDescriptor::TYPE_BOOL: return {{"type", "boolean"}};
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32: return {{"type", "integer"}, {"format", "int32"}};
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32: return {{"type", "integer"}, {"format", "int64"}};
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64: return {{"type", "string"}, {"format", "int64"}};
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64: return {{"type", "string"}, {"format", "uint64"}};
      case FieldDescriptor::TYPE_FLOAT: return {{"type", "number"}, {"format", "float"}};
      case FieldDescriptor::TYPE_DOUBLE: return {{"type", "number"}, {"format", "double"}};
      case FieldDescriptor::TYPE_ENUM: return {{"$ref", Ref(EnumSchema(f->enum_type()))}};
      default: return MessageRef(f->message_type());
    }
  }

  json MessageRef(const Descriptor* d) {
    const std::string& n = d->full_name();
    if (n == "google.protobuf.Timestamp") return {{"type", "string"}, {"format", "date-time"}};
    if (n == "google.protobuf.Duration") return {{"type", "string"}, {"example", "1.5s"}};
    if (n == "google.protobuf.FieldMask") return {{"type", "string"}, {"example", "title,price"}};
    if (n == "google.protobuf.Struct" || n == "google.protobuf.Any") return {{"type", "object"}};
    if (n == "google.protobuf.Value") return json::object();
    if (n == "google.protobuf.Empty") return {{"type", "object"}};
    if (absl::StartsWith(n, "google.protobuf.") && absl::EndsWith(n, "Value")) {
      json s = ValueSchema(d->FindFieldByName("value"));
      s["nullable"] = true;
      return s;
    }
    Message(d);
    return {{"$ref", Ref(n)}};
  }

  void Message(const Descriptor* d) {
    if (schemas_.contains(SchemaName(d->full_name())) || pending_.count(d->full_name())) return;
    pending_.insert(d->full_name());
    json properties = json::object();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      json s = FieldSchema(f);
      const std::string c = Comment(f);
      if (!c.empty()) {
        if (s.contains("$ref")) s = json{{"allOf", json::array({s})}};
        s["description"] = c;
      }
      properties[f->json_name()] = s;
    }
    json schema = {{"type", "object"}, {"properties", properties}};
    const std::string c = Comment(d);
    if (!c.empty()) schema["description"] = c;
    schemas_[SchemaName(d->full_name())] = schema;
  }

  std::string EnumSchema(const EnumDescriptor* e) {
    if (!schemas_.contains(SchemaName(e->full_name()))) {
      json values = json::array();
      for (int i = 0; i < e->value_count(); ++i) values.push_back(e->value(i)->name());
      json schema = {{"type", "string"}, {"enum", values}};
      const std::string c = Comment(e);
      if (!c.empty()) schema["description"] = c;
      schemas_[SchemaName(e->full_name())] = schema;
    }
    return e->full_name();
  }

  // Query parameters: every scalar, enum, repeated scalar and query-able well-known field not
  // bound elsewhere, by its dotted path of JSON names.
  void QueryParameters(const Descriptor* d, const std::string& prefix, const Route& route,
                       std::vector<const FieldDescriptor*>& chain, json& out, int depth) {
    if (depth > 3) return;
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      chain.push_back(f);
      bool bound = route.body_field != nullptr && chain.front() == route.body_field;
      for (const FieldPath& p : route.path_fields) {
        bool same = p.fields.size() <= chain.size();
        for (size_t k = 0; same && k < p.fields.size(); ++k) same = p.fields[k] == chain[k];
        bound |= same;
      }
      const std::string name = prefix + f->json_name();
      if (!bound && !f->is_map()) {
        const bool message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
        const json value = message ? MessageRef(f->message_type()) : ValueSchema(f);
        if (message && value.contains("$ref")) {
          if (!f->is_repeated()) {
            QueryParameters(f->message_type(), name + ".", route, chain, out, depth + 1);
          }
        } else if (!(message && f->is_repeated())) {
          json p = {{"name", name}, {"in", "query"}, {"required", false}};
          p["schema"] = f->is_repeated() ? json{{"type", "array"}, {"items", value}} : value;
          if (f->is_repeated()) {
            p["style"] = "form";
            p["explode"] = true;
          }
          const std::string c = Comment(f);
          if (!c.empty()) p["description"] = c;
          out.push_back(p);
        }
      }
      chain.pop_back();
    }
  }

  json schemas_ = json::object();
  std::set<std::string> pending_;
};

// The OpenAPI path of a route, its path parameters appended to `params`.
std::string FlatPath(const Route& route, Builder& b, json& params) {
  std::string out;
  size_t segment = 0;
  for (size_t v = 0; v <= route.path.variables.size(); ++v) {
    const size_t until = v < route.path.variables.size()
                             ? static_cast<size_t>(route.path.variables[v].first_segment)
                             : route.path.segments.size();
    for (; segment < until; ++segment) {
      const PathSegment& s = route.path.segments[segment];
      out += "/" + (s.kind == PathSegment::kLiteral ? s.literal : std::string("{segment") +
                                                                      std::to_string(segment) + "}");
      if (s.kind != PathSegment::kLiteral) {
        params.push_back({{"name", "segment" + std::to_string(segment)}, {"in", "path"},
                          {"required", true}, {"schema", {{"type", "string"}}}});
      }
    }
    if (v == route.path.variables.size()) break;
    const PathVariable& var = route.path.variables[v];
    const FieldPath& field = route.path_fields[v];
    const FieldDescriptor* leaf = field.fields.back();
    std::string description = Comment(leaf);
    if (var.single_segment) {
      out += "/{" + field.text + "}";
      json p = {{"name", field.text}, {"in", "path"}, {"required", true},
                {"schema", b.ValueSchema(leaf)}};
      if (!description.empty()) p["description"] = description;
      params.push_back(p);
    } else {
      std::vector<std::string> shape;
      std::string previous = field.fields.back()->name();
      for (int k = var.first_segment; k < var.end_segment; ++k) {
        const PathSegment& s = route.path.segments[k];
        if (s.kind == PathSegment::kLiteral) {
          out += "/" + s.literal;
          shape.push_back(s.literal);
          previous = s.literal;
          continue;
        }
        const std::string name = absl::StrCat(previous, "Id");
        out += "/{" + name + "}";
        shape.push_back("{" + name + "}");
        json p = {{"name", name}, {"in", "path"}, {"required", true},
                  {"schema", {{"type", "string"}}},
                  {"description", absl::StrCat("Part of `", field.text, "` = `",
                                               absl::StrJoin(shape, "/"), "...`. ", description)}};
        params.push_back(p);
      }
    }
    segment = var.end_segment;
  }
  if (!route.path.verb.empty()) out += ":" + route.path.verb;
  return out;
}

}  // namespace

std::string BuildOpenApi(const Api& api) {
  Builder b;
  json paths = json::object();
  std::set<std::string> services;
  for (const Route& route : api.routes()) {
    services.insert(route.service);
    json params = json::array();
    const std::string path = FlatPath(route, b, params);
    if (route.body != "*") {
      std::vector<const FieldDescriptor*> chain;
      b.QueryParameters(route.method->input_type(), "", route, chain, params, 0);
    }
    std::string method = route.http_method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    json op;
    op["operationId"] = absl::StrCat(route.method->service()->name(), "_", route.method->name(),
                                     route.binding == 0 ? "" : absl::StrCat("_", route.binding));
    op["tags"] = json::array({route.method->service()->name()});
    const std::string c = Comment(route.method);
    if (!c.empty()) {
      op["summary"] = c.substr(0, c.find('.') == std::string::npos ? c.size() : c.find('.') + 1);
      op["description"] = c;
    }
    op["parameters"] = params;
    if (!route.body.empty()) {
      const json schema = route.body == "*" ? b.MessageRef(route.method->input_type())
                                            : b.FieldSchema(route.body_field);
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", schema}}}}}};
    }
    const json response = route.response_field != nullptr
                              ? b.MessageRef(route.response_field->message_type())
                              : b.MessageRef(route.method->output_type());
    op["responses"] = {
        {"200", {{"description", "OK"}, {"content", {{"application/json", {{"schema", response}}}}}}},
        {"default",
         {{"description", "An error (AIP-193)"},
          {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}};
    op["security"] = json::array({json{{"bearerAuth", json::array()}}});
    paths[path][method] = op;
  }
  b.schemas_["Error"] = {
      {"type", "object"},
      {"properties",
       {{"error",
         {{"type", "object"},
          {"properties",
           {{"code", {{"type", "integer"}, {"description", "The HTTP status."}}},
            {"message", {{"type", "string"}}},
            {"status", {{"type", "string"}, {"description", "The google.rpc.Code name."}}},
            {"details",
             {{"type", "array"},
              {"items",
               {{"type", "object"},
                {"properties", {{"@type", {{"type", "string"}}}}},
                {"additionalProperties", true},
                {"description", "google.rpc.BadRequest, google.rpc.ErrorInfo, ..."}}}}}}}}}}}};
  json doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = {{"title", "Marketplace API"},
                 {"version", "v1"},
                 {"description", absl::StrCat("HTTP/JSON transcoding of ", absl::StrJoin(services, ", "),
                                              " (google.api.http).")}};
  doc["paths"] = paths;
  doc["components"] = {{"schemas", b.schemas_},
                       {"securitySchemes",
                        {{"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}}}}};
  return doc.dump(2);
}

}  // namespace marketplace::gateway
