#ifndef MARKETPLACE_SERVICES_GATEWAY_API_H_
#define MARKETPLACE_SERVICES_GATEWAY_API_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "services/gateway/path_template.h"
#include "services/gateway/router.h"

namespace marketplace::gateway {

// A chain of fields from a request message: "account.name" -> [account, name].
struct FieldPath {
  std::string text;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
};

// One HTTP binding of one gRPC method (a google.api.http rule or one of its
// additional_bindings).
struct Route {
  std::string name;        // "marketplace.catalog.v1.CatalogService.GetListing"
  std::string grpc_path;   // "/marketplace.catalog.v1.CatalogService/GetListing"
  std::string service;     // "marketplace.catalog.v1.CatalogService"
  std::string backend;     // host:port
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string http_method; // GET, PUT, POST, DELETE, PATCH or a custom kind
  PathTemplate path;
  std::vector<FieldPath> path_fields;  // one per path variable
  std::string body;                    // "", "*" or a top-level field name
  const google::protobuf::FieldDescriptor* body_field = nullptr;
  const google::protobuf::FieldDescriptor* response_field = nullptr;  // response_body
  int binding = 0;                     // 0: the rule itself; 1..: additional_bindings
};

// The API the gateway serves, from a FileDescriptorSet: a DescriptorPool, the routes of every
// annotated unary method of every service that has a backend, and their router.
class Api {
 public:
  // `backends`: service full name -> address. An annotated service without a backend is
  // skipped (logged); a backend naming no service of the set is an error. Streaming methods
  // and methods without google.api.http (EventSink.Deliver) are never routed. Errors (bad
  // template, unknown or unfit field, conflicting routes) name the method and the field.
  // `all_services`: every annotated service is routed, those without a backend with an empty
  // address (for --print_openapi).
  static absl::StatusOr<std::unique_ptr<Api>> Build(
      const google::protobuf::FileDescriptorSet& set,
      const std::map<std::string, std::string>& backends, bool all_services = false);
  static absl::StatusOr<std::unique_ptr<Api>> Load(
      const std::string& descriptor_set_path,
      const std::map<std::string, std::string>& backends, bool all_services = false);

  const google::protobuf::DescriptorPool& pool() const { return pool_; }
  const std::vector<Route>& routes() const { return routes_; }
  const Router& router() const { return router_; }

  // Resolves a dotted path of proto field names (or their lowerCamelCase JSON names) in
  // `message`; every field but the last must be a singular message.
  static absl::StatusOr<FieldPath> ResolveField(const google::protobuf::Descriptor* message,
                                                absl::string_view dotted);

 private:
  Api() = default;
  absl::Status AddMethod(const google::protobuf::MethodDescriptor* method,
                         const std::string& backend);

  google::protobuf::DescriptorPool pool_;
  std::vector<Route> routes_;
  Router router_;
};

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_API_H_
