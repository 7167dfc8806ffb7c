#include "common/server/request_parsing.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/logging.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpc/byte_buffer_reader.h"
#include "grpc/grpc.h"
#include "grpc/slice.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/impl/service_type.h"

namespace marketplace::common {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;
using grpc::internal::MethodHandler;
using grpc::internal::RpcServiceMethod;

// grpc::Service keeps its methods private and offers no way to wrap a handler it already has
// (SetHandler deletes the previous one). The one access used here is granted by an explicit
// template instantiation, where access checking does not apply ([temp.spec]); if gRPC renames
// the member this stops compiling, it does not misbehave.
using Methods = std::vector<std::unique_ptr<RpcServiceMethod>>;
struct ServiceMethodsTag {
  using type = Methods grpc::Service::*;
};
template <typename Tag, typename Tag::type kMember>
struct Expose {
  friend typename Tag::type MemberOf(Tag) { return kMember; }
};
ServiceMethodsTag::type MemberOf(ServiceMethodsTag);
template struct Expose<ServiceMethodsTag, &grpc::Service::methods_>;

thread_local const absl::Status* pending_failure = nullptr;

// Sets the failure TakeRequestParseFailure() sees while the wrapped handler runs.
class PendingFailureScope {
 public:
  explicit PendingFailureScope(const absl::Status* failure) : previous_(pending_failure) {
    pending_failure = failure;
  }
  ~PendingFailureScope() { pending_failure = previous_; }
  bool taken() const { return pending_failure == nullptr; }

 private:
  const absl::Status* previous_;
};

// What Deserialize leaves for RunHandler, in the call's arena.
struct HandlerData {
  void* inner = nullptr;             // the wrapped handler's own data
  absl::Status* failure = nullptr;   // heap; RunHandler deletes it
};

class ParseCheckingHandler final : public MethodHandler {
 public:
  ParseCheckingHandler(std::unique_ptr<RpcServiceMethod> original, const Descriptor* type)
      : original_(std::move(original)), inner_(original_->handler()), type_(type) {}

  void* Deserialize(grpc_call* call, grpc_byte_buffer* req, grpc::Status* status,
                    void** handler_data) override {
    auto* data = new (grpc_call_arena_alloc(call, sizeof(HandlerData))) HandlerData();
    *handler_data = data;
    // Parsing consumes (destroys) `req`; the copy shares its slices (no bytes are copied).
    grpc_byte_buffer* copy = req == nullptr ? nullptr : grpc_byte_buffer_copy(req);
    void* request = inner_->Deserialize(call, req, status, &data->inner);
    if (!status->ok() && copy != nullptr) {
      // The wrapped handler keeps its (partly filled) request and runs; the runner answers
      // the failure before the method's body can see it.
      data->failure = new absl::Status(Describe(copy));
    }
    if (copy != nullptr) grpc_byte_buffer_destroy(copy);
    return request;
  }

  void RunHandler(const HandlerParameter& param) override {
    auto* data = static_cast<HandlerData*>(param.internal_data);
    std::unique_ptr<absl::Status> failure(data == nullptr ? nullptr : data->failure);
    if (data != nullptr) data->failure = nullptr;
    HandlerParameter inner(param.call, param.server_context, param.request,
                           failure != nullptr ? grpc::Status::OK : param.status,
                           data == nullptr ? nullptr : data->inner, param.call_requester);
    PendingFailureScope scope(failure.get());
    inner_->RunHandler(inner);
    if (failure != nullptr && !scope.taken()) {
      LogError("a request that does not parse reached a handler outside UnaryRunner",
               {{"method", original_->name()}, {"error", failure->ToString()}});
    }
  }

 private:
  absl::Status Describe(grpc_byte_buffer* req) const {
    grpc_byte_buffer_reader reader;
    if (grpc_byte_buffer_reader_init(&reader, req) == 0) {
      return InvalidField("request", "could not be read");
    }
    grpc_slice slice = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    const absl::string_view bytes(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
                                  GRPC_SLICE_LENGTH(slice));
    absl::Status described = DescribeParseFailure(*type_, bytes);
    grpc_slice_unref(slice);
    return described;
  }

