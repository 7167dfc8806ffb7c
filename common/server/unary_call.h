#ifndef MARKETPLACE_COMMON_SERVER_UNARY_CALL_H_
#define MARKETPLACE_COMMON_SERVER_UNARY_CALL_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/token_verifier.h"
#include "common/server/executor.h"
#include "grpcpp/grpcpp.h"

namespace marketplace::common {

// What a handler knows about the call it serves.
struct CallContext {
  // The authenticated caller; nullopt only on public methods called without a token.
  std::optional<auth::Caller> caller;
  // x-request-id of the call (taken from the client or made), also sent back to the client.
  std::string request_id;
  // The caller's bearer token, to act on their behalf towards another service.
  std::string bearer_token;
  // The client's deadline, if it set one.
  std::optional<absl::Time> deadline;
  // The full method name, "/pkg.Service/Method".
  std::string method;
};

// Runs unary handlers off gRPC's callback threads. Every call goes through the same steps:
// request id, authentication (deny by default: only the authenticator's public methods may be
// called without a token), the bounded executor (full queue: RESOURCE_EXHAUSTED), the handler,
// and the one mapping of absl::Status to gRPC status.
class UnaryRunner {
 public:
  UnaryRunner(BoundedExecutor* executor, auth::Authenticator* authenticator)
      : executor_(executor), authenticator_(authenticator) {}

  using Handler = std::function<absl::Status(const CallContext&)>;

  // `handler` fills the response (captured by reference) and returns the call's status.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, absl::string_view method,
                                Handler handler);

 private:
  BoundedExecutor* executor_;
  auth::Authenticator* authenticator_;
};

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_SERVER_UNARY_CALL_H_
