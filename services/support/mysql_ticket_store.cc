#include "services/support/mysql_ticket_store.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/db/migrations.h"
#include "common/db/sql_errors.h"
#include "common/status_macros.h"
#include "common/text.h"
#include "services/support/support_migrations.h"

namespace marketplace::support {
namespace {

namespace db = common::db;
using db::Row;
using db::SqlValue;

// ticket_history.detail's characters (migration 0016): an escalation's "<reason>: <note>" with
// the note's 2,000 at most fits whole.
constexpr size_t kMaxHistoryDetail = 2100;

constexpr char kTicketColumns[] =
    "ticket_id, buyer_id, seller_id, order_id, payment_id, payment_currency, "
    "payment_amount_minor, category, channel, level, status, assignee_id, reason_code, "
    "reason_codes_version, tags_json, subject, merged_into, follow_up_of, created_at, updated_at, "
    "escalation_allowed_at, seller_replied, first_reply_at, escalated_at, escalation_reason, "
    "outcome, resolution_note, refund_currency, refund_amount_minor, refund_state, "
    "refund_request_id, solved_at, closed_at, rating, rating_comment, is_claim, "
    "counts_against_seller, public_messages, all_messages, history_seq, sort_at, closes_at";

// Tags are stored as one line each (tags hold no newline: the API refuses it).
std::string TagsText(const std::vector<std::string>& tags) { return absl::StrJoin(tags, "\n"); }
std::vector<std::string> TagsOf(const std::string& text) {
  if (text.empty()) return {};
  return absl::StrSplit(text, '\n');
}

SqlValue OptTime(const std::optional<absl::Time>& t) {
  if (!t) return nullptr;
  return *t;
}

absl::StatusOr<TicketRecord> TicketOf(const Row& r) {
  TicketRecord t;
  ASSIGN_OR_RETURN(t.ticket_id, r.GetString("ticket_id"));
  ASSIGN_OR_RETURN(t.buyer_id, r.GetString("buyer_id"));
  ASSIGN_OR_RETURN(t.seller_id, r.GetString("seller_id"));
  ASSIGN_OR_RETURN(t.order_id, r.GetString("order_id"));
  ASSIGN_OR_RETURN(t.payment_id, r.GetString("payment_id"));
  ASSIGN_OR_RETURN(t.payment_amount.currency, r.GetString("payment_currency"));
  ASSIGN_OR_RETURN(t.payment_amount.minor, r.GetInt64("payment_amount_minor"));
  ASSIGN_OR_RETURN(int64_t category, r.GetInt64("category"));
  t.category = static_cast<pb::Category>(category);
  ASSIGN_OR_RETURN(int64_t channel, r.GetInt64("channel"));
  t.channel = static_cast<v1::Channel>(channel);
  ASSIGN_OR_RETURN(int64_t level, r.GetInt64("level"));
  t.level = static_cast<v1::TicketLevel>(level);
  ASSIGN_OR_RETURN(int64_t status, r.GetInt64("status"));
  t.status = static_cast<pb::TicketStatus>(status);
  ASSIGN_OR_RETURN(t.assignee_id, r.GetString("assignee_id"));
  ASSIGN_OR_RETURN(t.reason_code, r.GetString("reason_code"));
  ASSIGN_OR_RETURN(int64_t version, r.GetInt64("reason_codes_version"));
  t.reason_codes_version = static_cast<int>(version);
  ASSIGN_OR_RETURN(std::string tags, r.GetString("tags_json"));
  t.tags = TagsOf(tags);
  ASSIGN_OR_RETURN(t.subject, r.GetString("subject"));
  ASSIGN_OR_RETURN(t.merged_into, r.GetString("merged_into"));
  ASSIGN_OR_RETURN(t.follow_up_of, r.GetString("follow_up_of"));
  ASSIGN_OR_RETURN(t.created_at, r.GetTime("created_at"));
  ASSIGN_OR_RETURN(t.updated_at, r.GetTime("updated_at"));
  ASSIGN_OR_RETURN(t.escalation_allowed_at, r.GetTime("escalation_allowed_at"));
  ASSIGN_OR_RETURN(t.seller_replied, r.GetBool("seller_replied"));
  ASSIGN_OR_RETURN(t.first_reply_at, r.GetOptionalTime("first_reply_at"));
  ASSIGN_OR_RETURN(t.escalated_at, r.GetOptionalTime("escalated_at"));
  ASSIGN_OR_RETURN(t.escalation_reason, r.GetString("escalation_reason"));
  ASSIGN_OR_RETURN(int64_t outcome, r.GetInt64("outcome"));
  t.outcome = static_cast<pb::Outcome>(outcome);
  ASSIGN_OR_RETURN(t.resolution_note, r.GetString("resolution_note"));
  ASSIGN_OR_RETURN(std::string refund_currency, r.GetString("refund_currency"));
  ASSIGN_OR_RETURN(int64_t refund_minor, r.GetInt64("refund_amount_minor"));
  if (!refund_currency.empty()) t.refund_amount = Amount{refund_currency, refund_minor};
  ASSIGN_OR_RETURN(int64_t refund_state, r.GetInt64("refund_state"));
  t.refund_state = static_cast<pb::RefundState>(refund_state);
  ASSIGN_OR_RETURN(t.refund_request_id, r.GetString("refund_request_id"));
  ASSIGN_OR_RETURN(t.solved_at, r.GetOptionalTime("solved_at"));
  ASSIGN_OR_RETURN(t.closed_at, r.GetOptionalTime("closed_at"));
  ASSIGN_OR_RETURN(int64_t rating, r.GetInt64("rating"));
  t.rating = static_cast<int>(rating);
  ASSIGN_OR_RETURN(t.rating_comment, r.GetString("rating_comment"));
  ASSIGN_OR_RETURN(t.is_claim, r.GetBool("is_claim"));
  ASSIGN_OR_RETURN(t.counts_against_seller, r.GetBool("counts_against_seller"));
  ASSIGN_OR_RETURN(int64_t pub, r.GetInt64("public_messages"));
  t.public_messages = static_cast<int>(pub);
  ASSIGN_OR_RETURN(int64_t all, r.GetInt64("all_messages"));
  t.all_messages = static_cast<int>(all);
  ASSIGN_OR_RETURN(int64_t hist, r.GetInt64("history_seq"));
  t.history_seq = static_cast<int>(hist);
  ASSIGN_OR_RETURN(t.sort_at, r.GetTime("sort_at"));
  ASSIGN_OR_RETURN(t.closes_at, r.GetOptionalTime("closes_at"));
  return t;
}

// The values of every column of kTicketColumns but ticket_id, in order, then ticket_id.
std::vector<SqlValue> TicketValues(const TicketRecord& t) {
  return {t.buyer_id,
          t.seller_id,
          t.order_id,
          t.payment_id,
          t.payment_amount.currency,
          t.payment_amount.minor,
          static_cast<int64_t>(t.category),
          static_cast<int64_t>(t.channel),
          static_cast<int64_t>(t.level),
          static_cast<int64_t>(t.status),
          t.assignee_id,
          t.reason_code,
          static_cast<int64_t>(t.reason_codes_version),
          TagsText(t.tags),
          t.subject,
          t.merged_into,
          t.follow_up_of,
          t.created_at,
          t.updated_at,
          t.escalation_allowed_at,
          t.seller_replied,
          OptTime(t.first_reply_at),
          OptTime(t.escalated_at),
          t.escalation_reason,
          static_cast<int64_t>(t.outcome),
          t.resolution_note,
          t.refund_amount ? t.refund_amount->currency : std::string(),
          t.refund_amount ? t.refund_amount->minor : int64_t{0},
          static_cast<int64_t>(t.refund_state),
          t.refund_request_id,
          OptTime(t.solved_at),
          OptTime(t.closed_at),
          static_cast<int64_t>(t.rating),
          t.rating_comment,
          t.is_claim,
          t.counts_against_seller,
          static_cast<int64_t>(t.public_messages),
          static_cast<int64_t>(t.all_messages),
          static_cast<int64_t>(t.history_seq),
          t.sort_at,
          OptTime(t.closes_at),
          t.ticket_id};
}

absl::StatusOr<MessageRecord> MessageOf(const Row& r) {
  MessageRecord m;
  ASSIGN_OR_RETURN(m.ticket_id, r.GetString("ticket_id"));
  ASSIGN_OR_RETURN(int64_t seq, r.GetInt64("seq"));
  m.seq = static_cast<int>(seq);
  ASSIGN_OR_RETURN(m.message_id, r.GetString("message_id"));
  ASSIGN_OR_RETURN(m.author_id, r.GetString("author_id"));
  ASSIGN_OR_RETURN(int64_t role, r.GetInt64("author_role"));
  m.author_role = static_cast<pb::AuthorRole>(role);
  ASSIGN_OR_RETURN(int64_t visibility, r.GetInt64("visibility"));
  m.visibility = static_cast<pb::MessageVisibility>(visibility);
  ASSIGN_OR_RETURN(m.body, r.GetString("body"));
  ASSIGN_OR_RETURN(m.created_at, r.GetTime("created_at"));
  return m;
}

// Fills the attachments of `messages` (one query).
template <typename Runner>
absl::Status LoadAttachments(Runner& run, std::vector<MessageRecord>& messages) {
  if (messages.empty()) return absl::OkStatus();
  std::vector<SqlValue> ids;
  for (const MessageRecord& m : messages) ids.push_back(m.message_id);
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   run.Query(absl::StrCat("SELECT message_id, uri, filename, content_type, "
                                          "size_bytes, sha256 FROM ticket_attachments WHERE "
                                          "message_id IN (",
                                          db::PlaceholderList(ids.size()),
                                          ") ORDER BY message_id, position"),
                             ids));
  for (const Row& r : rows) {
    ASSIGN_OR_RETURN(std::string id, r.GetString("message_id"));
    AttachmentRef a;
    ASSIGN_OR_RETURN(a.uri, r.GetString("uri"));
    ASSIGN_OR_RETURN(a.filename, r.GetString("filename"));
    ASSIGN_OR_RETURN(a.content_type, r.GetString("content_type"));
    ASSIGN_OR_RETURN(a.size_bytes, r.GetInt64("size_bytes"));
    ASSIGN_OR_RETURN(a.sha256, r.GetString("sha256"));
    for (MessageRecord& m : messages) {
      if (m.message_id == id) m.attachments.push_back(std::move(a));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::SlaPolicy>> PolicyOf(const std::vector<Row>& rows) {
  if (rows.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(std::string bytes, rows[0].GetString("policy"));
  v1::SlaPolicy policy;
  if (!policy.ParseFromString(bytes)) {
    return absl::DataLossError("a stored SLA policy does not parse");
  }
  return policy;
}

absl::Status WritePolicy(db::Transaction& tx, const v1::SlaPolicy& p, bool ignore_existing) {
  const absl::Time at = absl::FromUnixSeconds(p.updated_at().seconds()) +
                        absl::Nanoseconds(p.updated_at().nanos());
  return tx.Write(absl::StrCat("INSERT ", ignore_existing ? "IGNORE " : "",
                               "INTO sla_policies (version, policy, updated_at, updated_by) "
                               "VALUES (?, ?, ?, ?)"),
                  {p.version(), p.SerializeAsString(), at, p.updated_by()});
}

constexpr char kClockColumns[] =
    "metric, level, party, state, policy_version, started_at, due_at, warn_at, remaining_us, "
    "warned, mode, target_s, warn_percent, stopped_at";

SqlValue FiniteOrNull(absl::Time t) {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) return nullptr;
  return t;
}

absl::StatusOr<sla::ClockState> ClockOf(const Row& r) {
  sla::ClockState c;
  ASSIGN_OR_RETURN(int64_t metric, r.GetInt64("metric"));
  c.metric = static_cast<v1::SlaMetric>(metric);
  ASSIGN_OR_RETURN(int64_t level, r.GetInt64("level"));
  c.level = static_cast<v1::TicketLevel>(level);
  ASSIGN_OR_RETURN(int64_t party, r.GetInt64("party"));
  c.party = static_cast<v1::SlaParty>(party);
  ASSIGN_OR_RETURN(int64_t state, r.GetInt64("state"));
  c.state = static_cast<sla::ClockRunState>(state - 1);
  ASSIGN_OR_RETURN(c.policy_version, r.GetInt64("policy_version"));
  ASSIGN_OR_RETURN(c.started_at, r.GetTime("started_at"));
  ASSIGN_OR_RETURN(std::optional<absl::Time> due, r.GetOptionalTime("due_at"));
  c.due_at = due.value_or(absl::InfiniteFuture());
  ASSIGN_OR_RETURN(std::optional<absl::Time> warn, r.GetOptionalTime("warn_at"));
  c.warn_at = warn.value_or(absl::InfiniteFuture());
  ASSIGN_OR_RETURN(std::optional<absl::Time> stopped, r.GetOptionalTime("stopped_at"));
  c.stopped_at = stopped.value_or(absl::InfiniteFuture());
  ASSIGN_OR_RETURN(std::optional<int64_t> remaining, r.GetOptionalInt64("remaining_us"));
  c.remaining = absl::Microseconds(remaining.value_or(0));
  ASSIGN_OR_RETURN(c.warned, r.GetBool("warned"));
  ASSIGN_OR_RETURN(int64_t mode, r.GetInt64("mode"));
  c.mode = static_cast<v1::SlaMode>(mode);
  ASSIGN_OR_RETURN(int64_t target_s, r.GetInt64("target_s"));
  c.target = absl::Seconds(target_s);
  ASSIGN_OR_RETURN(int64_t warn_percent, r.GetInt64("warn_percent"));
  c.warn_percent = static_cast<int>(warn_percent);
  return c;
}

// A charge still as ClaimDueCharges claimed it (request_id, then charge_state to charge, the
// claim's charge_next_at, charge_attempt and charge_calls): a later claim moves charge_next_at
// on, a recorded result or retry changes the state or the counts.
constexpr char kChargeClaimed[] =
    "request_id = ? AND charge_state = ? AND charge_next_at = ? AND charge_attempt = ? AND "
    "charge_calls = ?";

// The stored state number: 1 RUNNING, 2 PAUSED, 3 MET, 4 BREACHED, 5 CANCELLED.
int64_t StateNumber(sla::ClockRunState s) { return static_cast<int64_t>(s) + 1; }

class MySqlTicketTransaction final : public TicketTransaction {
 public:
  // `saved`: where the ids of the tickets this unit saves go (evicted from the store's cache
  // once the transaction has ended).
  MySqlTicketTransaction(db::Transaction& tx, const common::outbox::Outbox& outbox,
                         std::vector<std::string>* saved)
      : tx_(tx), outbox_(outbox), saved_(saved) {}

  absl::StatusOr<std::optional<TicketRecord>> LockTicket(absl::string_view ticket_id) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query(absl::StrCat("SELECT ", kTicketColumns,
                                            " FROM tickets WHERE ticket_id = ? FOR UPDATE"),
                               {std::string(ticket_id)}));
    if (rows.empty()) return std::nullopt;
    return TicketOf(rows[0]);
  }

  absl::StatusOr<std::optional<TicketRecord>> LockLatestForOrder(
      absl::string_view buyer_id, absl::string_view order_id) override {
    // No locking read over the order's index entries: under REPEATABLE READ it would lock
    // the gap where a new order's ticket goes, and two openings of neighbouring orders would
    // deadlock inserting into it. The newest ticket is found in the snapshot, then locked by
    // its primary key, which reads its committed state; a ticket opened meanwhile by another
    // transaction makes InsertTicket's unique key fail, and the whole call runs again.
    ASSIGN_OR_RETURN(std::vector<Row> newest,
                     tx_.Query("SELECT ticket_id FROM tickets WHERE buyer_id = ? AND order_id = ? "
                               "ORDER BY created_at DESC, ticket_id DESC LIMIT 1",
                               {std::string(buyer_id), std::string(order_id)}));
    if (newest.empty()) return std::nullopt;
    ASSIGN_OR_RETURN(std::string ticket_id, newest[0].GetString("ticket_id"));
    ASSIGN_OR_RETURN(std::optional<TicketRecord> locked, LockTicket(ticket_id));
    if (!locked) return absl::InternalError("a ticket disappeared while it was locked");
    return locked;
  }

  absl::Status InsertTicket(const TicketRecord& t) override {
    absl::Status inserted =
        tx_.Write(absl::StrCat("INSERT INTO tickets (", kTicketColumns,
                               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                               "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                               "?, ?, ?, ?)"),
                  [&] {
                    std::vector<SqlValue> v = TicketValues(t);
                    v.insert(v.begin(), v.back());
                    v.pop_back();
                    return v;
                  }());
    if (db::MySqlErrorCodeOf(inserted) == db::kErrDuplicateKey) {
      // Another transaction opened this order's ticket (or its follow-up) first
      // (tickets_order_successor): run again, on a snapshot that sees it, and join it. Read
      // from the error number, not the server's message, which may be in another language; a
      // duplicate ticket_id (random, 88 bits) would be drawn anew by the rerun too.
      return db::RetryableConflict("a ticket about the order was opened meanwhile", inserted);
    }
    return inserted;
  }

  absl::Status SaveTicket(const TicketRecord& t) override {
    saved_->push_back(t.ticket_id);
    return tx_.Write(
        "UPDATE tickets SET buyer_id = ?, seller_id = ?, order_id = ?, payment_id = ?, "
        "payment_currency = ?, payment_amount_minor = ?, category = ?, channel = ?, level = ?, "
        "status = ?, assignee_id = ?, reason_code = ?, reason_codes_version = ?, tags_json = ?, "
        "subject = ?, merged_into = ?, follow_up_of = ?, created_at = ?, updated_at = ?, "
        "escalation_allowed_at = ?, seller_replied = ?, first_reply_at = ?, escalated_at = ?, "
        "escalation_reason = ?, outcome = ?, resolution_note = ?, refund_currency = ?, "
        "refund_amount_minor = ?, refund_state = ?, refund_request_id = ?, solved_at = ?, "
        "closed_at = ?, rating = ?, rating_comment = ?, is_claim = ?, counts_against_seller = ?, "
        "public_messages = ?, all_messages = ?, history_seq = ?, sort_at = ?, closes_at = ? "
        "WHERE ticket_id = ?",
        TicketValues(t), 1);
  }

  absl::Status InsertMessage(const MessageRecord& m) override {
    RETURN_IF_ERROR(tx_.Write(
        "INSERT INTO ticket_messages (ticket_id, seq, message_id, author_id, author_role, "
        "visibility, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {m.ticket_id, static_cast<int64_t>(m.seq), m.message_id, m.author_id,
         static_cast<int64_t>(m.author_role), static_cast<int64_t>(m.visibility), m.body,
         m.created_at}));
    for (size_t i = 0; i < m.attachments.size(); ++i) {
      const AttachmentRef& a = m.attachments[i];
      RETURN_IF_ERROR(tx_.Write(
          "INSERT INTO ticket_attachments (message_id, position, uri, filename, content_type, "
          "size_bytes, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
          {m.message_id, static_cast<int64_t>(i), a.uri, a.filename, a.content_type,
           a.size_bytes, a.sha256}));
    }
    return absl::OkStatus();
  }

