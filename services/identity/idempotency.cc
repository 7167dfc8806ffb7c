#include "services/identity/idempotency.h"

#include <sodium.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "services/identity/secrets.h"

namespace marketplace::identity {

std::string RequestFingerprint(std::initializer_list<absl::string_view> fields) {
  std::string material;
  for (absl::string_view f : fields) absl::StrAppend(&material, f.size(), ":", f, ";");
  return common::HexEncode(common::Sha256(material));
}

std::string KeyedDigest(absl::string_view key, absl::string_view data) {
  static_assert(crypto_auth_hmacsha256_BYTES == 32);
  std::string normalized_key = common::Sha256(key);  // any length in, 32 bytes out
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256(reinterpret_cast<unsigned char*>(out.data()),
                         reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                         reinterpret_cast<const unsigned char*>(normalized_key.data()));
  return out;
}

absl::StatusOr<std::optional<std::string>> ClaimRequestId(IdentityTransaction& tx,
                                                          absl::string_view scope,
                                                          absl::string_view request_id,
                                                          absl::string_view fingerprint,
                                                          absl::string_view resource_id,
                                                          absl::Time now) {
  if (request_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<IdempotencyRecord> existing,
                   tx.FindIdempotencyRecord(scope, request_id));
  if (existing && existing->created_at + kIdempotencyRetention > now) {
    if (existing->fingerprint != fingerprint) {
      return common::FailedPrecondition(
          "REQUEST_ID_REUSED", "request_id was already used for a different request");
    }
    return existing->resource_id;
  }
  if (existing) RETURN_IF_ERROR(tx.DeleteIdempotencyRecord(scope, request_id));  // expired
  IdempotencyRecord record;
  record.scope = std::string(scope);
  record.request_id = std::string(request_id);
  record.fingerprint = std::string(fingerprint);
  record.resource_id = std::string(resource_id);
  record.created_at = now;
  absl::Status inserted = tx.InsertIdempotencyRecord(record);
  if (absl::IsAlreadyExists(inserted)) {
    // A concurrent twin committed first.
    return common::WithReason(absl::AbortedError("a request with this request_id is in flight"),
                              "IDEMPOTENCY_RACE");
  }
  RETURN_IF_ERROR(inserted);
  return std::nullopt;
}

absl::Status TransactIdempotent(IdentityStore& store, const IdentityStore::Work& work) {
  absl::Status status = store.Transact(work);
  if (status.code() == absl::StatusCode::kAborted &&
      common::ReasonOf(status) == "IDEMPOTENCY_RACE") {
    status = store.Transact(work);
  }
  return status;
}

}  // namespace marketplace::identity
