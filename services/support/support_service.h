#ifndef MARKETPLACE_SERVICES_SUPPORT_SUPPORT_SERVICE_H_
#define MARKETPLACE_SERVICES_SUPPORT_SUPPORT_SERVICE_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/client/call_origin.h"
#include "common/server/method_handler.h"
#include "common/server/unary_call.h"
#include "protos/marketplace/support/v1/support.grpc.pb.h"
#include "services/support/actor.h"
#include "services/support/order_directory.h"
#include "services/support/permissions.h"
#include "services/support/ticket_store.h"
#include "services/support/tickets.h"

namespace marketplace::support {

// The API's methods for an actor the permission table made: each request's fields checked
// (violations name the fields, nothing written), converted to the domain's words, run in one
// idempotent unit of work, the answer converted back with the caller's view. No gRPC.
class SupportApi {
 public:
  // All must outlive the API.
  SupportApi(TicketStore* store, OrderDirectory* orders, Tickets* tickets)
      : store_(store), orders_(orders), tickets_(tickets) {}

  absl::StatusOr<pb::CreateTicketResponse> CreateTicket(const Actor& actor,
                                                        const pb::CreateTicketRequest& request,
                                                        const common::CallOrigin& origin = {});
  absl::StatusOr<pb::Ticket> GetTicket(const Actor& actor, const pb::GetTicketRequest& request);
  // Runs `work` where it may block (the server's executor); an error when it cannot be queued.
  using Offload = std::function<absl::Status(std::function<void()> work)>;
  // GetTicket without a thread per call: the ticket comes from the store's batched reader
  // (TicketStore::ReadTicket) and a party's answer is made on the reader's thread; the staff
  // view's history and a refused refund's reason are further reads, made through `offload`.
  // `done` runs exactly once, on any thread.
  void GetTicketAsync(const Actor& actor, const pb::GetTicketRequest& request,
                      const Offload& offload,
                      std::function<void(absl::StatusOr<pb::Ticket>)> done);
  absl::StatusOr<pb::ListTicketMessagesResponse> ListTicketMessages(
      const Actor& actor, const pb::ListTicketMessagesRequest& request);
  absl::StatusOr<pb::ListTicketsResponse> ListTickets(const Actor& actor,
                                                      const pb::ListTicketsRequest& request);
  absl::StatusOr<pb::TicketMessage> AddTicketMessage(const Actor& actor,
                                                     const pb::AddTicketMessageRequest& request);
  absl::StatusOr<pb::Ticket> EscalateTicket(const Actor& actor,
                                            const pb::EscalateTicketRequest& request);
  absl::StatusOr<pb::Ticket> AssignTicket(const Actor& actor,
                                          const pb::AssignTicketRequest& request);
  absl::StatusOr<pb::Ticket> ResolveTicket(const Actor& actor,
                                           const pb::ResolveTicketRequest& request);
  absl::StatusOr<pb::Ticket> ReopenTicket(const Actor& actor,
                                          const pb::ReopenTicketRequest& request);
  absl::StatusOr<pb::Ticket> MergeTickets(const Actor& actor,
                                          const pb::MergeTicketsRequest& request);
  absl::StatusOr<pb::Ticket> UpdateTicket(const Actor& actor,
                                          const pb::UpdateTicketRequest& request);
  absl::StatusOr<pb::Ticket> RateTicket(const Actor& actor, const pb::RateTicketRequest& request);
  absl::StatusOr<pb::ComplaintReport> GetComplaintReport(
      const Actor& actor, const pb::GetComplaintReportRequest& request);
  // The version in force, read from the database on every call (so every replica answers the
  // version the last UpdateSlaPolicy committed).
  absl::StatusOr<v1::SlaPolicy> GetSlaPolicy(const Actor& actor,
                                             const pb::GetSlaPolicyRequest& request);
  // Validated by sla::Policy::FromProto (violations name "policy.<path>"), stored as the next
  // version when expected_version is the version in force.
  absl::StatusOr<v1::SlaPolicy> UpdateSlaPolicy(const Actor& actor,
                                                const pb::UpdateSlaPolicyRequest& request);

