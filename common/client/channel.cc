#include "common/client/channel.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/tls/transport_security.h"

namespace marketplace::common {
namespace {

std::string DurationJson(absl::Duration d) {
  return absl::StrFormat("\"%.3fs\"", absl::ToDoubleSeconds(d));
}

}  // namespace

std::string RetryServiceConfig(const ChannelOptions& options) {
  if (options.idempotent_methods.empty()) return "{}";
  std::vector<std::string> names;
  for (const auto& m : options.idempotent_methods) {
    std::vector<std::string> parts = absl::StrSplit(m, absl::MaxSplits('/', 1));
    if (parts.size() == 2) {
      names.push_back(absl::StrFormat(R"({"service":"%s","method":"%s"})", parts[0], parts[1]));
    } else {
      names.push_back(absl::StrFormat(R"({"service":"%s"})", parts[0]));
    }
  }
  return absl::StrCat(
      R"({"methodConfig":[{"name":[)", absl::StrJoin(names, ","),
      R"(],"retryPolicy":{"maxAttempts":)", options.max_attempts,
      R"(,"initialBackoff":)", DurationJson(options.initial_backoff),
      R"(,"maxBackoff":)", DurationJson(options.max_backoff),
      R"(,"backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]})");
}

std::shared_ptr<grpc::Channel> MakeChannel(const ChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(RetryServiceConfig(options));
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
  return grpc::CreateCustomChannel(
      options.target,
      options.credentials != nullptr ? options.credentials : ProcessChannelCredentials(), args);
}

void PrepareClientContext(grpc::ClientContext* context, const OutgoingCall& call) {
  absl::Time deadline = absl::Now() + call.timeout;
  if (call.incoming_deadline && *call.incoming_deadline < deadline) {
    deadline = *call.incoming_deadline;
  }
  context->set_deadline(absl::ToChronoTime(deadline));
  if (!call.request_id.empty()) context->AddMetadata("x-request-id", call.request_id);
  if (!call.bearer_token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", call.bearer_token));
  }
}

std::optional<absl::Time> IncomingDeadline(const grpc::ServerContextBase& context) {
  auto deadline = context.deadline();
  // gRPC reports "no deadline" as the far future.
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return std::nullopt;
  }
  return absl::FromChrono(deadline);
}

}  // namespace marketplace::common
