#ifndef MARKETPLACE_COMMON_PROTO_TIME_H_
#define MARKETPLACE_COMMON_PROTO_TIME_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace marketplace::common {

// absl::Time <-> google.protobuf.Timestamp, the one conversion every service uses. The
// platform's times have microsecond resolution (what the database keeps, DATETIME(6)), so
// ToTimestamp floors to the microsecond: an answer shows the time a later read returns.
// Times before the epoch keep nanos in [0, 1e9) as the Timestamp spec requires.
google::protobuf::Timestamp ToTimestamp(absl::Time time);
void ToTimestamp(absl::Time time, google::protobuf::Timestamp* out);

// INVALID_ARGUMENT naming `field` when `ts` is outside the Timestamp range (years 1-9999) or
// its nanos are not in [0, 1e9).
absl::StatusOr<absl::Time> FromTimestamp(const google::protobuf::Timestamp& ts,
                                         absl::string_view field);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_PROTO_TIME_H_
