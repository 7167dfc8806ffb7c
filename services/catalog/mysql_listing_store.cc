#include "services/catalog/mysql_listing_store.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/db/migrations.h"
#include "common/db/transaction.h"
#include "common/status_macros.h"
#include "services/catalog/catalog_migrations.h"
#include "services/catalog/convert.h"
#include "services/catalog/mysql_listing_rows.h"
#include "services/catalog/text.h"

namespace marketplace::catalog {
namespace {

using common::db::Row;
using common::db::SqlValue;
using common::db::Transaction;

std::vector<std::string> SplitList(absl::string_view joined, char separator) {
  return absl::StrSplit(joined, separator, absl::SkipEmpty());
}

// Every row through `from_row`; the first error stops.
template <typename T>
absl::StatusOr<std::vector<T>> FromRows(const std::vector<Row>& rows,
                                        absl::StatusOr<T> (*from_row)(const Row&)) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const Row& row : rows) {
    ASSIGN_OR_RETURN(T value, from_row(row));
    out.push_back(std::move(value));
  }
  return out;
}

// "a = ?, b = ?, " for the content columns.
std::string ContentAssignments() {
  std::string out;
  for (const std::string& column : ContentColumnNames()) absl::StrAppend(&out, column, " = ?, ");
  return out;
}

std::string Placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) absl::StrAppend(&out, i ? ", ?" : "?");
  return out;
}

std::string ReviewColumns() {
  return absl::StrCat(
      "q.listing_id AS q_listing_id, q.seller_id AS q_seller_id, q.reason AS q_reason, "
      "q.enqueued_at AS q_enqueued_at, q.claimed_by AS q_claimed_by, "
      "q.claim_expires_at AS q_claim_expires_at, q.appeal_statement AS q_appeal_statement, ",
      ListingColumns("l."));
}

// A review_queue row whose columns are named `<prefix><column>`.
absl::StatusOr<ReviewEntry> EntryFromRow(const Row& row, absl::string_view prefix) {
  auto column = [prefix](absl::string_view name) { return absl::StrCat(prefix, name); };
  ReviewEntry e;
  ASSIGN_OR_RETURN(e.listing_id, row.GetString(column("listing_id")));
  ASSIGN_OR_RETURN(e.seller_id, row.GetString(column("seller_id")));
  ASSIGN_OR_RETURN(std::string reason, row.GetString(column("reason")));
  e.reason = ReviewReasonFromName(reason);
  ASSIGN_OR_RETURN(e.enqueued_at, row.GetTime(column("enqueued_at")));
  ASSIGN_OR_RETURN(e.claimed_by, row.GetOptionalString(column("claimed_by")));
  ASSIGN_OR_RETURN(e.claim_expires_at, row.GetOptionalTime(column("claim_expires_at")));
  ASSIGN_OR_RETURN(e.appeal_statement, row.GetString(column("appeal_statement")));
  return e;
}

absl::StatusOr<Review> ReviewFromRow(const Row& row) {
  Review r;
  ASSIGN_OR_RETURN(r.entry, EntryFromRow(row, "q_"));
  ASSIGN_OR_RETURN(r.listing, ListingFromRow(row));
  return r;
}

// Longest word listing_words holds (migration 0005).
constexpr size_t kMaxIndexedWord = 100;

// The words of the listing's folded title, as listing_words rows of `seq`: one statement.
absl::Status WriteTitleWords(Transaction& tx, int64_t seq, const ListingRecord& l) {
  std::vector<std::string> words = Words(FoldText(l.content.title));
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  std::string sql = "INSERT IGNORE INTO listing_words (word, seq) VALUES ";
  std::vector<SqlValue> params;
  for (const std::string& w : words) {
    if (w.size() > kMaxIndexedWord) continue;  // bytes >= characters: never too long to store
    absl::StrAppend(&sql, params.empty() ? "" : ", ", "(?, ?)");
    params.push_back(w);
    params.push_back(seq);
  }
  if (params.empty()) return absl::OkStatus();
  return tx.Execute(sql, params).status();
}

class MysqlListingTransaction final : public ListingTransaction {
 public:
  MysqlListingTransaction(Transaction& tx, const common::outbox::Outbox& outbox)
      : tx_(tx), outbox_(outbox) {}

