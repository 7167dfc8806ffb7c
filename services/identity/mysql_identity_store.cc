#include "services/identity/mysql_identity_store.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/db/migrations.h"
#include "common/db/sql_errors.h"
#include "common/db/sql_value.h"
#include "common/db/transaction.h"
#include "common/errors.h"
#include "common/status_macros.h"
#include "services/identity/identity_migrations.h"

namespace marketplace::identity {
namespace {

using common::db::Row;
using common::db::SqlValue;

// Where the statements of one unit of work go: a transaction, or one autocommit connection.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual absl::StatusOr<std::vector<Row>> Query(absl::string_view sql,
                                                 absl::Span<const SqlValue> params) = 0;
  virtual absl::StatusOr<int64_t> Execute(absl::string_view sql,
                                          absl::Span<const SqlValue> params) = 0;
  virtual absl::StatusOr<int64_t> LastInsertId() = 0;
};

template <typename Target>
class ExecutorOn final : public Executor {
 public:
  explicit ExecutorOn(Target& target) : target_(target) {}
  absl::StatusOr<std::vector<Row>> Query(absl::string_view sql,
                                         absl::Span<const SqlValue> params) override {
    return target_.Query(sql, params);
  }
  absl::StatusOr<int64_t> Execute(absl::string_view sql,
                                  absl::Span<const SqlValue> params) override {
    return target_.Execute(sql, params);
  }
  absl::StatusOr<int64_t> LastInsertId() override { return target_.LastInsertId(); }

 private:
  Target& target_;
};

// Digests and keys are stored as lower-case hex (see migrations/0001_init.sql).
std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }
std::string Unhex(absl::string_view hex) { return absl::HexStringToBytes(hex); }

SqlValue NullIfEmpty(const std::string& s) {
  if (s.empty()) return nullptr;
  return s;
}
SqlValue OptionalTime(const std::optional<absl::Time>& t) {
  if (!t) return nullptr;
  return *t;
}

bool IsDuplicateKey(const absl::Status& status) {
  return common::db::MySqlErrorCodeOf(status) == common::db::kErrDuplicateKey;
}

absl::Status Corrupt(absl::string_view what, absl::string_view value) {
  return absl::InternalError(absl::StrCat("unexpected ", what, " in the database: '", value, "'"));
}

// ---- accounts ----

constexpr absl::string_view kAccountColumns =
    "id, email, email_key, display_name, role, status, password_hash, client_secret_sha256, "
    "scopes, suspension_reason_code, suspension_reason, suspended_by, suspended_at, "
    "sessions_not_before, created_at, updated_at";

absl::StatusOr<Account> AccountFromRow(const Row& row) {
  Account a;
  ASSIGN_OR_RETURN(a.id, row.GetString("id"));
  ASSIGN_OR_RETURN(std::optional<std::string> email, row.GetOptionalString("email"));
  a.email = email.value_or("");
  ASSIGN_OR_RETURN(std::optional<std::string> email_key, row.GetOptionalString("email_key"));
  a.email_key = email_key.value_or("");
  ASSIGN_OR_RETURN(a.display_name, row.GetString("display_name"));
  ASSIGN_OR_RETURN(std::string role, row.GetString("role"));
  std::optional<Role> parsed_role = RoleFromName(role);
  if (!parsed_role) return Corrupt("account role", role);
  a.role = *parsed_role;
  ASSIGN_OR_RETURN(std::string status, row.GetString("status"));
  std::optional<AccountStatus> parsed_status = AccountStatusFromName(status);
  if (!parsed_status) return Corrupt("account status", status);
  a.status = *parsed_status;
  ASSIGN_OR_RETURN(std::optional<std::string> password_hash,
                   row.GetOptionalString("password_hash"));
  a.password_hash = password_hash.value_or("");
  ASSIGN_OR_RETURN(std::optional<std::string> secret_hash,
                   row.GetOptionalString("client_secret_sha256"));
  a.client_secret_hash = secret_hash ? Unhex(*secret_hash) : "";
  ASSIGN_OR_RETURN(std::string scopes, row.GetString("scopes"));
  a.scopes = absl::StrSplit(scopes, ' ', absl::SkipEmpty());
  ASSIGN_OR_RETURN(std::optional<absl::Time> suspended_at, row.GetOptionalTime("suspended_at"));
  if (suspended_at) {
    Suspension s;
    s.suspended_at = *suspended_at;
    ASSIGN_OR_RETURN(std::optional<std::string> code,
                     row.GetOptionalString("suspension_reason_code"));
    s.reason_code = code.value_or("");
    ASSIGN_OR_RETURN(std::optional<std::string> reason, row.GetOptionalString("suspension_reason"));
    s.reason = reason.value_or("");
    ASSIGN_OR_RETURN(std::optional<std::string> by, row.GetOptionalString("suspended_by"));
    s.suspended_by = by.value_or("");
    a.suspension = std::move(s);
  }
  ASSIGN_OR_RETURN(a.sessions_not_before, row.GetOptionalTime("sessions_not_before"));
  ASSIGN_OR_RETURN(a.created_at, row.GetTime("created_at"));
  ASSIGN_OR_RETURN(a.updated_at, row.GetTime("updated_at"));
  return a;
}