  std::unique_ptr<RpcServiceMethod> original_;  // owns inner_
  MethodHandler* inner_;
  const Descriptor* type_;
};

bool IsValidUtf8(absl::string_view text) {
  return google::protobuf::internal::IsStructurallyValidUTF8(text.data(),
                                                              static_cast<int>(text.size()));
}

// Renders a map key for a path: the string itself when printable, else its number.
std::string MapKey(const UnknownField& key) {
  if (key.type() == UnknownField::TYPE_LENGTH_DELIMITED) {
    const std::string& text = key.length_delimited();
    for (char c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
        return "?";
      }
    }
    return text;
  }
  if (key.type() == UnknownField::TYPE_VARINT) return absl::StrCat(key.varint());
  return "?";
}

// Adds a violation for each string field below `type` whose bytes are not UTF-8. False when
// the bytes are not a message.
bool Walk(const Descriptor& type, absl::string_view bytes, const std::string& path,
          Violations& violations, int depth) {
  if (depth > 64) return false;
  UnknownFieldSet fields;
  if (!fields.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  std::map<int, int> seen;  // field number -> occurrences so far (repeated fields' index)
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    const FieldDescriptor* descriptor = type.FindFieldByNumber(field.number());
    const int index = seen[field.number()]++;
    if (descriptor == nullptr || field.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    std::string name = path.empty() ? descriptor->name() : absl::StrCat(path, ".", descriptor->name());
    if (descriptor->is_map()) {
      // An entry: key = 1, value = 2.
      const Descriptor& entry = *descriptor->message_type();
      UnknownFieldSet entry_fields;
      if (!entry_fields.ParseFromString(field.length_delimited())) return false;
      std::string key = "?";
      for (int k = 0; k < entry_fields.field_count(); ++k) {
        if (entry_fields.field(k).number() == 1) key = MapKey(entry_fields.field(k));
      }
      Violations entry_violations;
      if (!Walk(entry, field.length_delimited(), "", entry_violations, depth + 1)) return false;
      for (const FieldViolation& v : FieldViolationsOf(entry_violations.Status())) {
        // "key" -> "labels (a key)"; "value" / "value.title" -> "labels[k]" / "labels[k].title".
        violations.Add(absl::StartsWith(v.field, "key")
                           ? absl::StrCat(name, " (a key)")
                           : absl::StrCat(name, "[", key, "]", absl::string_view(v.field).substr(5)),
                       v.rule);
      }
      continue;
    }
    if (descriptor->is_repeated()) absl::StrAppend(&name, "[", index, "]");
    if (descriptor->type() == FieldDescriptor::TYPE_STRING) {
      if (!IsValidUtf8(field.length_delimited())) violations.Add(name, "must be valid UTF-8");
    } else if (descriptor->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (!Walk(*descriptor->message_type(), field.length_delimited(), name, violations,
                depth + 1)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

absl::Status DescribeParseFailure(const Descriptor& type, absl::string_view bytes) {
  Violations violations;
  if (Walk(type, bytes, "", violations, 0) && !violations.empty()) return violations.Status();
  return InvalidField("request", absl::StrCat("must be a serialized ", type.full_name()));
}

std::optional<absl::Status> TakeRequestParseFailure() {
  if (pending_failure == nullptr) return std::nullopt;
  absl::Status failure = *pending_failure;
  pending_failure = nullptr;
  return failure;
}

void CheckRequestParsing(grpc::Service* service) {
  Methods& methods = service->*MemberOf(ServiceMethodsTag());
  for (std::unique_ptr<RpcServiceMethod>& method : methods) {
    if (method == nullptr || method->handler() == nullptr ||
        dynamic_cast<ParseCheckingHandler*>(method->handler()) != nullptr ||
        method->api_type() != RpcServiceMethod::ApiType::CALL_BACK ||
        method->method_type() != grpc::internal::RpcMethod::NORMAL_RPC) {
      continue;
    }
    // "/pkg.Service/Method" -> the request's message type.
    std::string name = method->name();
    if (!name.empty() && name[0] == '/') name.erase(0, 1);
    const size_t slash = name.rfind('/');
    if (slash == std::string::npos) continue;
    name[slash] = '.';
    const google::protobuf::MethodDescriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
    if (descriptor == nullptr) continue;
    const char* method_name = method->name();
    const grpc::internal::RpcMethod::RpcType type = method->method_type();
    auto* handler = new ParseCheckingHandler(std::move(method), descriptor->input_type());
    method = std::make_unique<RpcServiceMethod>(method_name, type, handler);
    method->SetServerApiType(RpcServiceMethod::ApiType::CALL_BACK);
  }
}

}  // namespace marketplace::common