  absl::Status AppendHistory(absl::string_view ticket_id, int seq,
                             const ChangeRecord& c) override {
    return tx_.Write(
        "INSERT INTO ticket_history (ticket_id, seq, at, actor_id, actor_role, kind, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        {std::string(ticket_id), static_cast<int64_t>(seq), c.at, c.actor_id,
         static_cast<int64_t>(c.actor_role), c.kind,
         std::string(common::PrefixCodePoints(c.detail, kMaxHistoryDetail))});
  }

  absl::StatusOr<std::vector<MessageRecord>> Messages(absl::string_view ticket_id) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT ticket_id, seq, message_id, author_id, author_role, "
                               "visibility, body, created_at FROM ticket_messages WHERE "
                               "ticket_id = ? ORDER BY seq",
                               {std::string(ticket_id)}));
    ASSIGN_OR_RETURN(std::vector<MessageRecord> messages, db::ParseRows(rows, MessageOf));
    RETURN_IF_ERROR(LoadAttachments(tx_, messages));
    return messages;
  }

  absl::Status InsertRefundCommand(const RefundCommand& c) override {
    return tx_.Write(
        "INSERT INTO refund_commands (request_id, ticket_id, payment_id, currency, amount_minor, "
        "decided_by, decided_level, state, next_attempt_at, created_at, funding) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {c.request_id, c.ticket_id, c.payment_id, c.amount.currency, c.amount.minor, c.decided_by,
         static_cast<int64_t>(c.decided_level), static_cast<int64_t>(pb::PENDING_REFUND),
         c.created_at, c.created_at, static_cast<int64_t>(c.funding)});
  }

  absl::StatusOr<bool> UpdateRefundCommand(const RefundCommand& claimed, absl::Time claimed_until,
                                           pb::RefundState state,
                                           absl::Time next_attempt_at) override {
    // A later claim moves next_attempt_at on, a recorded result changes the state or the
    // attempts: either way this claim's answer is stale.
    ASSIGN_OR_RETURN(int64_t changed,
                     tx_.Execute("UPDATE refund_commands SET state = ?, attempts = attempts + 1, "
                                 "next_attempt_at = ? WHERE request_id = ? AND state = ? AND "
                                 "next_attempt_at = ? AND attempts = ?",
                                 {static_cast<int64_t>(state), next_attempt_at, claimed.request_id,
                                  static_cast<int64_t>(pb::PENDING_REFUND), claimed_until,
                                  static_cast<int64_t>(claimed.attempts)}));
    if (changed == 0) return false;
    if (state == pb::REFUND_REFUSED) {
      // A refund never made is never charged to the seller.
      RETURN_IF_ERROR(
          tx_.Write("UPDATE refund_commands SET charge_state = ?, charge_reason = 'REFUND_REFUSED' "
                    "WHERE request_id = ? AND charge_state = ?",
                    {static_cast<int64_t>(SellerChargeState::kNotCharged), claimed.request_id,
                     static_cast<int64_t>(SellerChargeState::kToCharge)}));
    }
    return true;
  }

  absl::StatusOr<std::optional<v1::SlaPolicy>> LockCurrentSlaPolicy() override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT policy FROM sla_policies ORDER BY version DESC LIMIT 1 "
                               "FOR UPDATE",
                               {}));
    return PolicyOf(rows);
  }

  absl::Status InsertSlaPolicy(const v1::SlaPolicy& policy) override {
    return WritePolicy(tx_, policy, /*ignore_existing=*/false);
  }

  absl::StatusOr<std::optional<int64_t>> CurrentSlaPolicyVersion() override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT MAX(version) AS version FROM sla_policies", {}));
    if (rows.empty()) return std::nullopt;
    return rows[0].GetOptionalInt64("version");
  }

  absl::StatusOr<std::optional<v1::SlaPolicy>> ReadSlaPolicyVersion(int64_t version) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT policy FROM sla_policies WHERE version = ?", {version}));
    return PolicyOf(rows);
  }

  absl::Status InsertClocks(absl::string_view ticket_id, absl::Span<const sla::ClockState> clocks,
                            absl::Time at) override {
    if (clocks.empty()) return absl::OkStatus();
    std::vector<SqlValue> values;
    for (const sla::ClockState& c : clocks) {
      std::vector<SqlValue> row = ClockValues(ticket_id, c, at);
      values.insert(values.end(), std::make_move_iterator(row.begin()),
                    std::make_move_iterator(row.end()));
    }
    return tx_.Write(
        absl::StrCat("INSERT INTO sla_clocks (ticket_id, ", kClockColumns, ", updated_at) VALUES ",
                     db::PlaceholderRows(clocks.size(), values.size() / clocks.size())),
        values);
  }

  absl::StatusOr<std::optional<sla::ClockState>> LockClock(absl::string_view ticket_id,
                                                           v1::SlaMetric metric,
                                                           v1::TicketLevel level) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query(absl::StrCat("SELECT ", kClockColumns,
                                            " FROM sla_clocks WHERE ticket_id = ? AND metric = ? "
                                            "AND level = ? FOR UPDATE"),
                               {std::string(ticket_id), static_cast<int64_t>(metric),
                                static_cast<int64_t>(level)}));
    if (rows.empty()) return std::nullopt;
    return ClockOf(rows[0]);
  }

  absl::Status SaveClock(absl::string_view ticket_id, const sla::ClockState& c,
                         absl::Time at) override {
    std::vector<SqlValue> v = ClockValues(ticket_id, c, at);
    // ticket_id, metric, level go last (the key).
    std::vector<SqlValue> set(v.begin() + 3, v.end());
    set.push_back(v[0]);
    set.push_back(v[1]);
    set.push_back(v[2]);
    return tx_.Write(
        "UPDATE sla_clocks SET party = ?, state = ?, policy_version = ?, started_at = ?, "
        "due_at = ?, warn_at = ?, remaining_us = ?, warned = ?, mode = ?, target_s = ?, "
        "warn_percent = ?, stopped_at = ?, updated_at = ?, scan_lease_until = NULL "
        "WHERE ticket_id = ? AND metric = ? AND level = ?",
        set, 1);
  }

  absl::Status Emit(absl::string_view topic, absl::string_view key,
                    const google::protobuf::Message& payload) override {
    return outbox_.Enqueue(tx_, topic, key, payload).status();
  }

  absl::StatusOr<std::optional<TicketRecord>> TryLockTicket(absl::string_view ticket_id,
                                                            bool* skipped) override {
    *skipped = false;
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query(absl::StrCat("SELECT ", kTicketColumns,
                                            " FROM tickets WHERE ticket_id = ? "
                                            "FOR UPDATE SKIP LOCKED"),
                               {std::string(ticket_id)}));
    if (rows.empty()) {
      // Missing, or held by another transaction: tell them apart without waiting.
      ASSIGN_OR_RETURN(std::vector<Row> exists,
                       tx_.Query("SELECT 1 AS one FROM tickets WHERE ticket_id = ?",
                                 {std::string(ticket_id)}));
      *skipped = !exists.empty();
      return std::nullopt;
    }
    return TicketOf(rows[0]);
  }

  absl::StatusOr<bool> MarkCsatRequested(absl::string_view ticket_id, absl::Time at) override {
    ASSIGN_OR_RETURN(int64_t changed,
                     tx_.Execute("UPDATE tickets SET csat_requested_at = ? WHERE ticket_id = ? "
                                 "AND csat_requested_at IS NULL",
                                 {at, std::string(ticket_id)}));
    return changed == 1;
  }

  absl::StatusOr<int64_t> LockPaidOrderCount(absl::string_view buyer_id,
                                             absl::Time since) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT payment_id FROM paid_orders WHERE buyer_id = ? AND "
                               "held_at >= ? FOR UPDATE",
                               {std::string(buyer_id), since}));
    return static_cast<int64_t>(rows.size());
  }

  absl::StatusOr<int64_t> CountClaims(absl::string_view buyer_id, absl::Time since) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     // A locking read: it sees the latest committed tickets, not the
                     // transaction's snapshot (taken before the paid-order lock was granted).
                     tx_.Query("SELECT COUNT(*) AS n FROM tickets WHERE buyer_id = ? AND "
                               "is_claim = 1 AND merged_into = '' AND created_at >= ? "
                               "LOCK IN SHARE MODE",
                               {std::string(buyer_id), since}));
    return rows.at(0).GetInt64("n");
  }

  absl::StatusOr<int64_t> RefundedOfPayment(absl::string_view buyer_id, absl::string_view order_id,
                                            absl::string_view payment_id) override {
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        tx_.Query("SELECT COALESCE(SUM(r.amount_minor), 0) AS n FROM tickets t "
                  "JOIN refund_commands r ON r.ticket_id = t.ticket_id "
                  "WHERE t.buyer_id = ? AND t.order_id = ? AND r.payment_id = ? "
                  "AND r.state <> ?",
                  {std::string(buyer_id), std::string(order_id), std::string(payment_id),
                   static_cast<int64_t>(pb::REFUND_REFUSED)}));
    return rows.at(0).GetInt64("n");
  }

  absl::Status SetRefundResultReason(absl::string_view request_id,
                                     absl::string_view reason) override {
    return tx_.Write("UPDATE refund_commands SET result_reason = ? WHERE request_id = ?",
                     {std::string(reason.substr(0, 64)), std::string(request_id)});
  }

  absl::Status SetPaymentsRefundId(absl::string_view request_id,
                                   absl::string_view refund_id) override {
    return tx_.Write("UPDATE refund_commands SET payments_refund_id = ? WHERE request_id = ?",
                     {std::string(refund_id.substr(0, 64)), std::string(request_id)});
  }

  absl::StatusOr<int> MarkGuaranteeRefundsForCharge(absl::string_view ticket_id,
                                                    absl::string_view decided_by,
                                                    absl::Time now) override {
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        tx_.Query("SELECT request_id FROM refund_commands WHERE ticket_id = ? AND funding = ? "
                  "AND charge_state = ? AND state <> ? FOR UPDATE",
                  {std::string(ticket_id), static_cast<int64_t>(RefundFunding::kGuaranteeFund),
                   static_cast<int64_t>(SellerChargeState::kNone),
                   static_cast<int64_t>(pb::REFUND_REFUSED)}));
    for (const Row& r : rows) {
      ASSIGN_OR_RETURN(std::string request_id, r.GetString("request_id"));
      RETURN_IF_ERROR(tx_.Write(
          "UPDATE refund_commands SET charge_state = ?, charge_next_at = ?, "
          "charge_decided_by = ? WHERE request_id = ?",
          {static_cast<int64_t>(SellerChargeState::kToCharge), now, std::string(decided_by),
           request_id},
          1));
    }
    return static_cast<int>(rows.size());
  }

  absl::StatusOr<bool> FinishCharge(const ChargeCommand& claimed, absl::Time claimed_until,
                                    SellerChargeState state, const SellerCharge& charge,
                                    absl::string_view reason) override {
    ASSIGN_OR_RETURN(
        int64_t changed,
        tx_.Execute(absl::StrCat("UPDATE refund_commands SET charge_state = ?, charged_minor = ?, "
                                 "charge_shortfall_minor = ?, charge_reason = ? WHERE ",
                                 kChargeClaimed),
                    {static_cast<int64_t>(state), charge.charged_minor, charge.shortfall_minor,
                     std::string(reason.substr(0, 64)), claimed.refund_request_id,
                     static_cast<int64_t>(SellerChargeState::kToCharge), claimed_until,
                     static_cast<int64_t>(claimed.attempt), static_cast<int64_t>(claimed.calls)}));
    return changed > 0;
  }

  absl::StatusOr<bool> RetryCharge(const ChargeCommand& claimed, absl::Time claimed_until,
                                   absl::Time next_at, bool next_request_id) override {
    ASSIGN_OR_RETURN(
        int64_t changed,
        tx_.Execute(absl::StrCat(next_request_id ? "UPDATE refund_commands SET charge_next_at = ?, "
                                                   "charge_attempt = charge_attempt + 1 WHERE "
                                                 : "UPDATE refund_commands SET charge_next_at = ?, "
                                                   "charge_calls = charge_calls + 1 WHERE ",
                                 kChargeClaimed),
                    {next_at, claimed.refund_request_id,
                     static_cast<int64_t>(SellerChargeState::kToCharge), claimed_until,
                     static_cast<int64_t>(claimed.attempt), static_cast<int64_t>(claimed.calls)}));
    return changed > 0;
  }

 private:
  // ticket_id, then kClockColumns in order, then updated_at.
  static std::vector<SqlValue> ClockValues(absl::string_view ticket_id, const sla::ClockState& c,
                                           absl::Time at) {
    const bool paused = c.state == sla::ClockRunState::kPaused;
    return {std::string(ticket_id),
            static_cast<int64_t>(c.metric),
            static_cast<int64_t>(c.level),
            static_cast<int64_t>(c.party),
            StateNumber(c.state),
            c.policy_version,
            c.started_at,
            FiniteOrNull(c.due_at),
            FiniteOrNull(c.warn_at),
            paused ? SqlValue(absl::ToInt64Microseconds(c.remaining)) : SqlValue(nullptr),
            c.warned,
            static_cast<int64_t>(c.mode),
            absl::ToInt64Seconds(c.target),
            static_cast<int64_t>(c.warn_percent),
            FiniteOrNull(c.stopped_at),
            at};
  }

  db::Transaction& tx_;
  const common::outbox::Outbox& outbox_;
  std::vector<std::string>* saved_;
};

}  // namespace

