#ifndef MARKETPLACE_SERVICES_IDENTITY_MAINTENANCE_H_
#define MARKETPLACE_SERVICES_IDENTITY_MAINTENANCE_H_

#include <cstdint>

#include "common/periodic.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "services/identity/identity_observer.h"
#include "services/identity/identity_store.h"

namespace marketplace::identity {

struct MaintenanceOptions {
  // How often a pass runs.
  absl::Duration interval = absl::Minutes(1);
  // Rows deleted per table and pass, so a pass never holds locks for long.
  int batch = 1000;
  // Idempotency keys are kept this long (identity.proto: 24 hours).
  absl::Duration idempotency_retention = absl::Hours(24);
  // Failed login attempts are kept this long (the throttle looks back one hour).
  absl::Duration failed_attempt_retention = absl::Hours(2);
  // Expired sessions are kept this long, for investigations of refresh-token reuse.
  absl::Duration expired_session_retention = absl::Hours(24 * 7);
};

// The background work of a replica: deletes expired sessions, old idempotency keys and old
// failed-login records in small batches, and reports the active session count. Several
// replicas may run it at once (each delete is its own short transaction).
class Maintenance {
 public:
  // Pointers must outlive the object.
  Maintenance(IdentityStore* store, const common::Clock* clock, IdentityObserver* observer,
              MaintenanceOptions options);
  ~Maintenance();  // Stop()

  // One pass; the first error is returned after the other steps ran.
  absl::Status RunOnce();

  // Runs passes every interval on a thread (the first one at once) until Stop().
  void Start();
  void Stop();

 private:
  IdentityStore* const store_;
  const common::Clock* const clock_;
  IdentityObserver* const observer_;
  const MaintenanceOptions options_;
  common::PeriodicThread thread_;  // last: stopped first
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_MAINTENANCE_H_
