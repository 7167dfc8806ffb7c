#include "services/identity/key_ring.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth/jwt.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "services/identity/audit.h"
#include "services/identity/field_rules.h"
#include "services/identity/idempotency.h"
#include "services/identity/secrets.h"

namespace marketplace::identity {

KeyRing::KeyRing(IdentityStore* store, const KeyEncryptor* encryptor, const common::Clock* clock,
                 KeyRingOptions options)
    : store_(store), encryptor_(encryptor), clock_(clock), options_(options) {}

absl::StatusOr<StoredSigningKey> KeyRing::NewKey(SigningKeyState state, absl::Time now) const {
  ASSIGN_OR_RETURN(common::auth::Ed25519KeyPair pair, common::auth::GenerateEd25519KeyPair());
  StoredSigningKey key;
  key.kid = NewOpaqueId().substr(0, 16);
  key.alg = std::string(common::auth::kAlgEdDsa);
  key.public_key = pair.public_key;
  key.encrypted_private_key = encryptor_->Seal(pair.private_key);
  key.kek_id = encryptor_->kek_id();
  key.state = state;
  key.created_at = now;
  if (state == SigningKeyState::kActive) key.activated_at = now;
  return key;
}

absl::Status KeyRing::EnsureKeys() {
  for (SigningKeyState state : {SigningKeyState::kActive, SigningKeyState::kNext}) {
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(StoredSigningKey fresh, NewKey(state, now));
    absl::Status status = store_->Transact([&](IdentityTransaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<StoredSigningKey> existing, tx.FindKeyInState(state, true));
      if (existing) return absl::OkStatus();
      RETURN_IF_ERROR(tx.InsertKey(fresh));
      return tx.AppendAudit(
          MakeAuditEvent(audit::kSigningKeyCreated, RequestContext{}, "",
                         {{"kid", fresh.kid}, {"state", SigningKeyStateName(state)}}, now));
    });
    // Another replica created it at the same moment: theirs is as good as ours.
    if (!status.ok() && !absl::IsAlreadyExists(status)) return status;
  }
  // Fails here, at start-up, when the KEK is not the one the keys were sealed with.
  return Active().status();
}

absl::StatusOr<KeyRing::SigningKey> KeyRing::Active() {
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    if (cached_ && now - cached_at_ < options_.active_key_cache_ttl) return *cached_;
  }
  std::optional<StoredSigningKey> stored;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(stored, tx.FindKeyInState(SigningKeyState::kActive, false));
    return absl::OkStatus();
  }));
  if (!stored) {
    return common::FailedPrecondition("NO_ACTIVE_SIGNING_KEY", "no active token signing key");
  }
  absl::MutexLock lock(&mu_);
  if (!cached_ || cached_->kid != stored->kid) {
    absl::StatusOr<std::string> private_key = encryptor_->Open(stored->encrypted_private_key);
    if (!private_key.ok()) {
      return common::WithReason(
          absl::FailedPreconditionError(absl::StrCat(
              "signing key ", stored->kid, " cannot be decrypted with this key-encryption key (id ",
              encryptor_->kek_id(), "; the key was sealed with id ", stored->kek_id, ")")),
          "WRONG_KEY_ENCRYPTION_KEY");
    }
    cached_ = SigningKey{stored->kid, *std::move(private_key)};
  }
  cached_at_ = now;
  return *cached_;
}

absl::StatusOr<std::vector<StoredSigningKey>> KeyRing::Published() {
  std::vector<StoredSigningKey> keys;
  RETURN_IF_ERROR(store_->Read([&](IdentityTransaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(keys, tx.ListPublishedKeys(clock_->Now()));
    return absl::OkStatus();
  }));
  for (StoredSigningKey& key : keys) key.encrypted_private_key.clear();
  return keys;
}