absl::Status ApplySupportMigrations(db::ConnectionPool& pool) {
  RETURN_IF_ERROR(db::ApplyMigrations(pool, "support", SupportMigrations()));
  RETURN_IF_ERROR(common::outbox::ApplyOutboxMigrations(pool));
  return common::idempotency::ApplyIdempotencyMigrations(pool);
}

MySqlTicketStore::MySqlTicketStore(db::ConnectionPool* pool, const common::Clock* clock,
                                   int read_threads, common::ChangePollCacheOptions ticket_cache,
                                   common::ChangePollCacheObserver* cache_observer)
    : pool_(pool),
      idempotency_(clock),
      outbox_("support", clock),
      ticket_cache_([this](absl::Time from) { return TicketsChangedSince(from); },
                    common::SystemClock::Get(), ticket_cache, cache_observer),
      reader_(std::make_unique<db::BatchedReader>(
          pool, db::BatchedReader::Options{.table = "tickets",
                                           .columns = kTicketColumns,
                                           .key_column = "ticket_id",
                                           .ascii_case_insensitive = false,  // ascii_bin
                                           .threads = std::max(1, read_threads)})) {
  ticket_cache_.StartPolling();
}

MySqlTicketStore::~MySqlTicketStore() = default;

absl::StatusOr<std::string> MySqlTicketStore::RunIdempotent(
    const common::idempotency::RequestKey& key, absl::string_view request_hash,
    const std::function<absl::StatusOr<std::string>(TicketTransaction&)>& effect) {
  std::vector<std::string> saved;
  absl::StatusOr<std::string> result = common::idempotency::RunIdempotentBytes(
      *pool_, idempotency_, key, request_hash,
      [&](db::Transaction& tx) -> absl::StatusOr<std::string> {
        MySqlTicketTransaction unit(tx, outbox_, &saved);
        return effect(unit);
      });
  for (const std::string& id : saved) ticket_cache_.Evict(id);
  return result;
}