// The columns of kAccountColumns, each qualified with the table alias "a.".
std::string QualifiedAccountColumns() {
  std::vector<std::string> columns;
  for (absl::string_view column : absl::StrSplit(kAccountColumns, ", ")) {
    columns.push_back(absl::StrCat("a.", column));
  }
  return absl::StrJoin(columns, ", ");
}

const std::string& CallerAccountSql() {
  static const std::string* sql = new std::string(
      absl::StrCat("SELECT ", QualifiedAccountColumns(),
                   ", s.id AS session_id, s.revoked_at AS revoked_at FROM accounts a "
                   "LEFT JOIN sessions s ON s.id = ? AND s.account_id = a.id WHERE a.id = ?"));
  return *sql;
}

// A row with `status`, `sessions_not_before`, `session_id` and `revoked_at` of an existing
// account.
absl::StatusOr<CallerState> CallerStateFromRow(const Row& row) {
  CallerState state;
  state.account_exists = true;
  ASSIGN_OR_RETURN(std::string status, row.GetString("status"));
  std::optional<AccountStatus> parsed = AccountStatusFromName(status);
  if (!parsed) return Corrupt("account status", status);
  state.status = *parsed;
  state.session_exists = !row.IsNull("session_id");
  state.session_revoked = state.session_exists && !row.IsNull("revoked_at");
  ASSIGN_OR_RETURN(state.sessions_not_before, row.GetOptionalTime("sessions_not_before"));
  return state;
}

absl::StatusOr<std::optional<Account>> OneAccount(absl::StatusOr<std::vector<Row>> rows) {
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::nullopt;
  ASSIGN_OR_RETURN(Account account, AccountFromRow(rows->front()));
  return account;
}

// ---- sessions and refresh tokens ----

absl::StatusOr<Session> SessionFromRow(const Row& row) {
  Session s;
  ASSIGN_OR_RETURN(s.id, row.GetString("id"));
  ASSIGN_OR_RETURN(s.account_id, row.GetString("account_id"));
  ASSIGN_OR_RETURN(s.created_at, row.GetTime("created_at"));
  ASSIGN_OR_RETURN(s.expires_at, row.GetTime("expires_at"));
  ASSIGN_OR_RETURN(s.revoked_at, row.GetOptionalTime("revoked_at"));
  ASSIGN_OR_RETURN(std::optional<std::string> reason, row.GetOptionalString("revoke_reason"));
  s.revoke_reason = reason.value_or("");
  return s;
}

absl::StatusOr<RefreshTokenRecord> RefreshTokenFromRow(const Row& row) {
  RefreshTokenRecord t;
  ASSIGN_OR_RETURN(std::string hash, row.GetString("token_sha256"));
  t.token_hash = Unhex(hash);
  ASSIGN_OR_RETURN(t.session_id, row.GetString("session_id"));
  ASSIGN_OR_RETURN(t.created_at, row.GetTime("created_at"));
  ASSIGN_OR_RETURN(t.expires_at, row.GetTime("expires_at"));
  ASSIGN_OR_RETURN(t.used_at, row.GetOptionalTime("used_at"));
  return t;
}

// ---- signing keys ----

constexpr absl::string_view kKeyColumns =
    "kid, alg, public_key_hex, sealed_private_key_hex, kek_id, state, created_at, activated_at, "
    "retired_at, expires_at";

absl::StatusOr<StoredSigningKey> KeyFromRow(const Row& row) {
  StoredSigningKey k;
  ASSIGN_OR_RETURN(k.kid, row.GetString("kid"));
  ASSIGN_OR_RETURN(k.alg, row.GetString("alg"));
  ASSIGN_OR_RETURN(std::string public_hex, row.GetString("public_key_hex"));
  k.public_key = Unhex(public_hex);
  ASSIGN_OR_RETURN(std::string sealed_hex, row.GetString("sealed_private_key_hex"));
  k.encrypted_private_key = Unhex(sealed_hex);
  ASSIGN_OR_RETURN(k.kek_id, row.GetString("kek_id"));
  ASSIGN_OR_RETURN(std::string state, row.GetString("state"));
  std::optional<SigningKeyState> parsed = SigningKeyStateFromName(state);
  if (!parsed) return Corrupt("signing key state", state);
  k.state = *parsed;
  ASSIGN_OR_RETURN(k.created_at, row.GetTime("created_at"));
  ASSIGN_OR_RETURN(k.activated_at, row.GetOptionalTime("activated_at"));
  ASSIGN_OR_RETURN(k.retired_at, row.GetOptionalTime("retired_at"));
  ASSIGN_OR_RETURN(k.expires_at, row.GetOptionalTime("expires_at"));
  return k;
}

