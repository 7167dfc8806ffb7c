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
  // The handler runs on gRPC's own thread (UnaryRunner::RunAsync, authentication needed no
  // wait): it must not block. False on the executor's threads.
  bool on_grpc_thread = false;
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
  // but a call whose authentication needs no wait (no token, or a token the verifier already
  // holds as verified under a fresh key set: auth::Authenticator::AuthenticateWithoutWaiting)
  // skips the executor and starts `handler` on gRPC's thread, so the handler must never block.
  // A token still to be verified (a signature to check, perhaps keys to fetch) is authenticated
  // on the executor, and the handler starts there.
  grpc::ServerUnaryReactor* RunAsync(grpc::CallbackServerContext* context,
                                     absl::string_view method, AsyncHandler handler);

  // For an asynchronous handler that finds it must block after all (a second read): runs
  // `work` on the executor, under the call's request id. RESOURCE_EXHAUSTED (nothing runs)
  // when the executor's queue is full; the handler then ends the call with it.
  absl::Status Offload(absl::string_view request_id, std::function<void()> work);

 private:
  using Authenticated = absl::StatusOr<std::optional<auth::Caller>>;
  // Cancellation, deadline and authentication of a call about to run: its context, or the
  // status to finish it with. `known`: the authentication already made (else made here).
  absl::StatusOr<CallContext> Begin(grpc::CallbackServerContext* context,
                                    const std::string& method, const std::string& request_id,
                                    std::optional<Authenticated> known);
  // The steps Run and RunAsync share; `inline_when_cheap`: a call whose authentication needs
  // no wait starts on gRPC's thread instead of the executor.
  grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* context,
                                     absl::string_view method, AsyncHandler handler,
                                     bool inline_when_cheap);
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
