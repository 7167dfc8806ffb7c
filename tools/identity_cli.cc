// identity_cli: calls one Identity method with a JSON request and prints the JSON response.
//
//   identity_cli [--target=HOST:PORT] METHOD ['JSON request']
//
// The target defaults to $MP_IDENTITY_TARGET or 127.0.0.1:7001. The link is mutual TLS with
// the files in $MP_TLS_CERT_FILE, $MP_TLS_KEY_FILE and $MP_TLS_CA_FILE (the services' own
// variables; the local stack's are under .data/tls), or plaintext with MP_INSECURE=1. The
// access token for
// non-public methods is read from $MP_IDENTITY_TOKEN (never from the command line, where other
// users of the machine could read it). Field names are the proto's JSON names (lowerCamelCase),
// enums by name, e.g.
//
//   identity_cli Login '{"email": "ann@example.com", "password": "..."}'
//   MP_IDENTITY_TOKEN=eyJ... identity_cli GetAccount '{"name": "accounts/me"}'
//
// Exit code 0 on success; 1 with "CODE: message [reason] {field: rule}" on stderr otherwise;
// 2 on usage errors.
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "common/errors.h"
#include "common/status_mapping.h"
#include "common/tls/transport_security.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/identity/v1/identity.grpc.pb.h"

namespace {

namespace v1 = ::marketplace::identity::v1;
using Stub = v1::Identity::Stub;

struct Call {
  std::shared_ptr<grpc::Channel> channel;
  std::string token;
};

template <typename Request, typename Response>
int Invoke(const Call& call,
           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
           const std::string& json) {
  Request request;
  auto parsed = google::protobuf::util::JsonStringToMessage(json.empty() ? "{}" : json, &request);
  if (!parsed.ok()) {
    std::cerr << "request: " << parsed.ToString() << "\n";
    return 2;
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!call.token.empty()) context.AddMetadata("authorization", "Bearer " + call.token);
  Response response;
  grpc::Status status = (Stub(call.channel).*method)(&context, request, &response);
  if (!status.ok()) {
    absl::Status s = marketplace::common::FromGrpcStatus(status);
    std::cerr << absl::StatusCodeToString(s.code()) << ": " << s.message();
    const std::string reason = marketplace::common::ReasonOf(s);
    if (!reason.empty()) std::cerr << " [" << reason << "]";
    for (const auto& v : marketplace::common::FieldViolationsOf(s)) {
      std::cerr << " {" << v.field << ": " << v.rule << "}";
    }
    std::cerr << "\n";
    return 1;
  }
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(response, &out, options);
  std::cout << out;
  return 0;
}

using Runner = std::function<int(const Call&, const std::string&)>;

#define IDENTITY_METHOD(name) \
  {#name, [](const Call& c, const std::string& json) { return Invoke(c, &Stub::name, json); }}

const std::map<std::string, Runner>& Methods() {
  static const auto* methods = new std::map<std::string, Runner>{
      IDENTITY_METHOD(SignUp),
      IDENTITY_METHOD(Login),
      IDENTITY_METHOD(RefreshSession),
      IDENTITY_METHOD(Logout),
      IDENTITY_METHOD(LogoutAll),
      IDENTITY_METHOD(GetAccount),
      IDENTITY_METHOD(ListAccounts),
      IDENTITY_METHOD(UpdateProfile),
      IDENTITY_METHOD(ChangePassword),
      IDENTITY_METHOD(GetSigningKeys),
      IDENTITY_METHOD(RotateSigningKey),
      IDENTITY_METHOD(CreateStaffAccount),
      IDENTITY_METHOD(CreateServiceAccount),
      IDENTITY_METHOD(IssueServiceToken),
      IDENTITY_METHOD(SubmitSellerApplication),
      IDENTITY_METHOD(ReviewSellerApplication),
      IDENTITY_METHOD(GetSellerProfile),
      IDENTITY_METHOD(SuspendAccount),
      IDENTITY_METHOD(ReinstateAccount),
      IDENTITY_METHOD(IntrospectToken),
  };
  return *methods;
}

int Usage() {
  std::cerr << "usage: identity_cli [--target=HOST:PORT] METHOD ['JSON request']\n"
               "token for non-public methods: $MP_IDENTITY_TOKEN; target default: "
               "$MP_IDENTITY_TARGET or 127.0.0.1:7001\nmethods:";
  for (const auto& [name, runner] : Methods()) std::cerr << " " << name;
  std::cerr << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env_target = std::getenv("MP_IDENTITY_TARGET");
  std::string target = env_target != nullptr ? env_target : "127.0.0.1:7001";
  int i = 1;
  if (i < argc && absl::StartsWith(argv[i], "--target=")) {
    target = std::string(argv[i]).substr(9);
    ++i;
  }
  if (i >= argc || argc - i > 2) return Usage();
  auto method = Methods().find(argv[i]);
  if (method == Methods().end()) return Usage();
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value != nullptr ? value : "");
  };
  marketplace::common::TransportSecurity security;
  security.cert_file = env("MP_TLS_CERT_FILE");
  security.key_file = env("MP_TLS_KEY_FILE");
  security.ca_file = env("MP_TLS_CA_FILE");
  security.insecure = env("MP_INSECURE") == "1" || env("MP_INSECURE") == "true";
  if (absl::Status s = marketplace::common::ValidateTransportSecurity(security); !s.ok()) {
    std::cerr << "transport security (MP_TLS_*_FILE or MP_INSECURE=1): " << s.message() << "\n";
    return 2;
  }
  const char* token = std::getenv("MP_IDENTITY_TOKEN");
  Call call{grpc::CreateChannel(target, marketplace::common::ChannelCredentials(security)),
            token != nullptr ? token : ""};
  return method->second(call, i + 1 < argc ? argv[i + 1] : "");
}