absl::Status MySqlTicketStore::RunUnit(
    const std::function<absl::Status(TicketTransaction&)>& effect) {
  std::vector<std::string> saved;
  absl::Status status = db::RunInTransaction(*pool_, [&](db::Transaction& tx) -> absl::Status {
    MySqlTicketTransaction unit(tx, outbox_, &saved);
    return effect(unit);
  });
  for (const std::string& id : saved) ticket_cache_.Evict(id);
  return status;
}

absl::StatusOr<std::vector<RefundCommand>> MySqlTicketStore::ClaimDueRefunds(absl::Time now,
                                                                            absl::Duration lease,
                                                                            int limit) {
  return db::RunInTransaction(
      *pool_, [&](db::Transaction& tx) -> absl::StatusOr<std::vector<RefundCommand>> {
        ASSIGN_OR_RETURN(
            std::vector<Row> rows,
            tx.Query("SELECT request_id, ticket_id, payment_id, currency, amount_minor, "
                     "decided_by, decided_level, attempts, created_at, funding "
                     "FROM refund_commands "
                     "WHERE state = ? AND next_attempt_at <= ? ORDER BY next_attempt_at "
                     "LIMIT ? FOR UPDATE SKIP LOCKED",
                     {static_cast<int64_t>(pb::PENDING_REFUND), now,
                      static_cast<int64_t>(limit)}));
        std::vector<RefundCommand> claimed;
        for (const Row& r : rows) {
          RefundCommand c;
          ASSIGN_OR_RETURN(c.request_id, r.GetString("request_id"));
          ASSIGN_OR_RETURN(c.ticket_id, r.GetString("ticket_id"));
          ASSIGN_OR_RETURN(c.payment_id, r.GetString("payment_id"));
          ASSIGN_OR_RETURN(c.amount.currency, r.GetString("currency"));
          ASSIGN_OR_RETURN(c.amount.minor, r.GetInt64("amount_minor"));
          ASSIGN_OR_RETURN(c.decided_by, r.GetString("decided_by"));
          ASSIGN_OR_RETURN(int64_t level, r.GetInt64("decided_level"));
          c.decided_level = static_cast<v1::TicketLevel>(level);
          ASSIGN_OR_RETURN(int64_t attempts, r.GetInt64("attempts"));
          c.attempts = static_cast<int>(attempts);
          ASSIGN_OR_RETURN(c.created_at, r.GetTime("created_at"));
          ASSIGN_OR_RETURN(int64_t funding, r.GetInt64("funding"));
          c.funding = static_cast<RefundFunding>(funding);
          // The lease's end marks the claim: UpdateRefundCommand writes only under it.
          RETURN_IF_ERROR(tx.Write(
              "UPDATE refund_commands SET next_attempt_at = ? WHERE request_id = ?",
              {now + lease, c.request_id}, 1));
          claimed.push_back(std::move(c));
        }
        return claimed;
      });
}

