#ifndef MARKETPLACE_SERVICES_IDENTITY_IDEMPOTENCY_H_
#define MARKETPLACE_SERVICES_IDENTITY_IDEMPOTENCY_H_

#include <initializer_list>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/identity/identity_store.h"

// Client request ids (AIP-155): the same request repeated with the same id has one effect and
// gets the first answer; the id reused for another request is refused.

namespace marketplace::identity {

// How long a request id is remembered.
inline constexpr absl::Duration kIdempotencyRetention = absl::Hours(24);

// What makes two requests "the same": SHA-256 over the given fields (length-prefixed, so
// ("ab","c") and ("a","bc") differ). Never include a password as such: a fast hash of one is a
// gift to whoever reads the table; include its KeyedDigest.
std::string RequestFingerprint(std::initializer_list<absl::string_view> fields);

// HMAC-SHA256 of `data` under `key` (raw 32 bytes): how a secret such as a password enters a
// fingerprint. Without the key (derived from the KEK, never in the database) the stored
// fingerprint cannot be used to test guesses.
std::string KeyedDigest(absl::string_view key, absl::string_view data);

// In a transaction, before doing the work: claims (scope, request_id) for `resource_id`, the
// id the work is about to create. Returns nullopt when the request is new (the claim is then
// part of the transaction); the resource id the first request made when this is a repeat; and
// FAILED_PRECONDITION reason REQUEST_ID_REUSED when the id was used for a different request.
// A concurrent request with the same id makes this ABORTED reason IDEMPOTENCY_RACE; running
// the transaction again (TransactIdempotent) then finds the winner's record.
[[nodiscard]] absl::StatusOr<std::optional<std::string>> ClaimRequestId(
    IdentityTransaction& tx, absl::string_view scope, absl::string_view request_id,
    absl::string_view fingerprint, absl::string_view resource_id, absl::Time now);

// store.Transact(work), run once more when it failed with IDEMPOTENCY_RACE.
[[nodiscard]] absl::Status TransactIdempotent(IdentityStore& store,
                                              const IdentityStore::Work& work);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_IDEMPOTENCY_H_
