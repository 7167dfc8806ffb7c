#include "services/gateway/api.h"

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"

namespace marketplace::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

struct Binding {
  std::string method;
  std::string path;
  std::string body;
  std::string response_body;
};

bool ToBinding(const google::api::HttpRule& rule, Binding* out) {
  out->body = rule.body();
  out->response_body = rule.response_body();
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet: *out = {"GET", rule.get(), rule.body(), rule.response_body()}; return true;
    case google::api::HttpRule::kPut: *out = {"PUT", rule.put(), rule.body(), rule.response_body()}; return true;
    case google::api::HttpRule::kPost: *out = {"POST", rule.post(), rule.body(), rule.response_body()}; return true;
    case google::api::HttpRule::kDelete: *out = {"DELETE", rule.delete_(), rule.body(), rule.response_body()}; return true;
    case google::api::HttpRule::kPatch: *out = {"PATCH", rule.patch(), rule.body(), rule.response_body()}; return true;
    case google::api::HttpRule::kCustom:
      *out = {rule.custom().kind(), rule.custom().path(), rule.body(), rule.response_body()};
      return !out->method.empty();
    default: return false;
  }
}

}  // namespace

absl::StatusOr<FieldPath> Api::ResolveField(const Descriptor* message, absl::string_view dotted) {
  FieldPath path;
  path.text = std::string(dotted);
  const Descriptor* current = message;
  for (absl::string_view part : absl::StrSplit(dotted, '.')) {
    if (current == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", dotted, "': '", path.fields.back()->name(), "' is not a message"));
    }
    if (!path.fields.empty() && (path.fields.back()->is_repeated())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", dotted, "': '", path.fields.back()->name(), "' is repeated or a map"));
    }
    const FieldDescriptor* f = current->FindFieldByName(std::string(part));
    if (f == nullptr) f = current->FindFieldByCamelcaseName(std::string(part));
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", dotted, "': ", current->full_name(), " has no field '", part, "'"));
    }
    path.fields.push_back(f);
    current = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ? f->message_type() : nullptr;
  }
  return path;
}

absl::StatusOr<std::unique_ptr<Api>> Api::Load(const std::string& descriptor_set_path,
                                               const std::map<std::string, std::string>& backends,
                                               bool all_services) {
  std::ifstream in(descriptor_set_path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("descriptor_set: cannot read '", descriptor_set_path, "'"));
  }
  std::stringstream data;
  data << in.rdbuf();
  google::protobuf::FileDescriptorSet set;
  if (!set.ParseFromString(data.str())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "descriptor_set: '", descriptor_set_path, "' is not a serialized FileDescriptorSet"));
  }
  return Build(set, backends, all_services);
}

absl::StatusOr<std::unique_ptr<Api>> Api::Build(
    const google::protobuf::FileDescriptorSet& set,
    const std::map<std::string, std::string>& backends, bool all_services) {
  std::unique_ptr<Api> api(new Api());
  for (const auto& file : set.file()) {
    if (api->pool_.BuildFile(file) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("descriptor_set: file '", file.name(), "' does not build (missing import?)"));
    }
  }
  std::set<std::string> known_services;
  for (const auto& file : set.file()) {
    const auto* fd = api->pool_.FindFileByName(file.name());
    for (int s = 0; s < fd->service_count(); ++s) {
      const auto* service = fd->service(s);
      known_services.insert(service->full_name());
      bool annotated = false;
      for (int m = 0; m < service->method_count(); ++m) {
        annotated |= service->method(m)->options().HasExtension(google::api::http);
      }
      if (!annotated) continue;
      auto backend = backends.find(service->full_name());
      if (backend == backends.end() && !all_services) {
        common::LogWarn("service not routed: no backend configured",
                        {{"grpc_service", service->full_name()}});
        continue;
      }
      const std::string address = backend == backends.end() ? "" : backend->second;
      for (int m = 0; m < service->method_count(); ++m) {
        if (absl::Status st = api->AddMethod(service->method(m), address); !st.ok()) {
          return st;
        }
      }
    }
  }
  for (const auto& [name, address] : backends) {
    if (!known_services.count(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("backends: '", name, "' is not a service of the descriptor set"));
    }
  }
  return api;
}

absl::Status Api::AddMethod(const MethodDescriptor* method, const std::string& backend) {
  const std::string name = method->full_name();
  if (!method->options().HasExtension(google::api::http)) return absl::OkStatus();
  if (method->client_streaming() || method->server_streaming()) {
    common::LogInfo("streaming method not routed", {{"grpc_method", name}});
    return absl::OkStatus();
  }
  const google::api::HttpRule& rule = method->options().GetExtension(google::api::http);
  std::vector<google::api::HttpRule> rules = {rule};
  for (const auto& extra : rule.additional_bindings()) rules.push_back(extra);
  for (size_t i = 0; i < rules.size(); ++i) {
    Binding b;
    if (!ToBinding(rules[i], &b)) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": an http rule without a pattern"));
    }
    Route r;
    r.name = name;
    r.service = method->service()->full_name();
    r.grpc_path = absl::StrCat("/", r.service, "/", method->name());
    r.backend = backend;
    r.method = method;
    r.http_method = b.method;
    r.binding = static_cast<int>(i);
    auto parsed = ParsePathTemplate(b.path);
    if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat(name, ": ", parsed.status().message()));
    r.path = *std::move(parsed);
    for (const PathVariable& v : r.path.variables) {
      auto field = ResolveField(method->input_type(), absl::StrJoin(v.field_path, "."));
      if (!field.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": path variable ", field.status().message()));
      }
      const FieldDescriptor* leaf = field->fields.back();
      if (leaf->is_repeated() || leaf->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, ": path variable '", field->text, "' (", leaf->full_name(),
            ") must be a singular scalar or enum field, not a repeated, map or message field"));
      }
      r.path_fields.push_back(*std::move(field));
    }
    r.body = b.body;
    if (!b.body.empty() && b.body != "*") {
      r.body_field = method->input_type()->FindFieldByName(b.body);
      if (r.body_field == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, ": body '", b.body, "' is not a field of ", method->input_type()->full_name()));
      }
    }
    if (!b.response_body.empty()) {
      r.response_field = method->output_type()->FindFieldByName(b.response_body);
      if (r.response_field == nullptr || r.response_field->is_repeated() ||
          r.response_field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        return absl::InvalidArgumentError(absl::StrCat(
            name, ": response_body '", b.response_body, "' must be a singular message field of ",
            method->output_type()->full_name()));
      }
    }
    const int id = static_cast<int>(routes_.size());
    const std::string label = r.binding == 0 ? name : absl::StrCat(name, " (additional binding ", r.binding, ")");
    if (absl::Status s = router_.Add(r.http_method, r.path, label, id); !s.ok()) return s;
    routes_.push_back(std::move(r));
  }
  return absl::OkStatus();
}

}  // namespace marketplace::gateway