absl::StatusOr<std::vector<ChargeCommand>> MySqlTicketStore::ClaimDueCharges(absl::Time now,
                                                                            absl::Duration lease,
                                                                            int limit) {
  return db::RunInTransaction(
      *pool_, [&](db::Transaction& tx) -> absl::StatusOr<std::vector<ChargeCommand>> {
        // Only refunds payments has made can be charged: a command still waiting for its
        // refund waits here too.
        ASSIGN_OR_RETURN(
            std::vector<Row> rows,
            tx.Query("SELECT request_id, ticket_id, payment_id, payments_refund_id, "
                     "charge_decided_by, charge_attempt, charge_calls FROM refund_commands "
                     "WHERE charge_state = ? AND charge_next_at <= ? AND state = ? "
                     "ORDER BY charge_next_at LIMIT ? FOR UPDATE SKIP LOCKED",
                     {static_cast<int64_t>(SellerChargeState::kToCharge), now,
                      static_cast<int64_t>(pb::REFUNDED), static_cast<int64_t>(limit)}));
        std::vector<ChargeCommand> claimed;
        for (const Row& r : rows) {
          ChargeCommand c;
          ASSIGN_OR_RETURN(c.refund_request_id, r.GetString("request_id"));
          ASSIGN_OR_RETURN(c.ticket_id, r.GetString("ticket_id"));
          ASSIGN_OR_RETURN(c.payment_id, r.GetString("payment_id"));
          ASSIGN_OR_RETURN(c.payments_refund_id, r.GetString("payments_refund_id"));
          ASSIGN_OR_RETURN(c.decided_by, r.GetString("charge_decided_by"));
          ASSIGN_OR_RETURN(int64_t attempt, r.GetInt64("charge_attempt"));
          ASSIGN_OR_RETURN(int64_t calls, r.GetInt64("charge_calls"));
          c.attempt = static_cast<int>(attempt);
          c.calls = static_cast<int>(calls);
          c.request_id = absl::StrCat(c.refund_request_id, ":charge:", c.attempt);
          // The lease's end marks the claim (kChargeClaimed).
          RETURN_IF_ERROR(tx.Write(
              "UPDATE refund_commands SET charge_next_at = ? WHERE request_id = ?",
              {now + lease, c.refund_request_id}, 1));
          claimed.push_back(std::move(c));
        }
        return claimed;
      });
}

