#include "common/events/event_intake.h"

#include <string>

#include "common/logging.h"

namespace marketplace::common::events {

EventIntake::EventIntake(db::ConnectionPool* pool) : revocations_(pool), consumer_(pool) {
  AddRevocationConsumer(consumer_, revocations_);
}

void EventIntake::Start() {
  if (absl::Status s = revocations_.Refresh(); !s.ok()) {
    LogWarn("revocation table not read yet", {{"error", std::string(s.message())}});
  }
  revocations_.Start();
}

}  // namespace marketplace::common::events
