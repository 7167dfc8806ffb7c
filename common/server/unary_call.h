#ifndef MARKETPLACE_COMMON_SERVER_UNARY_CALL_H_
#define MARKETPLACE_COMMON_SERVER_UNARY_CALL_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/token_verifier.h"
#include "common/executor.h"
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

  // Ends an asynchronous call: the response is filled before; call exactly once, from any
  // thread.
  using Done = std::function<void(absl::Status)>;
  using AsyncHandler = std::function<void(const CallContext&, Done)>;

  // For handlers that wait without holding a thread (e.g. a common::db::BatchedReader read):
  // `handler` starts the work and returns; `done` finishes the call. The same steps as Run,
  // but an anonymous call (no token) skips the executor and starts `handler` on gRPC's
  // thread, so the handler must never block; a call with a token is authenticated on the
  // executor, since verifying a token may fetch keys.
  grpc::ServerUnaryReactor* RunAsync(grpc::CallbackServerContext* context,
                                     absl::string_view method, AsyncHandler handler);

 private:
  // Cancellation, deadline and authentication of a call about to run: its context, or the
  // status to finish it with.
  absl::StatusOr<CallContext> Begin(grpc::CallbackServerContext* context,
                                    const std::string& method, const std::string& request_id);
  // The steps Run and RunAsync share; `anonymous_inline`: a call without a token starts on
  // gRPC's thread instead of the executor.
  grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* context,
                                     absl::string_view method, AsyncHandler handler,
                                     bool anonymous_inline);
  // Finishes the call with `status` mapped to gRPC. Server faults (INTERNAL, UNKNOWN,
  // DATA_LOSS) are logged with their text; the client gets a generic message with the request
  // id and no details.
  static void End(grpc::ServerUnaryReactor* reactor, const std::string& method,
                  const std::string& request_id, const absl::Status& status);

  BoundedExecutor* executor_;
  auth::Authenticator* authenticator_;
};

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_SERVER_UNARY_CALL_H_
