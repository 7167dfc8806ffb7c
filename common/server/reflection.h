#ifndef MARKETPLACE_COMMON_SERVER_REFLECTION_H_
#define MARKETPLACE_COMMON_SERVER_REFLECTION_H_

#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace marketplace::common {

// gRPC server reflection (grpc.reflection.v1 and v1alpha, what grpcurl and grpc_cli ask) on the
// callback API, over the descriptors linked into the binary (the generated pool). It stands in
// for gRPC's own reflection plugin, which is a synchronous service: a synchronous service gives
// the server threads of its own that poll the process's sockets, so that the replies to the
// process's OWN outgoing calls are read on one thread and handed to another — a client call
// then costs about twice the CPU (bench/grpc_client_floor --with_server).
//
// Answers as the plugin does: list_services (the names given, the health service and both
// reflection services), file_by_filename, file_containing_symbol and file_containing_extension
// (the file and every file it imports, each once per answer), all_extension_numbers_of_type;
// an unknown name gets an error_response NOT_FOUND on the stream, which stays open.
class ReflectionServices {
 public:
  // `services`: full names of the services the server offers besides health and reflection.
  explicit ReflectionServices(std::vector<std::string> services);

  grpc::Service* v1() { return &v1_; }
  grpc::Service* v1alpha() { return &v1alpha_; }

  // The names list_services answers.
  const std::vector<std::string>& service_names() const { return names_; }

 private:
  class V1 final : public grpc::reflection::v1::ServerReflection::CallbackService {
   public:
    explicit V1(const std::vector<std::string>* names) : names_(names) {}
    grpc::ServerBidiReactor<grpc::reflection::v1::ServerReflectionRequest,
                            grpc::reflection::v1::ServerReflectionResponse>*
    ServerReflectionInfo(grpc::CallbackServerContext* context) override;

   private:
    const std::vector<std::string>* names_;
  };
  class V1Alpha final : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
   public:
    explicit V1Alpha(const std::vector<std::string>* names) : names_(names) {}
    grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                            grpc::reflection::v1alpha::ServerReflectionResponse>*
    ServerReflectionInfo(grpc::CallbackServerContext* context) override;

   private:
    const std::vector<std::string>* names_;
  };

  std::vector<std::string> names_;
  V1 v1_{&names_};
  V1Alpha v1alpha_{&names_};
};

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_SERVER_REFLECTION_H_