absl::StatusOr<std::optional<TicketRecord>> MySqlTicketStore::GetTicket(
    absl::string_view ticket_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query(absl::StrCat("SELECT ", kTicketColumns,
                                             " FROM tickets WHERE ticket_id = ?"),
                                {std::string(ticket_id)}));
  if (rows.empty()) return std::nullopt;
  return TicketOf(rows[0]);
}

void MySqlTicketStore::ReadTicket(absl::string_view ticket_id, ReadDone done) {
  if (ticket_cache_.enabled()) {
    if (std::shared_ptr<const TicketRecord> cached = ticket_cache_.Find(ticket_id)) {
      return done(std::optional<TicketRecord>(*cached));
    }
  }
  const common::ChangePollCacheCore::Ticket read = ticket_cache_.BeginRead();
  reader_->Read(std::string(ticket_id),
                [this, read, done = std::move(done)](absl::StatusOr<std::optional<Row>> row) {
                  if (!row.ok()) return done(row.status());
                  if (!row->has_value()) return done(std::optional<TicketRecord>());
                  absl::StatusOr<TicketRecord> t = TicketOf(**row);
                  if (!t.ok()) return done(t.status());
                  ticket_cache_.Put(t->ticket_id, *t, read);
                  done(std::optional<TicketRecord>(*std::move(t)));
                });
}

absl::StatusOr<std::vector<std::pair<std::string, absl::Time>>>
MySqlTicketStore::TicketsChangedSince(absl::Time from) {
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      pool_->Query("SELECT ticket_id, changed_at FROM tickets WHERE changed_at >= ?", {from}));
  return db::ParseRows(rows,
                       [](const Row& r) -> absl::StatusOr<std::pair<std::string, absl::Time>> {
                         std::pair<std::string, absl::Time> out;
                         ASSIGN_OR_RETURN(out.first, r.GetString("ticket_id"));
                         ASSIGN_OR_RETURN(out.second, r.GetTime("changed_at"));
                         return out;
                       });
}

absl::StatusOr<std::vector<ChangeRecord>> MySqlTicketStore::History(absl::string_view ticket_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT at, actor_id, actor_role, kind, detail FROM "
                                "ticket_history WHERE ticket_id = ? ORDER BY seq",
                                {std::string(ticket_id)}));
  return db::ParseRows(rows, [](const Row& r) -> absl::StatusOr<ChangeRecord> {
    ChangeRecord c;
    ASSIGN_OR_RETURN(c.at, r.GetTime("at"));
    ASSIGN_OR_RETURN(c.actor_id, r.GetString("actor_id"));
    ASSIGN_OR_RETURN(int64_t role, r.GetInt64("actor_role"));
    c.actor_role = static_cast<pb::AuthorRole>(role);
    ASSIGN_OR_RETURN(c.kind, r.GetString("kind"));
    ASSIGN_OR_RETURN(c.detail, r.GetString("detail"));
    return c;
  });
}