absl::StatusOr<std::optional<StoredSigningKey>> OneKey(absl::StatusOr<std::vector<Row>> rows) {
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::nullopt;
  ASSIGN_OR_RETURN(StoredSigningKey key, KeyFromRow(rows->front()));
  return key;
}

// ---- the unit of work ----

class MySqlIdentityTransaction final : public IdentityTransaction {
 public:
  // `tx` and `outbox`: set inside Transact (events need a transaction).
  MySqlIdentityTransaction(Executor& db, common::db::Transaction* tx,
                           const common::outbox::Outbox* outbox)
      : db_(db), tx_(tx), outbox_(outbox) {}

  // --- events ---

  absl::Status EnqueueEvent(absl::string_view topic, absl::string_view key,
                            const google::protobuf::Message& payload) override {
    if (tx_ == nullptr || outbox_ == nullptr) {
      return absl::FailedPreconditionError("events are written only inside a transaction");
    }
    return outbox_->Enqueue(*tx_, topic, key, payload).status();
  }

  // --- accounts ---

  absl::Status InsertAccount(const Account& a) override {
    const std::string sql = absl::StrCat("INSERT INTO accounts (", kAccountColumns,
                                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    absl::Status status = db_.Execute(sql, AccountValues(a)).status();
    if (IsDuplicateKey(status) && absl::StrContains(status.message(), "email_key")) {
      return common::WithReason(
          absl::AlreadyExistsError("an account with this email already exists"), "EMAIL_TAKEN");
    }
    return status;
  }

  absl::StatusOr<std::optional<Account>> FindAccount(absl::string_view id,
                                                     bool for_update) override {
    return OneAccount(
        db_.Query(absl::StrCat("SELECT ", kAccountColumns, " FROM accounts WHERE id = ?",
                               for_update ? " FOR UPDATE" : ""),
                  {std::string(id)}));
  }

  absl::StatusOr<std::optional<Account>> FindAccountByEmailKey(
      absl::string_view email_key) override {
    return OneAccount(
        db_.Query(absl::StrCat("SELECT ", kAccountColumns, " FROM accounts WHERE email_key = ?"),
                  {std::string(email_key)}));
  }

  absl::Status UpdateAccount(const Account& a) override {
    const Suspension* s = a.suspension ? &*a.suspension : nullptr;
    ASSIGN_OR_RETURN(
        int64_t matched,
        db_.Execute("UPDATE accounts SET display_name = ?, status = ?, password_hash = ?, "
                    "suspension_reason_code = ?, suspension_reason = ?, suspended_by = ?, "
                    "suspended_at = ?, updated_at = ? WHERE id = ?",
                    {a.display_name, std::string(AccountStatusName(a.status)),
                     NullIfEmpty(a.password_hash), s ? SqlValue(s->reason_code) : SqlValue(nullptr),
                     s ? SqlValue(s->reason) : SqlValue(nullptr),
                     s ? NullIfEmpty(s->suspended_by) : SqlValue(nullptr),
                     s ? SqlValue(s->suspended_at) : SqlValue(nullptr), a.updated_at, a.id}));
    if (matched == 0) return absl::NotFoundError(absl::StrCat("account ", a.id, " not found"));
    return absl::OkStatus();
  }

  absl::Status RaiseSessionsNotBefore(absl::string_view account_id, absl::Time now) override {
    ASSIGN_OR_RETURN(
        int64_t matched,
        db_.Execute("UPDATE accounts SET sessions_not_before = IF(sessions_not_before IS NULL OR "
                    "sessions_not_before < ?, ?, sessions_not_before + INTERVAL 1 MICROSECOND) "
                    "WHERE id = ?",
                    {now, now, std::string(account_id)}));
    if (matched == 0) {
      return absl::NotFoundError(absl::StrCat("account ", account_id, " not found"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Account>> ListAccounts(const AccountFilter& filter,
                                                    const std::optional<AccountCursor>& after,
                                                    int limit) override {
    std::string sql = absl::StrCat("SELECT ", kAccountColumns, " FROM accounts WHERE TRUE");
    std::vector<SqlValue> params;
    if (filter.role) {
      absl::StrAppend(&sql, " AND role = ?");
      params.emplace_back(std::string(RoleName(*filter.role)));
    }
    if (filter.status) {
      absl::StrAppend(&sql, " AND status = ?");
      params.emplace_back(std::string(AccountStatusName(*filter.status)));
    }
    if (after) {
      absl::StrAppend(&sql, " AND (created_at > ? OR (created_at = ? AND id > ?))");
      params.emplace_back(after->created_at);
      params.emplace_back(after->created_at);
      params.emplace_back(after->id);
    }
    absl::StrAppend(&sql, " ORDER BY created_at, id LIMIT ?");
    params.emplace_back(static_cast<int64_t>(std::max(limit, 0)));
    ASSIGN_OR_RETURN(std::vector<Row> rows, db_.Query(sql, params));
    return common::db::ParseRows(rows, AccountFromRow);
  }

  absl::StatusOr<CallerState> LoadCallerState(absl::string_view account_id,
                                              absl::string_view session_id) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     db_.Query("SELECT a.status AS status, a.sessions_not_before AS "
                               "sessions_not_before, s.id AS session_id, "
                               "s.revoked_at AS revoked_at FROM accounts a "
                               "LEFT JOIN sessions s ON s.id = ? AND s.account_id = a.id "
                               "WHERE a.id = ?",
                               {std::string(session_id), std::string(account_id)}));
    if (rows.empty()) return CallerState{};
    return CallerStateFromRow(rows[0]);
  }

  absl::StatusOr<CallerAccount> LoadCallerAccount(absl::string_view account_id,
                                                  absl::string_view session_id) override {
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        db_.Query(CallerAccountSql(), {std::string(session_id), std::string(account_id)}));
    CallerAccount out;
    if (rows.empty()) return out;
    ASSIGN_OR_RETURN(out.state, CallerStateFromRow(rows[0]));
    ASSIGN_OR_RETURN(Account account, AccountFromRow(rows[0]));
    out.account = std::move(account);
    return out;
  }

  // --- idempotency ---

  absl::StatusOr<std::optional<IdempotencyRecord>> FindIdempotencyRecord(
      absl::string_view scope, absl::string_view request_id) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     db_.Query("SELECT scope, request_id, fingerprint, resource_id, created_at "
                               "FROM request_ids WHERE scope = ? AND request_id = ?",
                               {std::string(scope), std::string(request_id)}));
    if (rows.empty()) return std::nullopt;
    IdempotencyRecord r;
    ASSIGN_OR_RETURN(r.scope, rows[0].GetString("scope"));
    ASSIGN_OR_RETURN(r.request_id, rows[0].GetString("request_id"));
    ASSIGN_OR_RETURN(r.fingerprint, rows[0].GetString("fingerprint"));
    ASSIGN_OR_RETURN(r.resource_id, rows[0].GetString("resource_id"));
    ASSIGN_OR_RETURN(r.created_at, rows[0].GetTime("created_at"));
    return r;
  }

