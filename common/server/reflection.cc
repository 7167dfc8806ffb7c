#include "common/server/reflection.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace marketplace::common {
namespace {

namespace pb = google::protobuf;

// Adds `file` and, depth first, every file it imports, each once (`seen`).
template <typename FileResponse>
void AddFileAndImports(const pb::FileDescriptor* file, absl::flat_hash_set<std::string>& seen,
                       FileResponse* out) {
  if (!seen.insert(file->name()).second) return;
  pb::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(out->add_file_descriptor_proto());
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFileAndImports(file->dependency(i), seen, out);
  }
}

template <typename Response>
void SetError(grpc::StatusCode code, const std::string& message, Response* response) {
  response->mutable_error_response()->set_error_code(static_cast<int32_t>(code));
  response->mutable_error_response()->set_error_message(message);
}

// One answer of either version (their messages have the same fields).
template <typename Request, typename Response>
void Answer(const std::vector<std::string>& names, const Request& request, Response* response) {
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  response->Clear();
  response->set_valid_host(request.host());
  *response->mutable_original_request() = request;
  const pb::FileDescriptor* file = nullptr;
  switch (request.message_request_case()) {
    case Request::kListServices:
      for (const std::string& name : names) {
        response->mutable_list_services_response()->add_service()->set_name(name);
      }
      return;
    case Request::kFileByFilename:
      file = pool->FindFileByName(request.file_by_filename());
      if (file == nullptr) return SetError(grpc::NOT_FOUND, "File not found.", response);
      break;
    case Request::kFileContainingSymbol:
      file = pool->FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) return SetError(grpc::NOT_FOUND, "Symbol not found.", response);
      break;
    case Request::kFileContainingExtension: {
      const pb::Descriptor* type =
          pool->FindMessageTypeByName(request.file_containing_extension().containing_type());
      if (type == nullptr) return SetError(grpc::NOT_FOUND, "Type not found.", response);
      const pb::FieldDescriptor* extension =
          pool->FindExtensionByNumber(type, request.file_containing_extension().extension_number());
      if (extension == nullptr) {
        return SetError(grpc::NOT_FOUND, "Extension not found.", response);
      }
      file = extension->file();
      break;
    }
    case Request::kAllExtensionNumbersOfType: {
      const pb::Descriptor* type =
          pool->FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr) return SetError(grpc::NOT_FOUND, "Type not found.", response);
      std::vector<const pb::FieldDescriptor*> extensions;
      pool->FindAllExtensions(type, &extensions);
      auto* out = response->mutable_all_extension_numbers_response();
      out->set_base_type_name(type->full_name());
      for (const pb::FieldDescriptor* e : extensions) out->add_extension_number(e->number());
      return;
    }
    default:
      return SetError(grpc::INVALID_ARGUMENT,
                      "message_request: one of list_services, file_by_filename, "
                      "file_containing_symbol, file_containing_extension or "
                      "all_extension_numbers_of_type must be set",
                      response);
  }
  absl::flat_hash_set<std::string> seen;
  AddFileAndImports(file, seen, response->mutable_file_descriptor_response());
}

// Reads a request, writes its answer, until the client closes its side.
template <typename Request, typename Response>
class Reactor final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit Reactor(const std::vector<std::string>* names) : names_(names) {
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return this->Finish(grpc::Status::OK);  // the client is done (or gone)
    Answer(*names_, request_, &response_);
    this->StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return this->Finish(grpc::Status(grpc::CANCELLED, "the stream is broken"));
    this->StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const std::vector<std::string>* names_;
  Request request_;
  Response response_;
};

}  // namespace

ReflectionServices::ReflectionServices(std::vector<std::string> services)
    : names_(std::move(services)) {
  for (const char* own : {"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                          "grpc.reflection.v1alpha.ServerReflection"}) {
    names_.emplace_back(own);
  }
}

grpc::ServerBidiReactor<grpc::reflection::v1::ServerReflectionRequest,
                        grpc::reflection::v1::ServerReflectionResponse>*
ReflectionServices::V1::ServerReflectionInfo(grpc::CallbackServerContext*) {
  return new Reactor<grpc::reflection::v1::ServerReflectionRequest,
                     grpc::reflection::v1::ServerReflectionResponse>(names_);
}

grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                        grpc::reflection::v1alpha::ServerReflectionResponse>*
ReflectionServices::V1Alpha::ServerReflectionInfo(grpc::CallbackServerContext*) {
  return new Reactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                     grpc::reflection::v1alpha::ServerReflectionResponse>(names_);
}

}  // namespace marketplace::common