absl::StatusOr<std::vector<MessageRecord>> MySqlTicketStore::ListMessages(
    absl::string_view ticket_id, bool include_internal, int after_seq, int limit) {
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      pool_->Query(absl::StrCat("SELECT ticket_id, seq, message_id, author_id, author_role, "
                                "visibility, body, created_at FROM ticket_messages WHERE "
                                "ticket_id = ? AND seq > ?",
                                include_internal ? "" : " AND visibility = 1",
                                " ORDER BY seq LIMIT ?"),
                   {std::string(ticket_id), static_cast<int64_t>(after_seq),
                    static_cast<int64_t>(limit)}));
  ASSIGN_OR_RETURN(std::vector<MessageRecord> messages, db::ParseRows(rows, MessageOf));
  RETURN_IF_ERROR(LoadAttachments(*pool_, messages));
  return messages;
}

absl::StatusOr<std::vector<TicketRecord>> MySqlTicketStore::ListTickets(
    const TicketFilter& f, const std::optional<TicketCursor>& after, int limit) {
  std::string where = "TRUE";
  std::vector<SqlValue> params;
  auto add = [&](absl::string_view clause, SqlValue value) {
    absl::StrAppend(&where, " AND ", clause);
    params.push_back(std::move(value));
  };
  if (!f.buyer_id.empty()) add("buyer_id = ?", f.buyer_id);
  if (!f.seller_id.empty()) add("seller_id = ?", f.seller_id);
  if (f.level != v1::TICKET_LEVEL_UNSPECIFIED) add("level = ?", static_cast<int64_t>(f.level));
  if (f.status == pb::SOLVED) {
    // Tickets::AsOfNow's rule: past closes_at, a SOLVED ticket reads CLOSED.
    add("status = ?", static_cast<int64_t>(pb::SOLVED));
    add("(closes_at IS NULL OR closes_at > ?)", f.now);
  } else if (f.status == pb::CLOSED) {
    absl::StrAppend(&where, " AND status IN (?, ?) AND (status = ? OR closes_at <= ?)");
    for (SqlValue v : std::initializer_list<SqlValue>{static_cast<int64_t>(pb::SOLVED),
                                                      static_cast<int64_t>(pb::CLOSED),
                                                      static_cast<int64_t>(pb::CLOSED), f.now}) {
      params.push_back(std::move(v));
    }
  } else if (f.status != pb::TICKET_STATUS_UNSPECIFIED) {
    add("status = ?", static_cast<int64_t>(f.status));
  }
  if (!f.assignee_id.empty()) add("assignee_id = ?", f.assignee_id);
  if (f.category != pb::CATEGORY_UNSPECIFIED) {
    add("category = ?", static_cast<int64_t>(f.category));
  }
  if (after) {
    absl::StrAppend(&where, " AND (sort_at > ? OR (sort_at = ? AND ticket_id > ?))");
    params.push_back(after->sort_at);
    params.push_back(after->sort_at);
    params.push_back(after->ticket_id);
  }
  params.push_back(static_cast<int64_t>(limit));
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query(absl::StrCat("SELECT ", kTicketColumns, " FROM tickets WHERE ",
                                             where, " ORDER BY sort_at, ticket_id LIMIT ?"),
                                params));
  return db::ParseRows(rows, TicketOf);
}

absl::StatusOr<ComplaintCounts> MySqlTicketStore::CountComplaints(absl::string_view seller_id,
                                                                 absl::Time start,
                                                                 absl::Time end) {
  // Merged-away tickets are counted in the ticket they joined.
  const std::string where = absl::StrCat(
      "t.created_at >= ? AND t.created_at < ? AND t.merged_into = ''",
      seller_id.empty() ? "" : " AND t.seller_id = ?");
  std::vector<SqlValue> params = {start, end};
  if (!seller_id.empty()) params.push_back(std::string(seller_id));
  ComplaintCounts counts;
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      pool_->Query(absl::StrCat("SELECT t.category, t.reason_code, t.channel, t.outcome, "
                                "COUNT(*) AS n FROM tickets t WHERE ", where,
                                " GROUP BY t.category, t.reason_code, t.channel, t.outcome "
                                "ORDER BY t.category, t.reason_code, t.channel, t.outcome"),
                   params));
  for (const Row& r : rows) {
    ComplaintCounts::Row row;
    ASSIGN_OR_RETURN(int64_t category, r.GetInt64("category"));
    row.category = static_cast<pb::Category>(category);
    ASSIGN_OR_RETURN(row.reason_code, r.GetString("reason_code"));
    ASSIGN_OR_RETURN(int64_t channel, r.GetInt64("channel"));
    row.channel = static_cast<v1::Channel>(channel);
    ASSIGN_OR_RETURN(int64_t outcome, r.GetInt64("outcome"));
    row.outcome = static_cast<pb::Outcome>(outcome);
    ASSIGN_OR_RETURN(row.tickets, r.GetInt64("n"));
    counts.rows.push_back(std::move(row));
  }
  ASSIGN_OR_RETURN(
      rows, pool_->Query(absl::StrCat("SELECT TIMESTAMPDIFF(SECOND, t.created_at, "
                                      "MIN(m.created_at)) AS s FROM tickets t JOIN "
                                      "ticket_messages m ON m.ticket_id = t.ticket_id AND "
                                      "m.visibility = ? AND m.author_role = ? WHERE ",
                                      where, " GROUP BY t.ticket_id ORDER BY s"),
                         [&] {
                           std::vector<SqlValue> p = {static_cast<int64_t>(pb::PUBLIC),
                                                      static_cast<int64_t>(pb::AUTHOR_SELLER)};
                           p.insert(p.end(), params.begin(), params.end());
                           return p;
                         }()));
  for (const Row& r : rows) {
    ASSIGN_OR_RETURN(int64_t seconds, r.GetInt64("s"));
    counts.first_reply_seconds.push_back(seconds);
  }
  ASSIGN_OR_RETURN(
      rows, pool_->Query(absl::StrCat("SELECT c.level, c.party, COUNT(*) AS n FROM sla_clocks c "
                                      "JOIN tickets t ON t.ticket_id = c.ticket_id WHERE c.state "
                                      "= 4 AND ",
                                      where, " GROUP BY c.level, c.party ORDER BY c.level, c.party"),
                         params));
  for (const Row& r : rows) {
    ComplaintCounts::Breaches b;
    ASSIGN_OR_RETURN(int64_t level, r.GetInt64("level"));
    b.level = static_cast<v1::TicketLevel>(level);
    ASSIGN_OR_RETURN(int64_t party, r.GetInt64("party"));
    b.party = static_cast<v1::SlaParty>(party);
    ASSIGN_OR_RETURN(b.breaches, r.GetInt64("n"));
    counts.breaches.push_back(b);
  }
  ASSIGN_OR_RETURN(rows, pool_->Query(absl::StrCat("SELECT COUNT(*) AS n, "
                                                   "COALESCE(SUM(t.rating >= 4), 0) AS good "
                                                   "FROM tickets t WHERE t.rating > 0 AND ",
                                                   where),
                                      params));
  ASSIGN_OR_RETURN(counts.ratings, rows.at(0).GetInt64("n"));
  ASSIGN_OR_RETURN(counts.good_ratings, rows.at(0).GetInt64("good"));
  return counts;
}