  absl::Status InsertListing(ListingRecord& l) override {
    std::vector<SqlValue> values = {l.listing_id, l.seller_id, std::string(StateName(l.state))};
    for (SqlValue& v : ContentValues(l)) values.push_back(std::move(v));
    for (SqlValue v : {SqlValue(absl::StrJoin(l.reason_codes, ",")), SqlValue(l.explanation),
                       SqlValue(l.rules_version), SqlValue(l.ever_decided), SqlValue(l.created_at),
                       SqlValue(l.updated_at), SqlValue(l.updated_at)}) {
      values.push_back(std::move(v));
    }
    RETURN_IF_ERROR(
        tx_.Execute(absl::StrCat("INSERT INTO listings (listing_id, seller_id, state, ",
                                 absl::StrJoin(ContentColumnNames(), ", "),
                                 ", reason_codes, explanation, rules_version, ever_decided, "
                                 "created_at, updated_at, fields_at) VALUES (",
                                 Placeholders(values.size()), ")"),
                    values)
            .status());
    ASSIGN_OR_RETURN(l.seq, tx_.LastInsertId());
    return WriteTitleWords(tx_, l.seq, l);
  }

  absl::StatusOr<std::optional<ListingRecord>> FindListing(absl::string_view id,
                                                           bool for_update) override {
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        tx_.Query(absl::StrCat("SELECT ", ListingColumns(""), " FROM listings WHERE listing_id = ?",
                               for_update ? " FOR UPDATE" : ""),
                  {std::string(id)}));
    if (rows.empty()) return std::optional<ListingRecord>();
    ASSIGN_OR_RETURN(ListingRecord r, ListingFromRow(rows[0]));
    return std::optional<ListingRecord>(std::move(r));
  }

  absl::Status SaveListing(ListingRecord& l, absl::Time now) override {
    l.updated_at = std::max(now, l.updated_at + absl::Microseconds(1));
    SqlValue before = nullptr;
    if (l.state_before_suspension) before = std::string(StateName(*l.state_before_suspension));
    std::vector<SqlValue> values = {std::string(StateName(l.state))};
    for (SqlValue& v : ContentValues(l)) values.push_back(std::move(v));
    for (SqlValue v : {SqlValue(absl::StrJoin(l.reason_codes, ",")), SqlValue(l.explanation),
                       SqlValue(l.rules_version), before, SqlValue(l.ever_decided),
                       SqlValue(l.updated_at), SqlValue(l.updated_at), SqlValue(l.listing_id)}) {
      values.push_back(std::move(v));
    }
    ASSIGN_OR_RETURN(
        int64_t n,
        tx_.Execute(absl::StrCat("UPDATE listings SET state = ?, ", ContentAssignments(),
                                 "reason_codes = ?, explanation = ?, rules_version = ?, "
                                 "state_before_suspension = ?, ever_decided = ?, updated_at = ?, "
                                 "fields_at = ? WHERE listing_id = ?"),
                    values));
    if (n != 1) return absl::InternalError("listing row vanished during its update");
    // The title's words, again (the title may have changed).
    RETURN_IF_ERROR(tx_.Execute("DELETE FROM listing_words WHERE seq = ?", {l.seq}).status());
    return WriteTitleWords(tx_, l.seq, l);
  }

  absl::StatusOr<std::vector<ListingRecord>> LockSellerListings(
      absl::string_view seller_id, const std::vector<ListingState>& states) override {
    std::vector<SqlValue> params = {std::string(seller_id)};
    for (ListingState s : states) params.push_back(std::string(StateName(s)));
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        tx_.Query(absl::StrCat("SELECT ", ListingColumns(""),
                               " FROM listings WHERE seller_id = ? AND state IN (",
                               Placeholders(states.size()), ") ORDER BY seq FOR UPDATE"),
                  params));
    return FromRows(rows, &ListingFromRow);
  }

  absl::StatusOr<int64_t> CountApprovedListings(absl::string_view seller_id,
                                                absl::string_view listing_id,
                                                int64_t at_most) override {
    // LIVE now, or a transition to LIVE (by index transitions_by_listing). ever_decided is no
    // help: it is set by rejections too. Counted up to `at_most` (the threshold), so that an
    // established seller's submission stops after that many approved listings.
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT COUNT(*) AS n FROM (SELECT 1 FROM listings l WHERE "
                               "l.seller_id = ? AND l.listing_id <> ? AND (l.state = 'LIVE' OR "
                               "EXISTS (SELECT 1 FROM listing_transitions t WHERE t.listing_id = "
                               "l.listing_id AND t.to_state = 'LIVE')) LIMIT ?) approved",
                               {std::string(seller_id), std::string(listing_id),
                                std::max<int64_t>(at_most, 0)}));
    return rows.at(0).GetInt64("n");
  }

  absl::StatusOr<std::vector<SellerListing>> RecentLiveListings(absl::string_view seller_id,
                                                                absl::string_view listing_id,
                                                                int limit) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query(absl::StrCat("SELECT ", ListingColumns(""),
                                            " FROM listings WHERE seller_id = ? AND "
                                            "state IN ('LIVE', 'PENDING_REVIEW') AND "
                                            "listing_id <> ? "
                                            "ORDER BY seq DESC LIMIT ",
                                            limit),
                               {std::string(seller_id), std::string(listing_id)}));
    std::vector<SellerListing> out;
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(ListingRecord r, ListingFromRow(row));
      out.push_back({r.listing_id, r.content.title, r.content.description,
                     r.state == ListingState::kLive ? SellerListingState::kLive
                                                    : SellerListingState::kPendingReview});
    }
    return out;
  }

  absl::StatusOr<std::vector<SellerListing>> RecentModeratorRejections(absl::string_view seller_id,
                                                                       absl::string_view listing_id,
                                                                       int limit) override {
    // The newest `limit` rows of the seller by (seller_id, decision_id), with the content the
    // moderator rejected (kept with the rejection: the listing itself may have been edited
    // since, whatever its state now). Never more rows, however many listings the seller has.
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query(absl::StrCat("SELECT listing_id, title, description FROM "
                                            "moderator_rejections WHERE seller_id = ? AND "
                                            "listing_id <> ? ORDER BY decision_id DESC LIMIT ",
                                            limit),
                               {std::string(seller_id), std::string(listing_id)}));
    std::vector<SellerListing> out;
    for (const Row& row : rows) {
      SellerListing r;
      r.state = SellerListingState::kRejectedByModerator;
      ASSIGN_OR_RETURN(r.listing_id, row.GetString("listing_id"));
      ASSIGN_OR_RETURN(r.title, row.GetString("title"));
      ASSIGN_OR_RETURN(r.description, row.GetString("description"));
      out.push_back(std::move(r));
    }
    return out;
  }

  absl::Status RecordModeratorRejection(const ListingRecord& l, int64_t decision_id) override {
    return tx_
        .Execute(
            "INSERT INTO moderator_rejections (listing_id, seller_id, decision_id, title, "
            "description) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE decision_id = "
            "VALUES(decision_id), title = VALUES(title), description = VALUES(description)",
            {l.listing_id, l.seller_id, decision_id, l.content.title, l.content.description})
        .status();
  }

  absl::Status ForgetModeratorRejection(absl::string_view listing_id) override {
    return tx_
        .Execute("DELETE FROM moderator_rejections WHERE listing_id = ?", {std::string(listing_id)})
        .status();
  }

  absl::StatusOr<std::optional<SellerModerationSetting>> FindSellerModeration(
      absl::string_view seller_id) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT level, authorized_brands, updated_by, updated_at "
                               "FROM seller_moderation WHERE seller_id = ?",
                               {std::string(seller_id)}));
    if (rows.empty()) return std::optional<SellerModerationSetting>();
    SellerModerationSetting s;
    s.seller_id = std::string(seller_id);
    ASSIGN_OR_RETURN(std::string level, rows[0].GetString("level"));
    s.level = ModerationLevelFromName(level);
    ASSIGN_OR_RETURN(std::string brands, rows[0].GetString("authorized_brands"));
    s.authorized_brands = SplitList(brands, '\n');
    ASSIGN_OR_RETURN(s.updated_by, rows[0].GetString("updated_by"));
    ASSIGN_OR_RETURN(s.updated_at, rows[0].GetTime("updated_at"));
    return std::optional<SellerModerationSetting>(std::move(s));
  }

  absl::Status SaveSellerModeration(const SellerModerationSetting& s) override {
    return tx_
        .Execute(
            "INSERT INTO seller_moderation (seller_id, level, authorized_brands, "
            "updated_by, updated_at) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
            "level = VALUES(level), authorized_brands = VALUES(authorized_brands), "
            "updated_by = VALUES(updated_by), updated_at = VALUES(updated_at)",
            {s.seller_id, std::string(ModerationLevelName(s.level)),
             absl::StrJoin(s.authorized_brands, "\n"), s.updated_by, s.updated_at})
        .status();
  }

  absl::StatusOr<int64_t> AppendTransition(const Transition& t) override {
    RETURN_IF_ERROR(
        tx_.Execute("INSERT INTO listing_transitions (listing_id, actor, at, from_state, "
                    "to_state, reason_codes, explanation, rules_version) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    {t.listing_id, t.actor, t.at,
                     t.from == ListingState::kUnspecified ? std::string()
                                                          : std::string(StateName(t.from)),
                     std::string(StateName(t.to)), absl::StrJoin(t.reason_codes, ","),
                     t.explanation, t.rules_version})
            .status());
    return tx_.LastInsertId();
  }

  absl::StatusOr<std::vector<Transition>> ListTransitions(absl::string_view listing_id) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT id, actor, at, from_state, to_state, reason_codes, "
                               "explanation, rules_version FROM listing_transitions "
                               "WHERE listing_id = ? ORDER BY id",
                               {std::string(listing_id)}));
    std::vector<Transition> out;
    for (const Row& row : rows) {
      Transition t;
      t.listing_id = std::string(listing_id);
      ASSIGN_OR_RETURN(t.id, row.GetInt64("id"));
      ASSIGN_OR_RETURN(t.actor, row.GetString("actor"));
      ASSIGN_OR_RETURN(t.at, row.GetTime("at"));
      ASSIGN_OR_RETURN(std::string from, row.GetString("from_state"));
      ASSIGN_OR_RETURN(std::string to, row.GetString("to_state"));
      t.from = StateFromName(from);
      t.to = StateFromName(to);
      ASSIGN_OR_RETURN(std::string codes, row.GetString("reason_codes"));
      t.reason_codes = SplitList(codes, ',');
      ASSIGN_OR_RETURN(t.explanation, row.GetString("explanation"));
      ASSIGN_OR_RETURN(t.rules_version, row.GetString("rules_version"));
      out.push_back(std::move(t));
    }
    return out;
  }

  absl::Status Enqueue(const ReviewEntry& e) override {
    return tx_
        .Execute(
            "INSERT INTO review_queue (listing_id, seller_id, reason, enqueued_at, claimed_by, "
            "claim_expires_at, appeal_statement) VALUES (?, ?, ?, ?, NULL, NULL, ?) "
            "ON DUPLICATE KEY UPDATE reason = VALUES(reason), enqueued_at = "
            "VALUES(enqueued_at), claimed_by = NULL, claim_expires_at = NULL, "
            "appeal_statement = VALUES(appeal_statement)",
            {e.listing_id, e.seller_id, std::string(ReviewReasonName(e.reason)), e.enqueued_at,
             e.appeal_statement})
        .status();
  }

  absl::Status Dequeue(absl::string_view listing_id) override {
    return tx_.Execute("DELETE FROM review_queue WHERE listing_id = ?", {std::string(listing_id)})
        .status();
  }

  absl::StatusOr<std::optional<ReviewEntry>> LockReviewEntry(
      absl::string_view listing_id) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT listing_id, seller_id, reason, enqueued_at, claimed_by, "
                               "claim_expires_at, appeal_statement FROM review_queue "
                               "WHERE listing_id = ? FOR UPDATE",
                               {std::string(listing_id)}));
    if (rows.empty()) return std::optional<ReviewEntry>();
    ASSIGN_OR_RETURN(ReviewEntry e, EntryFromRow(rows[0], ""));
    return std::optional<ReviewEntry>(std::move(e));
  }

  absl::StatusOr<bool> TryClaim(absl::string_view listing_id, absl::string_view moderator,
                                absl::Time until, absl::Time now) override {
    ASSIGN_OR_RETURN(
        int64_t n,
        tx_.Execute(
            "UPDATE review_queue q JOIN listings l ON l.listing_id = q.listing_id "
            "SET q.claimed_by = ?, q.claim_expires_at = ? "
            "WHERE q.listing_id = ? AND l.state = 'PENDING_REVIEW' AND "
            "(q.claimed_by IS NULL OR q.claim_expires_at <= ? OR q.claimed_by = ?)",
            {std::string(moderator), until, std::string(listing_id), now, std::string(moderator)}));
    return n > 0;
  }

  absl::StatusOr<std::optional<Review>> FindPendingReview(absl::string_view listing_id) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query(absl::StrCat("SELECT ", ReviewColumns(),
                                            " FROM review_queue q JOIN listings l ON "
                                            "l.listing_id = q.listing_id WHERE q.listing_id = ? "
                                            "AND l.state = 'PENDING_REVIEW'"),
                               {std::string(listing_id)}));
    if (rows.empty()) return std::optional<Review>();
    ASSIGN_OR_RETURN(Review r, ReviewFromRow(rows[0]));
    return std::optional<Review>(std::move(r));
  }

  absl::StatusOr<bool> HasReported(absl::string_view listing_id,
                                   absl::string_view reporter_id) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT id FROM reports WHERE listing_id = ? AND reporter_id = ?",
                               {std::string(listing_id), std::string(reporter_id)}));
    return !rows.empty();
  }

  absl::Status InsertReport(const ListingReport& r) override {
    return tx_
        .Execute(
            "INSERT INTO reports (listing_id, seller_id, reporter_id, reason, comment, is_open, "
            "created_at, counts, held) VALUES (?, ?, ?, ?, ?, TRUE, ?, ?, ?)",
            {r.listing_id, r.seller_id, r.reporter_id, r.reason, r.comment, r.created_at, r.counts,
             r.held})
        .status();
  }

  absl::StatusOr<int64_t> CountReportsBy(absl::string_view reporter_id, absl::Time since) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT COUNT(*) AS n FROM reports WHERE reporter_id = ? AND "
                               "created_at >= ?",
                               {std::string(reporter_id), since}));
    return rows.at(0).GetInt64("n");
  }

  absl::StatusOr<bool> HasPaidOrder(absl::string_view buyer_id) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT 1 AS one FROM buyer_paid_orders WHERE buyer_id = ?",
                               {std::string(buyer_id)}));
    return !rows.empty();
  }

  absl::StatusOr<bool> RecordPaidOrder(const PaidOrder& o) override {
    ASSIGN_OR_RETURN(int64_t inserted,
                     tx_.Execute("INSERT IGNORE INTO buyer_paid_orders (buyer_id, payment_id, "
                                 "order_id, event_id, paid_at) VALUES (?, ?, ?, ?, ?)",
                                 {o.buyer_id, o.payment_id, o.order_id, o.event_id, o.paid_at}));
    return inserted > 0;
  }

  absl::StatusOr<int64_t> CountCountedReportsOnSeller(absl::string_view seller_id,
                                                      absl::Time since) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT COUNT(*) AS n FROM reports WHERE seller_id = ? AND "
                               "created_at >= ? AND counts",
                               {std::string(seller_id), since}));
    return rows.at(0).GetInt64("n");
  }

  absl::StatusOr<std::optional<SellerSuspension>> FindSellerSuspension(
      absl::string_view seller_id) override {
    ASSIGN_OR_RETURN(std::vector<SellerSuspension> all,
                     ReadSellerSuspensions(seller_id, "LOCK IN SHARE MODE"));
    if (all.empty()) return std::optional<SellerSuspension>();
    return std::optional<SellerSuspension>(std::move(all.front()));
  }

  absl::StatusOr<std::vector<SellerSuspension>> LockSellerSuspensions(
      absl::string_view seller_id) override {
    return ReadSellerSuspensions(seller_id, "FOR UPDATE");
  }

  absl::Status SaveSellerSuspension(const SellerSuspension& s) override {
    return tx_
        .Execute(
            "INSERT INTO seller_suspensions (seller_id, source, reason_code, explanation, "
            "suspended_by, suspended_at) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
            "reason_code = VALUES(reason_code), explanation = VALUES(explanation), "
            "suspended_by = VALUES(suspended_by), suspended_at = VALUES(suspended_at)",
            {s.seller_id, std::string(SuspensionSourceName(s.source)), s.reason_code, s.explanation,
             s.suspended_by, s.suspended_at})
        .status();
  }

  absl::StatusOr<bool> DeleteSellerSuspension(absl::string_view seller_id,
                                              SuspensionSource source) override {
    // A row identity's events wrote is ACCOUNT's whatever its column says (kIdentityActor).
    ASSIGN_OR_RETURN(
        int64_t n,
        tx_.Execute(source == SuspensionSource::kAccount
                        ? "DELETE FROM seller_suspensions WHERE seller_id = ? AND (source = ? OR "
                          "suspended_by = ?)"
                        : "DELETE FROM seller_suspensions WHERE seller_id = ? AND source = ? AND "
                          "suspended_by <> ?",
                    {std::string(seller_id), std::string(SuspensionSourceName(source)),
                     std::string(kIdentityActor)}));
    return n > 0;
  }

  absl::StatusOr<int64_t> CountOpenReports(absl::string_view listing_id) override {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query("SELECT COUNT(*) AS n FROM reports WHERE listing_id = ? AND is_open "
                               "AND counts",
                               {std::string(listing_id)}));
    return rows.at(0).GetInt64("n");
  }

  absl::Status CloseReports(absl::string_view listing_id) override {
    return tx_
        .Execute("UPDATE reports SET is_open = FALSE WHERE listing_id = ? AND is_open",
                 {std::string(listing_id)})
        .status();
  }

  absl::StatusOr<bool> HasAppeal(int64_t decision_id) override {
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        tx_.Query("SELECT decision_id FROM appeals WHERE decision_id = ?", {decision_id}));
    return !rows.empty();
  }

  absl::Status InsertAppeal(int64_t decision_id, const ListingRecord& l,
                            absl::string_view statement, absl::Time now) override {
    return tx_
        .Execute(
            "INSERT INTO appeals (decision_id, listing_id, seller_id, statement, "
            "created_at) VALUES (?, ?, ?, ?, ?)",
            {decision_id, l.listing_id, l.seller_id, std::string(statement), now})
        .status();
  }

  absl::Status Publish(const ListingDecided& e) override {
    if (e.approved) {
      return outbox_.Enqueue(tx_, kTopicListingApproved, e.listing_id, ApprovedToProto(e)).status();
    }
    return outbox_.Enqueue(tx_, kTopicListingRejected, e.listing_id, RejectedToProto(e)).status();
  }

  absl::Status Publish(const ListingReported& e) override {
    return outbox_.Enqueue(tx_, kTopicListingReported, e.listing_id, ReportedToProto(e)).status();
  }

  absl::Status Publish(const ListingSuspended& e) override {
    return outbox_.Enqueue(tx_, kTopicListingSuspended, e.listing_id, SuspendedToProto(e)).status();
  }

 private:
  // The seller's suspension rows, oldest first, read with `lock` (a locking read also locks
  // their absence), each with the source it counts for (kIdentityActor's rows: ACCOUNT).
  absl::StatusOr<std::vector<SellerSuspension>> ReadSellerSuspensions(absl::string_view seller_id,
                                                                      absl::string_view lock) {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx_.Query(absl::StrCat("SELECT source, reason_code, explanation, "
                                            "suspended_by, suspended_at FROM seller_suspensions "
                                            "WHERE seller_id = ? ORDER BY suspended_at, source ",
                                            lock),
                               {std::string(seller_id)}));
    std::vector<SellerSuspension> out;
    for (const Row& row : rows) {
      SellerSuspension s;
      s.seller_id = std::string(seller_id);
      ASSIGN_OR_RETURN(std::string source, row.GetString("source"));
      ASSIGN_OR_RETURN(s.reason_code, row.GetString("reason_code"));
      ASSIGN_OR_RETURN(s.explanation, row.GetString("explanation"));
      ASSIGN_OR_RETURN(s.suspended_by, row.GetString("suspended_by"));
      ASSIGN_OR_RETURN(s.suspended_at, row.GetTime("suspended_at"));
      s.source = source == SuspensionSourceName(SuspensionSource::kAccount) ||
                         s.suspended_by == kIdentityActor
                     ? SuspensionSource::kAccount
                     : SuspensionSource::kCatalog;
      out.push_back(std::move(s));
    }
    return out;
  }

  Transaction& tx_;
  const common::outbox::Outbox& outbox_;
};

}  // namespace

