#ifndef MARKETPLACE_COMMON_EVENTS_EVENT_INTAKE_H_
#define MARKETPLACE_COMMON_EVENTS_EVENT_INTAKE_H_

#include "common/auth/grpc_auth.h"
#include "common/db/connection_pool.h"
#include "common/events/event_consumer.h"
#include "common/events/revocations.h"

namespace marketplace::common::events {

// What every service that verifies tokens and consumes events wires the same way: an
// EventConsumer (served by an EventSinkService the service registers) with identity's token
// revocations on it, and the RevocationView whose check the service's Authenticator takes.
// The service adds its own topic handlers on consumer() before serving.
class EventIntake {
 public:
  // `pool` must outlive the intake; the revocation table must be migrated
  // (RevocationMigrations) before Start().
  explicit EventIntake(db::ConnectionPool* pool);
  ~EventIntake() { Stop(); }

  EventConsumer& consumer() { return consumer_; }
  const auth::RevocationCheck* revocation_check() const { return &revocations_.check(); }

  // Reads token_revocations once (a failure is logged; the refresh goes on), then keeps this
  // replica's view current until Stop(). Both idempotent.
  void Start();
  void Stop() { revocations_.Stop(); }

 private:
  RevocationView revocations_;
  EventConsumer consumer_;
};

}  // namespace marketplace::common::events

#endif  // MARKETPLACE_COMMON_EVENTS_EVENT_INTAKE_H_