absl::StatusOr<std::vector<TicketStore::BacklogCount>> MySqlTicketStore::CountBacklog() {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT level, status, COUNT(*) AS n FROM tickets WHERE status <> ? "
                                "GROUP BY level, status",
                                {static_cast<int64_t>(pb::CLOSED)}));
  return db::ParseRows(rows, [](const Row& r) -> absl::StatusOr<BacklogCount> {
    BacklogCount c;
    ASSIGN_OR_RETURN(int64_t level, r.GetInt64("level"));
    c.level = static_cast<v1::TicketLevel>(level);
    ASSIGN_OR_RETURN(int64_t status, r.GetInt64("status"));
    c.status = static_cast<pb::TicketStatus>(status);
    ASSIGN_OR_RETURN(c.tickets, r.GetInt64("n"));
    return c;
  });
}

absl::StatusOr<int64_t> MySqlTicketStore::CountPaidOrders(absl::string_view buyer_id,
                                                          absl::Time since) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT COUNT(*) AS n FROM paid_orders WHERE buyer_id = ? AND "
                                "held_at >= ?",
                                {std::string(buyer_id), since}));
  return rows.at(0).GetInt64("n");
}

absl::StatusOr<std::optional<v1::SlaPolicy>> MySqlTicketStore::CurrentSlaPolicy() {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT policy FROM sla_policies ORDER BY version DESC LIMIT 1",
                                {}));
  return PolicyOf(rows);
}

absl::StatusOr<std::optional<v1::SlaPolicy>> MySqlTicketStore::SlaPolicyVersion(int64_t version) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT policy FROM sla_policies WHERE version = ?", {version}));
  return PolicyOf(rows);
}

absl::StatusOr<bool> MySqlTicketStore::SeedSlaPolicy(const v1::SlaPolicy& seed) {
  bool written = false;
  RETURN_IF_ERROR(db::RunInTransaction(*pool_, [&](db::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx.Query("SELECT version FROM sla_policies WHERE version = 1", {}));
    if (!rows.empty()) return absl::OkStatus();
    v1::SlaPolicy first = seed;
    first.set_version(1);
    RETURN_IF_ERROR(WritePolicy(tx, first, /*ignore_existing=*/true));
    written = true;
    return absl::OkStatus();
  }));
  return written;
}

absl::Status MySqlTicketStore::RecordPaidOrder(db::Transaction& tx, absl::string_view payment_id,
                                               absl::string_view buyer_id,
                                               absl::string_view order_id, absl::Time held_at) {
  return tx.Write(
      "INSERT IGNORE INTO paid_orders (payment_id, buyer_id, order_id, held_at) "
      "VALUES (?, ?, ?, ?)",
      {std::string(payment_id), std::string(buyer_id), std::string(order_id), held_at});
}

absl::StatusOr<std::vector<DueClock>> MySqlTicketStore::ClaimDueClocks(absl::Time now,
                                                                       absl::Duration lease,
                                                                       int limit) {
  const int64_t running = StateNumber(sla::ClockRunState::kRunning);
  const int64_t n = limit;
  return db::RunInTransaction(
      *pool_, [&](db::Transaction& tx) -> absl::StatusOr<std::vector<DueClock>> {
        // Two index ranges (sla_clocks_due, sla_clocks_warn) rather than one OR over both;
        // the lists merged by (due_at, ticket_id, metric, level), a clock in both once.
        std::map<std::tuple<absl::Time, std::string, int64_t, int64_t>, DueClock> ordered;
        for (const char* range : {"due_at <= ? AND (scan_lease_until IS NULL OR "
                                  "scan_lease_until <= ?) ORDER BY due_at",
                                  "warned = 0 AND warn_at <= ? AND (scan_lease_until IS NULL OR "
                                  "scan_lease_until <= ?) ORDER BY warn_at"}) {
          ASSIGN_OR_RETURN(std::vector<Row> rows,
                           tx.Query(absl::StrCat("SELECT ticket_id, metric, level, due_at FROM "
                                                 "sla_clocks WHERE state = ? AND ",
                                                 range, " LIMIT ? FOR UPDATE SKIP LOCKED"),
                                    {running, now, now, n}));
          for (const Row& r : rows) {
            DueClock c;
            ASSIGN_OR_RETURN(c.ticket_id, r.GetString("ticket_id"));
            ASSIGN_OR_RETURN(int64_t metric, r.GetInt64("metric"));
            ASSIGN_OR_RETURN(int64_t level, r.GetInt64("level"));
            ASSIGN_OR_RETURN(absl::Time due_at, r.GetTime("due_at"));
            c.metric = static_cast<v1::SlaMetric>(metric);
            c.level = static_cast<v1::TicketLevel>(level);
            ordered.emplace(std::make_tuple(due_at, c.ticket_id, metric, level), std::move(c));
          }
        }
        std::vector<DueClock> claimed;
        std::vector<SqlValue> params = {now + lease};
        std::vector<std::string> keys;
        for (auto& [key, c] : ordered) {
          if (static_cast<int64_t>(claimed.size()) == n) break;
          keys.push_back("(ticket_id = ? AND metric = ? AND level = ?)");
          params.push_back(c.ticket_id);
          params.push_back(static_cast<int64_t>(c.metric));
          params.push_back(static_cast<int64_t>(c.level));
          claimed.push_back(std::move(c));
        }
        if (claimed.empty()) return claimed;
        RETURN_IF_ERROR(tx.Write(absl::StrCat("UPDATE sla_clocks SET scan_lease_until = ? WHERE ",
                                              absl::StrJoin(keys, " OR ")),
                                 params, static_cast<int64_t>(claimed.size())));
        return claimed;
      });
}

absl::Status MySqlTicketStore::ReleaseClockClaim(const DueClock& clock) {
  return pool_
      ->Execute("UPDATE sla_clocks SET scan_lease_until = NULL WHERE ticket_id = ? AND "
                "metric = ? AND level = ?",
                {clock.ticket_id, static_cast<int64_t>(clock.metric),
                 static_cast<int64_t>(clock.level)})
      .status();
}

absl::StatusOr<std::vector<std::string>> MySqlTicketStore::SolvedTicketsDue(
    absl::Time closes_before, absl::Time csat_before, int limit) {
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      pool_->Query("SELECT ticket_id, solved_at FROM ("
                   "(SELECT ticket_id, solved_at FROM tickets WHERE status = ? AND "
                   "closes_at <= ? AND merged_into = '' ORDER BY closes_at LIMIT ?) UNION "
                   "(SELECT ticket_id, solved_at FROM tickets WHERE status IN (?, ?) AND "
                   "solved_at <= ? AND merged_into = '' AND csat_requested_at IS NULL "
                   "ORDER BY solved_at LIMIT ?)) AS due ORDER BY solved_at, ticket_id LIMIT ?",
                   {static_cast<int64_t>(pb::SOLVED), closes_before, static_cast<int64_t>(limit),
                    static_cast<int64_t>(pb::SOLVED), static_cast<int64_t>(pb::CLOSED),
                    csat_before, static_cast<int64_t>(limit), static_cast<int64_t>(limit)}));
  return db::ParseRows(rows, [](const Row& r) { return r.GetString("ticket_id"); });
}

absl::StatusOr<std::string> MySqlTicketStore::RefundResultReason(absl::string_view request_id) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   pool_->Query("SELECT result_reason FROM refund_commands WHERE request_id = ?",
                                {std::string(request_id)}));
  if (rows.empty()) return std::string();
  return rows[0].GetString("result_reason");
}

}  // namespace marketplace::support