absl::Status ApplyCatalogMigrations(common::db::ConnectionPool& pool) {
  RETURN_IF_ERROR(common::db::ApplyMigrations(
      pool, "catalog", CatalogMigrations(),
      {{"0004_fill_listing_columns",
        [](common::db::Connection& conn) { return FillListingColumns(conn); }}}));
  RETURN_IF_ERROR(common::outbox::ApplyOutboxMigrations(pool));
  return common::idempotency::ApplyIdempotencyMigrations(pool);
}

MysqlListingStore::MysqlListingStore(common::db::ConnectionPool* pool, const common::Clock* clock,
                                     Options options)
    : pool_(pool),
      outbox_("catalog", clock),
      idempotency_(clock),
      point_reader_(std::make_unique<common::db::BatchedReader>(
          pool, common::db::BatchedReader::Options{
                    .table = "listings",
                    .columns = ListingColumns(""),
                    .key_column = "listing_id",
                    .ascii_case_insensitive = false,  // ascii_bin (migration 0005)
                    .threads = std::max(1, options.point_read_threads)})) {}

MysqlListingStore::~MysqlListingStore() = default;

absl::Status MysqlListingStore::Transact(const Work& work) {
  return common::db::RunInTransaction(*pool_, [&](Transaction& tx) -> absl::Status {
    MysqlListingTransaction t(tx, outbox_);
    return work(t);
  });
}

