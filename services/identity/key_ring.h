#ifndef MARKETPLACE_SERVICES_IDENTITY_KEY_RING_H_
#define MARKETPLACE_SERVICES_IDENTITY_KEY_RING_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "services/identity/identity_store.h"
#include "services/identity/key_encryption.h"
#include "services/identity/permissions.h"

namespace marketplace::identity {

struct KeyRingOptions {
  // The longest lifetime of any token signed (access and service tokens): a retired key stays
  // published this long, plus the two margins below.
  absl::Duration max_token_lifetime = absl::Minutes(15);
  // How long a replica keeps signing with the active key it last read. After a rotation on one
  // replica, the others switch within this time (their tokens stay verifiable: the old key is
  // still published).
  absl::Duration active_key_cache_ttl = absl::Seconds(5);
  // The clock skew verifiers allow.
  absl::Duration clock_skew = absl::Seconds(60);
  // Least time between two rotations. Verifiers know at most one key ahead (the NEXT key they
  // fetched); a second rotation before they fetch again activates a key they do not know.
  // Zero: no limit.
  absl::Duration min_rotation_interval = absl::ZeroDuration();
};

// The token signing keys: Ed25519, private keys sealed with the KEK in the database, public
// keys published. Every replica shares them through the database. Thread-safe. Also the
// KeyFetcher of identity's own token verifier (it reads the database, not the network).
class KeyRing final : public common::auth::KeyFetcher {
 public:
  // All pointers must outlive the key ring.
  KeyRing(IdentityStore* store, const KeyEncryptor* encryptor, const common::Clock* clock,
          KeyRingOptions options);

  // Makes sure an ACTIVE and a NEXT key exist (creating them at first start) and that the
  // active one opens with this KEK. Safe when several replicas start at once. A wrong KEK is
  // FAILED_PRECONDITION reason WRONG_KEY_ENCRYPTION_KEY.
  [[nodiscard]] absl::Status EnsureKeys();

  struct SigningKey {
    std::string kid;
    std::string private_key;  // raw Ed25519 seed
  };
  // The key new tokens are signed with.
  [[nodiscard]] absl::StatusOr<SigningKey> Active();

  // NEXT, ACTIVE and still-published RETIRED keys (no private parts).
  [[nodiscard]] absl::StatusOr<std::vector<StoredSigningKey>> Published();

  struct Rotation {
    StoredSigningKey active;
    StoredSigningKey previous;
    StoredSigningKey next;
  };
  // Retires the active key, promotes the next one and publishes a new next key. With a
  // request_id, a repeat returns the first rotation's keys. ADMIN callers only
  // (UNAUTHENTICATED without a caller, PERMISSION_DENIED for other roles). Within
  // min_rotation_interval of the previous rotation: FAILED_PRECONDITION reason
  // ROTATION_TOO_SOON, nothing changed (a repeat of that previous request still answers).
  [[nodiscard]] absl::StatusOr<Rotation> Rotate(const RequestContext& ctx,
                                                absl::string_view request_id);

  // KeyFetcher: the published keys as verifiers want them.
  absl::StatusOr<std::vector<common::auth::PublicKey>> FetchKeys() override;

 private:
  // A fresh key in `state`, sealed with the KEK.
  absl::StatusOr<StoredSigningKey> NewKey(SigningKeyState state, absl::Time now) const;

  IdentityStore* const store_;
  const KeyEncryptor* const encryptor_;
  const common::Clock* const clock_;
  const KeyRingOptions options_;

  absl::Mutex mu_;
  std::optional<SigningKey> cached_ ABSL_GUARDED_BY(mu_);
  absl::Time cached_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_KEY_RING_H_
