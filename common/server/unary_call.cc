#include "common/server/unary_call.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/client/channel.h"
#include "common/errors.h"
#include "common/logging.h"

namespace marketplace::common {
grpc::ServerUnaryReactor* UnaryRunner::Run(grpc::CallbackServerContext* context,
                                           absl::string_view method, Handler handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string request_id = RequestIdFromMetadata(context->client_metadata());
  context->AddInitialMetadata(std::string(kRequestIdHeader), request_id);

  auto task = [this, context, reactor, request_id, method = std::string(method),
               handler = std::move(handler)]() mutable {
    ScopedRequestId scope(request_id);
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled before it ran"));
      return;
    }
    CallContext call;
    call.request_id = request_id;
    call.method = method;
    call.deadline = IncomingDeadline(*context);
    if (call.deadline && *call.deadline <= absl::Now()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                   "deadline passed while the call waited to run"));
      return;
    }
    absl::Status status;
    auto caller = authenticator_->Authenticate(*context, method);
    if (!caller.ok()) {
      status = caller.status();
    } else {
      call.caller = *std::move(caller);
      auto token = auth::BearerTokenFromMetadata(context->client_metadata());
      if (token.ok() && token->has_value()) call.bearer_token = **token;
      status = handler(call);
    }
    if (status.code() == absl::StatusCode::kInternal ||
        status.code() == absl::StatusCode::kUnknown ||
        status.code() == absl::StatusCode::kDataLoss) {
      LogError("call failed", {{"method", method}, {"error", std::string(status.message())}});
    }
    reactor->Finish(ToGrpcStatus(status));
  };
  if (!executor_->TrySubmit(std::move(task))) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("server busy: ", executor_->QueueDepth(), " calls already queued")));
  }
  return reactor;
}

}  // namespace marketplace::common