absl::Status MysqlListingStore::TransactReadOnly(const Work& work) {
  common::db::TransactionOptions options;
  options.read_only = true;
  return common::db::RunInTransaction(
      *pool_,
      [&](Transaction& tx) -> absl::Status {
        MysqlListingTransaction t(tx, outbox_);
        return work(t);
      },
      options);
}

absl::StatusOr<ListingRecord> MysqlListingStore::CreateOnce(const CreateRequestKey& key,
                                                            const CreateWork& work) {
  // The first result is kept as the API message, as replicas of every release read it.
  ASSIGN_OR_RETURN(v1::Listing first,
                   common::idempotency::RunIdempotent<v1::Listing>(
                       *pool_, idempotency_, {key.caller, kCreateListingMethod, key.request_id},
                       key.request_hash, [&](Transaction& tx) -> absl::StatusOr<v1::Listing> {
                         MysqlListingTransaction t(tx, outbox_);
                         ASSIGN_OR_RETURN(ListingRecord created, work(t));
                         return ListingToProto(created);
                       }));
  return ListingFromProto(first);
}

absl::StatusOr<std::optional<absl::StatusOr<ListingRecord>>> MysqlListingStore::FindCreated(
    const CreateRequestKey& key) {
  using Result = absl::StatusOr<ListingRecord>;
  ASSIGN_OR_RETURN(std::optional<common::idempotency::StoredResult> stored,
                   idempotency_.Find(*pool_, {key.caller, kCreateListingMethod, key.request_id},
                                     key.request_hash));
  if (!stored) return std::optional<Result>();
  if (!stored->status.ok()) return std::optional<Result>(Result(stored->status));
  v1::Listing first;
  if (!first.ParseFromString(stored->response)) {
    return absl::InternalError("stored response does not parse");
  }
  return std::optional<Result>(Result(ListingFromProto(first)));
}

