#include "common/proto_time.h"

#include <cstdint>

#include "common/errors.h"

namespace marketplace::common {
namespace {
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range of google.protobuf.Timestamp.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;
}  // namespace

void ToTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  // ToUnixMicros and ToUnixSeconds round towards negative infinity.
  const absl::Time micros = absl::FromUnixMicros(absl::ToUnixMicros(time));
  const int64_t seconds = absl::ToUnixSeconds(micros);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(micros - absl::FromUnixSeconds(seconds))));
}

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  google::protobuf::Timestamp ts;
  ToTimestamp(time, &ts);
  return ts;
}

absl::StatusOr<absl::Time> FromTimestamp(const google::protobuf::Timestamp& ts,
                                         absl::string_view field) {
  if (ts.seconds() < kMinSeconds || ts.seconds() > kMaxSeconds || ts.nanos() < 0 ||
      ts.nanos() > 999999999) {
    return InvalidField(field, "must be a valid timestamp (years 1-9999, nanos 0-999999999)");
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace marketplace::common