  absl::Status InsertIdempotencyRecord(const IdempotencyRecord& r) override {
    return db_
        .Execute(
            "INSERT INTO request_ids (scope, request_id, fingerprint, resource_id, "
            "created_at) VALUES (?, ?, ?, ?, ?)",
            {r.scope, r.request_id, r.fingerprint, r.resource_id, r.created_at})
        .status();
  }

  absl::Status DeleteIdempotencyRecord(absl::string_view scope,
                                       absl::string_view request_id) override {
    return db_
        .Execute("DELETE FROM request_ids WHERE scope = ? AND request_id = ?",
                 {std::string(scope), std::string(request_id)})
        .status();
  }

  absl::StatusOr<int64_t> DeleteIdempotencyRecordsBefore(absl::Time before, int limit) override {
    return db_.Execute("DELETE FROM request_ids WHERE created_at < ? LIMIT ?",
                       {before, static_cast<int64_t>(limit)});
  }

  // --- sessions ---

  absl::Status InsertSession(const Session& s) override {
    return db_
        .Execute(
            "INSERT INTO sessions (id, account_id, created_at, expires_at, revoked_at, "
            "revoke_reason) VALUES (?, ?, ?, ?, ?, ?)",
            {s.id, s.account_id, s.created_at, s.expires_at, OptionalTime(s.revoked_at),
             NullIfEmpty(s.revoke_reason)})
        .status();
  }