void MysqlListingStore::ReadListing(absl::string_view listing_id, ReadDone done) {
  point_reader_->Read(std::string(listing_id),
                      [done = std::move(done)](absl::StatusOr<std::optional<Row>> row) {
                        if (!row.ok()) return done(row.status());
                        if (!row->has_value()) return done(std::optional<ListingRecord>());
                        absl::StatusOr<ListingRecord> r = ListingFromRow(**row);
                        if (!r.ok()) return done(r.status());
                        done(std::optional<ListingRecord>(*std::move(r)));
                      });
}

absl::StatusOr<std::vector<ListingRecord>> MysqlListingStore::ListListings(const ListingQuery& q) {
  // Title words: the listings having the first word, newest first (listing_words' primary
  // key), each other word probed by (word, seq); words too long to be stored by LIKE.
  std::vector<std::string> indexed, unindexed;
  for (const std::string& w : q.title_words) {
    (w.size() > kMaxIndexedWord ? unindexed : indexed).push_back(w);
  }
  // The longest word first: usually the rarest, the shortest walk.
  std::stable_sort(indexed.begin(), indexed.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  indexed.erase(std::unique(indexed.begin(), indexed.end()), indexed.end());
  std::vector<SqlValue> params;
  std::string sql = absl::StrCat("SELECT ", ListingColumns("l."), " FROM ");
  std::string order = "l.seq";
  if (indexed.empty()) {
    sql += "listings l";
  } else {
    sql += "listing_words w0";
    for (size_t i = 1; i < indexed.size(); ++i) {
      absl::StrAppend(&sql, " JOIN listing_words w", i, " ON w", i, ".word = ? AND w", i,
                      ".seq = w0.seq");
      params.push_back(indexed[i]);
    }
    sql += " JOIN listings l ON l.seq = w0.seq";
    order = "w0.seq";
  }
  absl::StrAppend(&sql, " WHERE l.state IN (", Placeholders(q.states.size()), ")");
  for (ListingState s : q.states) params.push_back(std::string(StateName(s)));
  if (!indexed.empty()) {
    sql += " AND w0.word = ?";
    params.push_back(indexed[0]);
  }
  if (!q.seller_id.empty()) {
    sql += " AND l.seller_id = ?";
    params.push_back(q.seller_id);
  }
  if (!q.category_ids.empty()) {
    absl::StrAppend(&sql, " AND l.category_id IN (", Placeholders(q.category_ids.size()), ")");
    params.insert(params.end(), q.category_ids.begin(), q.category_ids.end());
  }
  for (const std::string& w : unindexed) {
    // Folded words are letters and digits only: nothing LIKE would interpret.
    sql += " AND l.title_folded LIKE ?";
    params.push_back(absl::StrCat("% ", w, " %"));
  }
  if (q.before_seq) {
    absl::StrAppend(&sql, " AND ", order, " < ?");
    params.push_back(*q.before_seq);
  }
  absl::StrAppend(&sql, " ORDER BY ", order, " DESC LIMIT ", q.limit);
  ASSIGN_OR_RETURN(std::vector<Row> rows, pool_->Query(sql, params));
  return FromRows(rows, &ListingFromRow);
}

absl::StatusOr<std::vector<Review>> MysqlListingStore::ListReviews(const ReviewQuery& q) {
  std::string sql =
      absl::StrCat("SELECT ", ReviewColumns(),
                   " FROM review_queue q JOIN listings l ON l.listing_id = q.listing_id "
                   "WHERE l.state = 'PENDING_REVIEW'");
  std::vector<SqlValue> params;
  if (q.reason) {
    sql += " AND q.reason = ?";
    params.push_back(std::string(ReviewReasonName(*q.reason)));
  }
  if (!q.category_ids.empty()) {
    absl::StrAppend(&sql, " AND l.category_id IN (", Placeholders(q.category_ids.size()), ")");
    params.insert(params.end(), q.category_ids.begin(), q.category_ids.end());
  }
  if (q.unclaimed_at) {
    sql += " AND (q.claimed_by IS NULL OR q.claim_expires_at <= ?)";
    params.push_back(*q.unclaimed_at);
  }
  if (q.after) {
    sql += " AND (q.enqueued_at > ? OR (q.enqueued_at = ? AND q.listing_id > ?))";
    params.push_back(q.after->first);
    params.push_back(q.after->first);
    params.push_back(q.after->second);
  }
  absl::StrAppend(&sql, " ORDER BY q.enqueued_at, q.listing_id LIMIT ", q.limit);
  ASSIGN_OR_RETURN(std::vector<Row> rows, pool_->Query(sql, params));
  return FromRows(rows, &ReviewFromRow);
}

absl::StatusOr<std::vector<std::pair<std::string, absl::Time>>> MysqlListingStore::ListChangedSince(
    absl::Time from) {
  // Answered by the index listings_by_update alone.
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      pool_->Query("SELECT listing_id, updated_at FROM listings WHERE updated_at >= ?", {from}));
  std::vector<std::pair<std::string, absl::Time>> out;
  out.reserve(rows.size());
  for (const Row& row : rows) {
    ASSIGN_OR_RETURN(std::string id, row.GetString("listing_id"));
    ASSIGN_OR_RETURN(absl::Time updated, row.GetTime("updated_at"));
    out.emplace_back(std::move(id), updated);
  }
  return out;
}

absl::StatusOr<int64_t> MysqlListingStore::PurgeRequestIds() { return idempotency_.Purge(*pool_); }

}  // namespace marketplace::catalog
