#include "common/idempotency/request_id.h"

#include "common/errors.h"
#include "common/ids.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace marketplace::common::idempotency {

bool IsValidRequestId(absl::string_view request_id) {
  if (request_id.empty() || request_id.size() > 128) return false;
  for (char c : request_id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::Status ValidateRequestId(absl::string_view field, absl::string_view request_id) {
  if (IsValidRequestId(request_id)) return absl::OkStatus();
  return InvalidField(field, "must be 1-128 characters of A-Z a-z 0-9 . _ : -");
}

std::string RequestHash(const google::protobuf::Message& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  return Sha256(bytes);
}

}  // namespace marketplace::common::idempotency
