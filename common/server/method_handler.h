#ifndef MARKETPLACE_COMMON_SERVER_METHOD_HANDLER_H_
#define MARKETPLACE_COMMON_SERVER_METHOD_HANDLER_H_

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/server/unary_call.h"
#include "grpcpp/grpcpp.h"

namespace marketplace::common {

// The one way a service's gRPC glue runs a unary method. A service lists its methods in an
// enum class `Method` (values 0 .. kMethodCount-1) and gives, once:
//   - the method's short name ("CreatePayment"), to build "/pkg.Service/CreatePayment";
//   - a guard: its permission table, run before the body (deny by default lives there).
// Each handler is then one line of glue:
//   return handler_.Unary(ctx, Method::kGetPayment, resp, [&](const CallContext& call) {
//     return payments_->Get(...);   // absl::StatusOr<Response> or absl::Status
//   });
// A body returning absl::StatusOr<Response> has its value moved into the response; a body
// returning absl::Status fills the response itself.
template <typename Method, size_t kMethodCount>
class MethodHandler {
 public:
  // OK to run the body; any other status ends the call with it.
  using Guard = std::function<absl::Status(Method, const CallContext&)>;

  // `service_full_name`: "marketplace.payments.v1.Payments"; `names[i]`: the short name of
  // the method whose enum value is i. `runner` must outlive the handler.
  MethodHandler(UnaryRunner* runner, absl::string_view service_full_name,
                const std::array<absl::string_view, kMethodCount>& names, Guard guard)
      : runner_(runner), guard_(std::move(guard)) {
    for (size_t i = 0; i < kMethodCount; ++i) {
      full_names_[i] = absl::StrCat("/", service_full_name, "/", names[i]);
    }
  }

  UnaryRunner* runner() const { return runner_; }

  // "/pkg.Service/Method" of `method`.
  const std::string& FullName(Method method) const {
    return full_names_[static_cast<size_t>(method)];
  }

  template <typename Response, typename Body>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, Method method,
                                  Response* response, Body body) {
    return runner_->Run(
        context, FullName(method),
        [this, method, response, body = std::move(body)](const CallContext& call) -> absl::Status {
          if (absl::Status allowed = guard_(method, call); !allowed.ok()) return allowed;
          using Result = std::invoke_result_t<const Body&, const CallContext&>;
          if constexpr (std::is_same_v<Result, absl::Status>) {
            return body(call);
          } else {
            static_assert(std::is_same_v<Result, absl::StatusOr<Response>>,
                          "a body returns absl::Status or absl::StatusOr<Response>");
            Result result = body(call);
            if (!result.ok()) return result.status();
            *response = *std::move(result);
            return absl::OkStatus();
          }
        });
  }

  // For bodies that wait without holding a thread (UnaryRunner::RunAsync): `body(call, done)`
  // starts the work and returns; `done(absl::StatusOr<Response>)` ends the call, exactly once,
  // from any thread. A call whose authentication needed no wait (no token, or a token already
  // verified) runs the guard and `body` on gRPC's own thread (CallContext::on_grpc_thread), so
  // neither may block: blocking work goes through UnaryRunner::Offload.
  template <typename Response, typename Body>
  grpc::ServerUnaryReactor* UnaryAsync(grpc::CallbackServerContext* context, Method method,
                                       Response* response, Body body) {
    return runner_->RunAsync(
        context, FullName(method),
        [this, method, response, body = std::move(body)](const CallContext& call,
                                                         UnaryRunner::Done done) {
          if (absl::Status allowed = guard_(method, call); !allowed.ok()) {
            done(allowed);
            return;
          }
          body(call, [response, done = std::move(done)](absl::StatusOr<Response> result) {
            if (!result.ok()) {
              done(result.status());
              return;
            }
            *response = *std::move(result);
            done(absl::OkStatus());
          });
        });
  }

 private:
  UnaryRunner* runner_;
  Guard guard_;
  std::array<std::string, kMethodCount> full_names_;
};

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_SERVER_METHOD_HANDLER_H_