absl::StatusOr<KeyRing::Rotation> KeyRing::Rotate(const RequestContext& ctx,
                                                  absl::string_view request_id) {
  RETURN_IF_ERROR(
      Authorize(Method::kRotateSigningKey, ctx.caller ? &*ctx.caller : nullptr, nullptr));
  RETURN_IF_ERROR(CheckRequestId(request_id, "request_id"));
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(StoredSigningKey new_next, NewKey(SigningKeyState::kNext, now));
  // Tokens signed by the retiring key, on any replica, expire at most this long from now.
  const absl::Time expires =
      now + options_.max_token_lifetime + options_.active_key_cache_ttl + options_.clock_skew;
  Rotation rotation;
  RETURN_IF_ERROR(TransactIdempotent(*store_, [&](IdentityTransaction& tx) -> absl::Status {
    rotation = Rotation{};
    // Locking the active key first serialises concurrent rotations.
    ASSIGN_OR_RETURN(std::optional<StoredSigningKey> active,
                     tx.FindKeyInState(SigningKeyState::kActive, true));
    ASSIGN_OR_RETURN(std::optional<StoredSigningKey> next,
                     tx.FindKeyInState(SigningKeyState::kNext, true));
    if (!active) return absl::FailedPreconditionError("no active signing key to rotate");
    const bool make_next = !next;
    if (make_next) {
      // Only when a previous start failed half-way: promote a key made now.
      ASSIGN_OR_RETURN(next, NewKey(SigningKeyState::kNext, now));
    }
    // The record of a request id names all three keys: "<previous>/<active>/<next>".
    ASSIGN_OR_RETURN(
        std::optional<std::string> replay,
        ClaimRequestId(tx, absl::StrCat("RotateSigningKey:", ctx.caller_id()), request_id,
                       RequestFingerprint({}),
                       absl::StrCat(active->kid, "/", next->kid, "/", new_next.kid), now));
    if (replay) {
      std::vector<std::string> kids = absl::StrSplit(*replay, '/');
      if (kids.size() != 3) return absl::InternalError("malformed rotation record");
      StoredSigningKey* slots[] = {&rotation.previous, &rotation.active, &rotation.next};
      for (int i = 0; i < 3; ++i) {
        ASSIGN_OR_RETURN(std::optional<StoredSigningKey> key, tx.FindKey(kids[i]));
        if (!key) return absl::InternalError("rotated key vanished");
        *slots[i] = *std::move(key);
      }
      return absl::OkStatus();
    }
    if (options_.min_rotation_interval > absl::ZeroDuration()) {
      // Read after locking the active key: a concurrent rotation has committed or waits.
      ASSIGN_OR_RETURN(std::optional<absl::Time> last, tx.LastKeyRotation());
      if (last && now - *last < options_.min_rotation_interval) {
        return common::FailedPrecondition(
            "ROTATION_TOO_SOON",
            absl::StrCat("the signing key was rotated ", absl::FormatDuration(now - *last),
                         " ago; rotate at most once every ",
                         absl::FormatDuration(options_.min_rotation_interval),
                         " so that verifiers know the new active key"));
      }
    }
    if (make_next) RETURN_IF_ERROR(tx.InsertKey(*next));
    // Order matters: each state holds at most one key at any moment.
    active->state = SigningKeyState::kRetired;
    active->retired_at = now;
    active->expires_at = expires;
    RETURN_IF_ERROR(tx.UpdateKeyState(*active));
    next->state = SigningKeyState::kActive;
    next->activated_at = now;
    RETURN_IF_ERROR(tx.UpdateKeyState(*next));
    RETURN_IF_ERROR(tx.InsertKey(new_next));
    RETURN_IF_ERROR(tx.AppendAudit(MakeAuditEvent(
        audit::kSigningKeyRotated, ctx, "",
        {{"retired_kid", active->kid}, {"active_kid", next->kid}, {"next_kid", new_next.kid}},
        now)));
    rotation.previous = *active;
    rotation.active = *next;
    rotation.next = new_next;
    return absl::OkStatus();
  }));
  for (StoredSigningKey* key : {&rotation.active, &rotation.previous, &rotation.next}) {
    key->encrypted_private_key.clear();
  }
  // This replica switches at once; the others within active_key_cache_ttl.
  absl::MutexLock lock(&mu_);
  cached_at_ = absl::InfinitePast();
  return rotation;
}

absl::StatusOr<std::vector<common::auth::PublicKey>> KeyRing::FetchKeys() {
  ASSIGN_OR_RETURN(std::vector<StoredSigningKey> keys, Published());
  std::vector<common::auth::PublicKey> out;
  out.reserve(keys.size());
  for (const StoredSigningKey& key : keys) out.push_back({key.kid, key.alg, key.public_key});
  return out;
}

}  // namespace marketplace::identity