 private:
  // The idempotency key of a call: (caller, method's full name, request_id).
  static common::idempotency::RequestKey KeyOf(const Actor& actor, Method method,
                                               const std::string& request_id);
  // The first answer of a request done already (nullopt: not done); REQUEST_ID_REUSED when
  // the request_id was used for another request. No transaction.
  template <typename Response>
  absl::StatusOr<std::optional<Response>> StoredAnswer(const Actor& actor, Method method,
                                                       const google::protobuf::Message& request,
                                                       const std::string& request_id);
  // Runs `effect` once per (caller, method, request_id) and returns the first answer.
  template <typename Response>
  absl::StatusOr<Response> Idempotent(
      const Actor& actor, Method method, const google::protobuf::Message& request,
      const std::string& request_id,
      const std::function<absl::StatusOr<Response>(TicketTransaction&)>& effect);
  // A ticket-changing method: effect's ticket answered with the caller's view.
  absl::StatusOr<pb::Ticket> TicketWrite(
      const Actor& actor, Method method, const google::protobuf::Message& request,
      const std::string& request_id,
      const std::function<absl::StatusOr<TicketRecord>(TicketTransaction&)>& effect);

  // GetTicket's answer from the ticket read: the not-found rule, then the caller's view (with
  // the history for staff and a refused refund's reason, each one more read).
  absl::StatusOr<pb::Ticket> TicketAnswer(const Actor& actor, const std::string& ticket_id,
                                          const std::optional<TicketRecord>& ticket);

  TicketStore* store_;
  OrderDirectory* orders_;
  Tickets* tickets_;
};

// The gRPC API (CallbackService): each call goes through common::MethodHandler, whose guard
// is the permission table (permissions.h), then SupportApi.
class SupportService final : public v1::SupportService::CallbackService {
 public:
  // Both must outlive the service.
  SupportService(common::UnaryRunner* runner, SupportApi* api);

  grpc::ServerUnaryReactor* CreateTicket(grpc::CallbackServerContext* ctx,
                                         const v1::CreateTicketRequest* req,
                                         v1::CreateTicketResponse* resp) override;
  grpc::ServerUnaryReactor* GetTicket(grpc::CallbackServerContext* ctx,
                                      const v1::GetTicketRequest* req, v1::Ticket* resp) override;
  grpc::ServerUnaryReactor* ListTicketMessages(grpc::CallbackServerContext* ctx,
                                               const v1::ListTicketMessagesRequest* req,
                                               v1::ListTicketMessagesResponse* resp) override;
  grpc::ServerUnaryReactor* ListTickets(grpc::CallbackServerContext* ctx,
                                        const v1::ListTicketsRequest* req,
                                        v1::ListTicketsResponse* resp) override;
  grpc::ServerUnaryReactor* AddTicketMessage(grpc::CallbackServerContext* ctx,
                                             const v1::AddTicketMessageRequest* req,
                                             v1::TicketMessage* resp) override;
  grpc::ServerUnaryReactor* EscalateTicket(grpc::CallbackServerContext* ctx,
                                           const v1::EscalateTicketRequest* req,
                                           v1::Ticket* resp) override;
  grpc::ServerUnaryReactor* AssignTicket(grpc::CallbackServerContext* ctx,
                                         const v1::AssignTicketRequest* req,
                                         v1::Ticket* resp) override;
  grpc::ServerUnaryReactor* ResolveTicket(grpc::CallbackServerContext* ctx,
                                          const v1::ResolveTicketRequest* req,
                                          v1::Ticket* resp) override;
  grpc::ServerUnaryReactor* ReopenTicket(grpc::CallbackServerContext* ctx,
                                         const v1::ReopenTicketRequest* req,
                                         v1::Ticket* resp) override;
  grpc::ServerUnaryReactor* MergeTickets(grpc::CallbackServerContext* ctx,
                                         const v1::MergeTicketsRequest* req,
                                         v1::Ticket* resp) override;
  grpc::ServerUnaryReactor* UpdateTicket(grpc::CallbackServerContext* ctx,
                                         const v1::UpdateTicketRequest* req,
                                         v1::Ticket* resp) override;
  grpc::ServerUnaryReactor* RateTicket(grpc::CallbackServerContext* ctx,
                                       const v1::RateTicketRequest* req, v1::Ticket* resp) override;
  grpc::ServerUnaryReactor* GetSlaPolicy(grpc::CallbackServerContext* ctx,
                                         const v1::GetSlaPolicyRequest* req,
                                         v1::SlaPolicy* resp) override;
  grpc::ServerUnaryReactor* UpdateSlaPolicy(grpc::CallbackServerContext* ctx,
                                            const v1::UpdateSlaPolicyRequest* req,
                                            v1::SlaPolicy* resp) override;
  grpc::ServerUnaryReactor* GetComplaintReport(grpc::CallbackServerContext* ctx,
                                               const v1::GetComplaintReportRequest* req,
                                               v1::ComplaintReport* resp) override;

 private:
  static Actor ActorOf(const common::CallContext& call, Method method);

  SupportApi* api_;
  common::MethodHandler<Method, kMethodCount> handler_;
};

}  // namespace marketplace::support

#endif  // MARKETPLACE_SERVICES_SUPPORT_SUPPORT_SERVICE_H_