  absl::StatusOr<std::optional<Session>> FindSession(absl::string_view id,
                                                     bool for_update) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     db_.Query(absl::StrCat("SELECT id, account_id, created_at, expires_at, "
                                            "revoked_at, revoke_reason FROM sessions WHERE id = ?",
                                            for_update ? " FOR UPDATE" : ""),
                               {std::string(id)}));
    if (rows.empty()) return std::nullopt;
    ASSIGN_OR_RETURN(Session s, SessionFromRow(rows[0]));
    return s;
  }

  absl::StatusOr<bool> RevokeSession(absl::string_view session_id, absl::string_view reason,
                                     absl::Time now) override {
    ASSIGN_OR_RETURN(int64_t matched,
                     db_.Execute("UPDATE sessions SET revoked_at = ?, revoke_reason = ? "
                                 "WHERE id = ? AND revoked_at IS NULL",
                                 {now, std::string(reason), std::string(session_id)}));
    return matched == 1;
  }

  absl::StatusOr<int> RevokeSessionsOf(absl::string_view account_id,
                                       absl::string_view keep_session_id, absl::string_view reason,
                                       absl::Time now) override {
    ASSIGN_OR_RETURN(int64_t matched,
                     db_.Execute("UPDATE sessions SET revoked_at = ?, revoke_reason = ? "
                                 "WHERE account_id = ? AND revoked_at IS NULL AND expires_at > ? "
                                 "AND id <> ?",
                                 {now, std::string(reason), std::string(account_id), now,
                                  std::string(keep_session_id)}));
    return static_cast<int>(matched);
  }

  absl::StatusOr<int64_t> CountActiveSessions(absl::Time now) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows, db_.Query("SELECT COUNT(*) AS n FROM sessions "
                                                      "WHERE expires_at > ? AND revoked_at IS NULL",
                                                      {now}));
    return rows.at(0).GetInt64("n");
  }

  absl::StatusOr<int64_t> DeleteSessionsExpiredBefore(absl::Time before, int limit) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     db_.Query("SELECT id FROM sessions WHERE expires_at < ? "
                               "ORDER BY expires_at LIMIT ?",
                               {before, static_cast<int64_t>(limit)}));
    int64_t deleted = 0;
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(std::string id, row.GetString("id"));
      RETURN_IF_ERROR(
          db_.Execute("DELETE FROM refresh_tokens WHERE session_id = ?", {id}).status());
      ASSIGN_OR_RETURN(int64_t n, db_.Execute("DELETE FROM sessions WHERE id = ?", {id}));
      deleted += n;
    }
    return deleted;
  }

  // --- refresh tokens ---

  absl::Status InsertRefreshToken(const RefreshTokenRecord& t) override {
    return db_
        .Execute(
            "INSERT INTO refresh_tokens (token_sha256, session_id, created_at, expires_at, "
            "used_at) VALUES (?, ?, ?, ?, ?)",
            {Hex(t.token_hash), t.session_id, t.created_at, t.expires_at, OptionalTime(t.used_at)})
        .status();
  }

  absl::StatusOr<bool> ClaimRefreshToken(absl::string_view token_hash, absl::Time now) override {
    ASSIGN_OR_RETURN(int64_t matched,
                     db_.Execute("UPDATE refresh_tokens SET used_at = ? WHERE token_sha256 = ? "
                                 "AND used_at IS NULL AND expires_at > ?",
                                 {now, Hex(token_hash), now}));
    return matched == 1;
  }

  absl::StatusOr<std::optional<RefreshTokenRecord>> FindRefreshToken(
      absl::string_view token_hash) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     db_.Query("SELECT token_sha256, session_id, created_at, expires_at, used_at "
                               "FROM refresh_tokens WHERE token_sha256 = ? FOR UPDATE",
                               {Hex(token_hash)}));
    if (rows.empty()) return std::nullopt;
    ASSIGN_OR_RETURN(RefreshTokenRecord t, RefreshTokenFromRow(rows[0]));
    return t;
  }

  // --- login throttling ---

  absl::StatusOr<ThrottleState> LockThrottleState(absl::string_view email_hash,
                                                  absl::Time now) override {
    const std::string key = Hex(email_hash);
    RETURN_IF_ERROR(db_.Execute("INSERT INTO login_throttle (email_sha256) VALUES (?) "
                                "ON DUPLICATE KEY UPDATE email_sha256 = email_sha256",
                                {key})
                        .status());
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     db_.Query("SELECT consecutive_failures, last_failure_at FROM login_throttle "
                               "WHERE email_sha256 = ? FOR UPDATE",
                               {key}));
    return ThrottleStateOf(key, rows, now);
  }

  absl::StatusOr<int64_t> BeginAttempt(absl::string_view email_hash, absl::Time now) override {
    RETURN_IF_ERROR(db_.Execute("INSERT INTO login_failures (email_sha256, attempted_at, pending) "
                                "VALUES (?, ?, TRUE)",
                                {Hex(email_hash), now})
                        .status());
    return db_.LastInsertId();
  }

  absl::Status CompleteFailedAttempt(absl::string_view email_hash, int64_t attempt_id,
                                     absl::Time now) override {
    const std::string key = Hex(email_hash);
    RETURN_IF_ERROR(db_.Execute("UPDATE login_failures SET pending = FALSE, attempted_at = ? "
                                "WHERE id = ? AND email_sha256 = ?",
                                {now, attempt_id, key})
                        .status());
    return db_
        .Execute("INSERT INTO login_throttle (email_sha256, consecutive_failures, "
                 "last_failure_at) VALUES (?, 1, ?) ON DUPLICATE KEY UPDATE "
                 "consecutive_failures = consecutive_failures + 1, "
                 "last_failure_at = VALUES(last_failure_at)",
                 {key, now})
        .status();
  }

  absl::Status ForgiveAttempt(absl::string_view email_hash, int64_t attempt_id,
                              bool reset_consecutive) override {
    const std::string key = Hex(email_hash);
    RETURN_IF_ERROR(db_.Execute("DELETE FROM login_failures WHERE id = ? AND email_sha256 = ?",
                                {attempt_id, key})
                        .status());
    if (!reset_consecutive) return absl::OkStatus();
    return db_
        .Execute(
            "UPDATE login_throttle SET consecutive_failures = 0, last_failure_at = NULL "
            "WHERE email_sha256 = ?",
            {key})
        .status();
  }

  absl::StatusOr<ThrottleState> ReadThrottleState(absl::string_view email_hash,
                                                  absl::Time now) override {
    const std::string key = Hex(email_hash);
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     db_.Query("SELECT consecutive_failures, last_failure_at FROM login_throttle "
                               "WHERE email_sha256 = ?",
                               {key}));
    return ThrottleStateOf(key, rows, now);
  }

  absl::StatusOr<int64_t> DeleteFailedAttemptsBefore(absl::Time before, int limit) override {
    return db_.Execute("DELETE FROM login_failures WHERE attempted_at < ? LIMIT ?",
                       {before, static_cast<int64_t>(limit)});
  }

  // --- seller onboarding ---

  absl::StatusOr<SellerProfile> LoadSellerProfile(absl::string_view account_id,
                                                  bool for_update) override {
    SellerProfile profile;
    profile.account_id = std::string(account_id);
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        db_.Query(absl::StrCat("SELECT status, legal_name, registration_number, country_code, "
                               "payout_account_ref, contact_email, contact_phone, submitted_at "
                               "FROM seller_profiles WHERE account_id = ?",
                               for_update ? " FOR UPDATE" : ""),
                  {profile.account_id}));
    if (!rows.empty()) {
      const Row& row = rows[0];
      ASSIGN_OR_RETURN(std::string status, row.GetString("status"));
      std::optional<SellerStatus> parsed = SellerStatusFromName(status);
      if (!parsed) return Corrupt("seller status", status);
      profile.status = *parsed;
      SellerApplication app;
      ASSIGN_OR_RETURN(app.legal_name, row.GetString("legal_name"));
      ASSIGN_OR_RETURN(app.registration_number, row.GetString("registration_number"));
      ASSIGN_OR_RETURN(app.country_code, row.GetString("country_code"));
      ASSIGN_OR_RETURN(app.payout_account_ref, row.GetString("payout_account_ref"));
      ASSIGN_OR_RETURN(app.contact_email, row.GetString("contact_email"));
      ASSIGN_OR_RETURN(app.contact_phone, row.GetString("contact_phone"));
      profile.application = std::move(app);
      ASSIGN_OR_RETURN(absl::Time submitted_at, row.GetTime("submitted_at"));
      profile.submitted_at = submitted_at;
    }
    ASSIGN_OR_RETURN(std::vector<Row> decisions,
                     db_.Query("SELECT kind, reason_code, reason, decided_by, decided_at "
                               "FROM seller_decisions WHERE account_id = ? ORDER BY id",
                               {profile.account_id}));
    for (const Row& row : decisions) {
      SellerDecision d;
      ASSIGN_OR_RETURN(std::string kind, row.GetString("kind"));
      std::optional<SellerDecisionKind> parsed = SellerDecisionKindFromName(kind);
      if (!parsed) return Corrupt("seller decision kind", kind);
      d.kind = *parsed;
      ASSIGN_OR_RETURN(d.reason_code, row.GetString("reason_code"));
      ASSIGN_OR_RETURN(d.reason, row.GetString("reason"));
      ASSIGN_OR_RETURN(d.decided_by, row.GetString("decided_by"));
      ASSIGN_OR_RETURN(d.decided_at, row.GetTime("decided_at"));
      profile.decisions.push_back(std::move(d));
    }
    return profile;
  }

  absl::Status SaveSellerApplication(const SellerProfile& p) override {
    if (!p.application || !p.submitted_at || p.status == SellerStatus::kNotSubmitted) {
      return absl::InternalError("a saved seller profile needs an application and a status");
    }
    const SellerApplication& a = *p.application;
    return db_
        .Execute(
            "INSERT INTO seller_profiles (account_id, status, legal_name, "
            "registration_number, country_code, payout_account_ref, contact_email, "
            "contact_phone, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON DUPLICATE KEY UPDATE status = VALUES(status), "
            "legal_name = VALUES(legal_name), "
            "registration_number = VALUES(registration_number), "
            "country_code = VALUES(country_code), "
            "payout_account_ref = VALUES(payout_account_ref), "
            "contact_email = VALUES(contact_email), "
            "contact_phone = VALUES(contact_phone), submitted_at = VALUES(submitted_at)",
            {p.account_id, std::string(SellerStatusName(p.status)), a.legal_name,
             a.registration_number, a.country_code, a.payout_account_ref, a.contact_email,
             a.contact_phone, *p.submitted_at})
        .status();
  }

  absl::Status AppendSellerDecision(absl::string_view account_id,
                                    const SellerDecision& d) override {
    return db_
        .Execute(
            "INSERT INTO seller_decisions (account_id, kind, reason_code, reason, "
            "decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?)",
            {std::string(account_id), std::string(SellerDecisionKindName(d.kind)), d.reason_code,
             d.reason, d.decided_by, d.decided_at})
        .status();
  }

  // --- signing keys ---

  absl::StatusOr<std::vector<StoredSigningKey>> ListPublishedKeys(absl::Time now) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     db_.Query(absl::StrCat("SELECT ", kKeyColumns,
                                            " FROM signing_keys WHERE state IN ('NEXT', 'ACTIVE') "
                                            "OR (state = 'RETIRED' AND expires_at > ?) "
                                            "ORDER BY FIELD(state, 'ACTIVE', 'NEXT', 'RETIRED'), "
                                            "retired_at DESC, kid"),
                               {now}));
    return common::db::ParseRows(rows, KeyFromRow);
  }

  absl::StatusOr<std::optional<StoredSigningKey>> FindKeyInState(SigningKeyState state,
                                                                 bool for_update) override {
    return OneKey(
        db_.Query(absl::StrCat("SELECT ", kKeyColumns, " FROM signing_keys WHERE state_slot = ?",
                               for_update ? " FOR UPDATE" : ""),
                  {std::string(SigningKeyStateName(state))}));
  }

  absl::StatusOr<std::optional<absl::Time>> LastKeyRotation() override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     db_.Query("SELECT MAX(retired_at) AS last_rotation FROM signing_keys "
                               "WHERE state = ?",
                               {std::string(SigningKeyStateName(SigningKeyState::kRetired))}));
    if (rows.empty()) return std::nullopt;
    return rows[0].GetOptionalTime("last_rotation");
  }

  absl::StatusOr<std::optional<StoredSigningKey>> FindKey(absl::string_view kid) override {
    return OneKey(
        db_.Query(absl::StrCat("SELECT ", kKeyColumns, " FROM signing_keys WHERE kid = ?"),
                  {std::string(kid)}));
  }

  absl::Status InsertKey(const StoredSigningKey& k) override {
    return db_
        .Execute(
            absl::StrCat("INSERT INTO signing_keys (", kKeyColumns,
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            {k.kid, k.alg, Hex(k.public_key), Hex(k.encrypted_private_key), k.kek_id,
             std::string(SigningKeyStateName(k.state)), k.created_at, OptionalTime(k.activated_at),
             OptionalTime(k.retired_at), OptionalTime(k.expires_at)})
        .status();
  }

  absl::Status UpdateKeyState(const StoredSigningKey& k) override {
    ASSIGN_OR_RETURN(
        int64_t matched,
        db_.Execute("UPDATE signing_keys SET state = ?, activated_at = ?, "
                    "retired_at = ?, expires_at = ? WHERE kid = ?",
                    {std::string(SigningKeyStateName(k.state)), OptionalTime(k.activated_at),
                     OptionalTime(k.retired_at), OptionalTime(k.expires_at), k.kid}));
    if (matched == 0) return absl::NotFoundError(absl::StrCat("signing key ", k.kid, " not found"));
    return absl::OkStatus();
  }

  // --- audit ---

  absl::Status AppendAudit(const AuditEvent& e) override {
    return db_
        .Execute(
            "INSERT INTO audit_log (occurred_at, event_type, actor_id, account_id, "
            "request_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
            {e.occurred_at, e.type, NullIfEmpty(e.actor_id), NullIfEmpty(e.account_id),
             e.request_id, e.detail.empty() ? std::string("{}") : e.detail})
        .status();
  }

  absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(absl::string_view account_id,
                                                          int limit) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     db_.Query("SELECT occurred_at, event_type, actor_id, account_id, "
                               "request_id, detail FROM audit_log WHERE account_id = ? "
                               "ORDER BY id DESC LIMIT ?",
                               {std::string(account_id), static_cast<int64_t>(limit)}));
    std::vector<AuditEvent> out;
    for (const Row& row : rows) {
      AuditEvent e;
      ASSIGN_OR_RETURN(e.occurred_at, row.GetTime("occurred_at"));
      ASSIGN_OR_RETURN(e.type, row.GetString("event_type"));
      ASSIGN_OR_RETURN(std::optional<std::string> actor, row.GetOptionalString("actor_id"));
      e.actor_id = actor.value_or("");
      ASSIGN_OR_RETURN(std::optional<std::string> account, row.GetOptionalString("account_id"));
      e.account_id = account.value_or("");
      ASSIGN_OR_RETURN(e.request_id, row.GetString("request_id"));
      ASSIGN_OR_RETURN(e.detail, row.GetString("detail"));
      out.push_back(std::move(e));
    }
    return out;
  }

 private:
  std::vector<SqlValue> AccountValues(const Account& a) {
    const Suspension* s = a.suspension ? &*a.suspension : nullptr;
    return {a.id,
            NullIfEmpty(a.email),
            NullIfEmpty(a.email_key),
            a.display_name,
            std::string(RoleName(a.role)),
            std::string(AccountStatusName(a.status)),
            NullIfEmpty(a.password_hash),
            a.client_secret_hash.empty() ? SqlValue(nullptr) : SqlValue(Hex(a.client_secret_hash)),
            absl::StrJoin(a.scopes, " "),
            s ? SqlValue(s->reason_code) : SqlValue(nullptr),
            s ? SqlValue(s->reason) : SqlValue(nullptr),
            s ? NullIfEmpty(s->suspended_by) : SqlValue(nullptr),
            s ? SqlValue(s->suspended_at) : SqlValue(nullptr),
            OptionalTime(a.sessions_not_before),
            a.created_at,
            a.updated_at};
  }

  // The throttle row (if any) plus the failures of the hour before `now`.
  absl::StatusOr<ThrottleState> ThrottleStateOf(const std::string& key,
                                                const std::vector<Row>& rows, absl::Time now) {
    ThrottleState state;
    if (!rows.empty()) {
      ASSIGN_OR_RETURN(int64_t consecutive, rows[0].GetInt64("consecutive_failures"));
      state.consecutive_failures = static_cast<int>(consecutive);
      ASSIGN_OR_RETURN(std::optional<absl::Time> last, rows[0].GetOptionalTime("last_failure_at"));
      state.last_failure = last.value_or(absl::InfinitePast());
    }
    ASSIGN_OR_RETURN(std::vector<Row> failures,
                     db_.Query("SELECT attempted_at, pending FROM login_failures "
                               "WHERE email_sha256 = ? AND attempted_at > ? "
                               "ORDER BY attempted_at, id",
                               {key, now - absl::Hours(1)}));
    for (const Row& row : failures) {
      ASSIGN_OR_RETURN(absl::Time t, row.GetTime("attempted_at"));
      ASSIGN_OR_RETURN(int64_t pending, row.GetInt64("pending"));
      if (pending != 0 && t > now - kPendingAttemptLifetime) {
        ++state.in_flight;
      } else {
        state.failures_last_hour.push_back(t);
      }
    }
    return state;
  }

  Executor& db_;
  common::db::Transaction* const tx_;
  const common::outbox::Outbox* const outbox_;
};

}  // namespace

absl::Status MySqlIdentityStore::Transact(const Work& work) {
  return common::db::RunInTransaction(*pool_, [&](common::db::Transaction& tx) -> absl::Status {
    ExecutorOn<common::db::Transaction> executor(tx);
    MySqlIdentityTransaction identity_tx(executor, &tx, &outbox_);
    return work(identity_tx);
  });
}

absl::Status MySqlIdentityStore::Read(const Work& work) {
  return common::db::WithConnection(*pool_, [&](common::db::Connection& conn) -> absl::Status {
    ExecutorOn<common::db::Connection> executor(conn);
    MySqlIdentityTransaction identity_tx(executor, nullptr, nullptr);
    return work(identity_tx);
  });
}

absl::Status MySqlIdentityStore::Ping() { return pool_->Ping(); }

absl::Status ApplyIdentityMigrations(common::db::ConnectionPool& pool) {
  RETURN_IF_ERROR(common::db::ApplyMigrations(pool, "identity", IdentityMigrations()));
  return common::outbox::ApplyOutboxMigrations(pool);
}

}  // namespace marketplace::identity
