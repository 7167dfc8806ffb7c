#include "services/identity/audit.h"

namespace marketplace::identity {

AuditEvent MakeAuditEvent(absl::string_view type, const RequestContext& ctx,
                          absl::string_view account_id, const nlohmann::json& detail,
                          absl::Time now) {
  AuditEvent event;
  event.type = std::string(type);
  event.actor_id = ctx.caller_id();
  event.account_id = std::string(account_id);
  event.detail = detail.is_null() ? "{}" : detail.dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace);
  event.request_id = ctx.request_id;
  event.occurred_at = now;
  return event;
}

}  // namespace marketplace::identity
