#include "common/server/unary_call.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/client/channel.h"
#include "common/errors.h"
#include "common/status_mapping.h"
#include "common/logging.h"
#include "common/server/request_parsing.h"

namespace marketplace::common {
absl::StatusOr<CallContext> UnaryRunner::Begin(grpc::CallbackServerContext* context,
                                               const std::string& method,
                                               const std::string& request_id,
                                               std::optional<Authenticated> known) {
  if (context->IsCancelled()) return absl::CancelledError("call cancelled before it ran");
  CallContext call;
  call.request_id = request_id;
  call.method = method;
  call.deadline = IncomingDeadline(*context);
  if (call.deadline && *call.deadline <= absl::Now()) {
    return absl::DeadlineExceededError("deadline passed while the call waited to run");
  }
  Authenticated caller =
      known ? *std::move(known) : authenticator_->Authenticate(*context, method);
  if (!caller.ok()) return caller.status();
  call.caller = *std::move(caller);
  auto token = auth::BearerTokenFromMetadata(context->client_metadata());
  if (token.ok() && token->has_value()) call.bearer_token = **token;
  return call;
}

void UnaryRunner::End(grpc::ServerUnaryReactor* reactor, const std::string& method,
                      const std::string& request_id, const absl::Status& status) {
  if (status.code() == absl::StatusCode::kInternal ||
      status.code() == absl::StatusCode::kUnknown ||
      status.code() == absl::StatusCode::kDataLoss) {
    // A server fault: its text (a driver's message, a SQL fragment, a file name) goes to the
    // log only. The client gets the code and the request id that finds the log line.
    LogError("call failed", {{"method", method}, {"error", status.ToString()}});
    reactor->Finish(grpc::Status(
        static_cast<grpc::StatusCode>(status.code()),
        absl::StrCat("internal error; the service log has the details under request id ",
                     request_id)));
    return;
  }
  reactor->Finish(ToGrpcStatus(status));
}

grpc::ServerUnaryReactor* UnaryRunner::Run(grpc::CallbackServerContext* context,
                                           absl::string_view method, Handler handler) {
  return Dispatch(
      context, method,
      [handler = std::move(handler)](const CallContext& call, Done done) { done(handler(call)); },
      /*inline_when_cheap=*/false);
}

grpc::ServerUnaryReactor* UnaryRunner::RunAsync(grpc::CallbackServerContext* context,
                                                absl::string_view method,
                                                AsyncHandler handler) {
  return Dispatch(context, method, std::move(handler), /*inline_when_cheap=*/true);
}

grpc::ServerUnaryReactor* UnaryRunner::Dispatch(grpc::CallbackServerContext* context,
                                                absl::string_view method, AsyncHandler handler,
                                                bool inline_when_cheap) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string request_id = RequestIdFromMetadata(context->client_metadata());
  context->AddInitialMetadata(std::string(kRequestIdHeader), request_id);
  // A request that did not parse (CheckRequestParsing): answered here, nothing runs.
  if (std::optional<absl::Status> failure = TakeRequestParseFailure()) {
    ScopedRequestId scope(request_id);
    End(reactor, std::string(method), request_id, *failure);
    return reactor;
  }

  // `known`: set when the call runs on gRPC's thread, with its authentication already made.
  auto task = [this, context, reactor, request_id, method = std::string(method),
               handler = std::move(handler)](std::optional<Authenticated> known) mutable {
    ScopedRequestId scope(request_id);
    const bool on_grpc_thread = known.has_value();
    absl::StatusOr<CallContext> call = Begin(context, method, request_id, std::move(known));
    if (!call.ok()) {
      End(reactor, method, request_id, call.status());
      return;
    }
    call->on_grpc_thread = on_grpc_thread;
    handler(*call, [reactor, method, request_id](absl::Status status) {
      ScopedRequestId scope(request_id);
      End(reactor, method, request_id, status);
    });
  };
  if (inline_when_cheap) {
    // No token, or a token already verified under a fresh key set: nothing before the handler
    // can block (no key to fetch, no signature to check), so the call starts here.
    std::optional<Authenticated> known =
        authenticator_->AuthenticateWithoutWaiting(context->client_metadata(), method);
    if (known) {
      task(std::move(known));
      return reactor;
    }
  }
  if (!executor_->TrySubmit([task = std::move(task)]() mutable { task(std::nullopt); })) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("server busy: ", executor_->QueueDepth(), " calls already queued")));
  }
  return reactor;
}

absl::Status UnaryRunner::Offload(absl::string_view request_id, std::function<void()> work) {
  const bool queued = executor_->TrySubmit(
      [request_id = std::string(request_id), work = std::move(work)]() {
        ScopedRequestId scope(request_id);
        work();
      });
  if (queued) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("server busy: ", executor_->QueueDepth(), " calls already queued"));
}

}  // namespace marketplace::common
