#include "common/db/connection.h"

#include <cppconn/connection.h>
#include <cppconn/datatype.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/db/sql_errors.h"
#include "common/status_macros.h"

namespace marketplace::common::db {
namespace {

// ER_NEED_REPREPARE: a cached statement whose tables changed underneath it.
constexpr int kErrNeedReprepare = 1615;
// Prepared statements kept per connection. A service has a few dozen distinct statements;
// beyond that the least recently used one is closed.
constexpr size_t kStatementCacheSize = 64;

// ER_SIGNAL_EXCEPTION: SIGNAL SQLSTATE '45000', raised by a script's row-count check.
constexpr int kErrSignalException = 1644;
constexpr char kRowCountCheck[] = "rows matched by script statement ";

constexpr char kSqlMode[] =
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION";

// The first call is not thread-safe (it initializes the client library).
sql::mysql::MySQL_Driver* Driver() {
  static std::once_flag once;
  static sql::mysql::MySQL_Driver* driver = nullptr;
  std::call_once(once, [] { driver = sql::mysql::get_mysql_driver_instance(); });
  return driver;
}

// The driver takes whole seconds; a sub-second timeout must not become "no timeout" (0).
int WholeSeconds(absl::Duration d) {
  return static_cast<int>(std::max<double>(1, std::ceil(absl::ToDoubleSeconds(d))));
}

void CopyRows(sql::ResultSet& rs, std::vector<Row>* rows) {
  sql::ResultSetMetaData* meta = rs.getMetaData();  // owned by `rs`
  const unsigned int columns = meta->getColumnCount();
  std::vector<std::string> labels;
  labels.reserve(columns);
  for (unsigned int i = 1; i <= columns; ++i) {
    labels.push_back(meta->getColumnLabel(i).asStdString());
  }
  auto names = std::make_shared<const ColumnNames>(std::move(labels));
  rows->clear();
  rows->reserve(rs.rowsCount());
  while (rs.next()) {
    std::vector<std::optional<std::string>> values;
    values.reserve(columns);
    for (unsigned int i = 1; i <= columns; ++i) {
      if (rs.isNull(i)) {
        values.emplace_back(std::nullopt);
      } else {
        values.emplace_back(rs.getString(i).asStdString());
      }
    }
    rows->emplace_back(names, std::move(values));
  }
}

// A statement on a connection already known to be broken.
absl::Status LostEarlier() {
  return WithMySqlErrorCode(absl::UnavailableError("database connection was lost earlier"),
                            kErrServerGone);
}

absl::Status Bind(sql::PreparedStatement& statement, absl::Span<const SqlValue> params) {
  for (size_t i = 0; i < params.size(); ++i) {
    const unsigned int index = static_cast<unsigned int>(i + 1);
    const SqlValue& value = params[i];
    if (std::holds_alternative<std::nullptr_t>(value)) {
      statement.setNull(index, sql::DataType::SQLNULL);
    } else if (const auto* n = std::get_if<int64_t>(&value)) {
      statement.setInt64(index, *n);
    } else if (const auto* s = std::get_if<std::string>(&value)) {
      statement.setString(index, sql::SQLString(*s));
    } else if (const auto* t = std::get_if<absl::Time>(&value)) {
      RETURN_IF_ERROR(ValidateSqlTime(*t));
      statement.setDateTime(index, sql::SQLString(FormatSqlTime(*t)));
    } else if (const auto* b = std::get_if<bool>(&value)) {
      statement.setBoolean(index, *b);
    }
  }
  return absl::OkStatus();
}

}  // namespace

class Connection::Impl {
 public:
  Impl(std::unique_ptr<sql::Connection> conn, DbMetrics* metrics)
      : conn_(std::move(conn)), metrics_(metrics), last_used_(absl::Now()) {}

  ~Impl() {
    // Statements before their connection; a dead socket may make either throw.
    try {
      cache_.clear();
      lru_.clear();
      conn_->close();
    } catch (const std::exception&) {
    }
  }

  absl::Status Run(absl::string_view sql, absl::Span<const SqlValue> params, std::vector<Row>* rows,
                   int64_t* affected, absl::string_view context) {
    if (!healthy_) return LostEarlier();
    const absl::Time start = absl::Now();
    absl::Status status = RunOnce(sql, params, rows, affected, context);
    if (!status.ok() && MySqlErrorCodeOf(status) == kErrNeedReprepare) {
      status = RunOnce(sql, params, rows, affected, context);
    }
    last_used_ = absl::Now();
    if (metrics_ != nullptr) metrics_->QueryDone(status.ok(), last_used_ - start);
    return status;
  }

  absl::Status RunScript(absl::Span<const ScriptStatement> statements,
                         const std::optional<ScriptStatement>& query, std::vector<Row>* rows) {
    if (!healthy_) return LostEarlier();
    auto* mysql = dynamic_cast<sql::mysql::MySQL_Connection*>(conn_.get());
    if (mysql == nullptr) return absl::InternalError("database driver cannot escape values");
    const auto quote = [mysql](absl::string_view text) {
      return absl::StrCat("'", mysql->escapeString(sql::SQLString(std::string(text))).asStdString(),
                          "'");
    };
    // With a row-count check, one compound statement: the server sends one answer for all of
    // it, and a check is an IF after its statement that raises an error. Without one, the
    // statements one after the other in the packet, each answered in turn (the server stops
    // at the first that fails): no stored program to compile for each script.
    std::string text;
    int results = 0;
    const bool compound = std::any_of(statements.begin(), statements.end(),
                                      [](const ScriptStatement& st) { return st.expect_matched; });
    if (compound) {
      text = "BEGIN NOT ATOMIC\n";
      for (size_t i = 0; i < statements.size(); ++i) {
        const ScriptStatement& st = statements[i];
        ASSIGN_OR_RETURN(std::string sql, InlineValues(st.sql, st.params, quote));
        absl::StrAppend(&text, sql, ";\n");
        if (st.expect_matched) {
          absl::StrAppend(&text, "IF ROW_COUNT() <> ", *st.expect_matched,
                          " THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '", kRowCountCheck,
                          i + 1, "'; END IF;\n");
        }
      }
      text.append("END");
      ++results;
    } else {
      for (const ScriptStatement& st : statements) {
        ASSIGN_OR_RETURN(std::string sql, InlineValues(st.sql, st.params, quote));
        absl::StrAppend(&text, text.empty() ? "" : ";\n", sql);
        ++results;
      }
    }
    if (query) {
      ASSIGN_OR_RETURN(std::string sql, InlineValues(query->sql, query->params, quote));
      absl::StrAppend(&text, text.empty() ? "" : ";\n", sql);
      ++results;
    }
    if (results == 0) return absl::OkStatus();

    const absl::Time start = absl::Now();
    absl::Status status;
    try {
      std::unique_ptr<sql::Statement> statement(conn_->createStatement());
      bool has_rows = statement->execute(text);
      for (int result = 1;; ++result) {
        if (has_rows) {
          // Every result set is read, or the session is out of step with the server.
          std::unique_ptr<sql::ResultSet> rs(statement->getResultSet());
          if (result == results) CopyRows(*rs, rows);
        }
        if (result == results) break;
        has_rows = statement->getMoreResults();
      }
    } catch (const sql::SQLException& e) {
      if (IsConnectionError(e.getErrorCode())) healthy_ = false;
      const std::string what = e.what();
      if (e.getErrorCode() == kErrSignalException && absl::StartsWith(what, kRowCountCheck)) {
        int index = 0;
        (void)absl::SimpleAtoi(absl::string_view(what).substr(strlen(kRowCountCheck)), &index);
        const ScriptStatement& st = statements.at(std::max(1, index) - 1);
        status = absl::FailedPreconditionError(
            absl::StrCat("script statement ", index, " of ", statements.size(), " (",
                         absl::string_view(st.sql).substr(0, 60), ") matched other than ",
                         st.expect_matched.value_or(-1), " rows"));
      } else {
        status = MySqlErrorToStatus(e.getErrorCode(), e.getSQLState(), what,
                                    absl::StrCat("a script of ", statements.size(),
                                                 " statements", query ? " and a query" : ""));
      }
    } catch (const std::exception& e) {
      healthy_ = false;
      status = absl::InternalError("database driver failure during a script");
    }
    last_used_ = absl::Now();
    if (metrics_ != nullptr) metrics_->QueryDone(status.ok(), last_used_ - start);
    return status;
  }

  bool healthy() const { return healthy_; }
  void MarkBroken() { healthy_ = false; }
  // The session's isolation level as last set (SET SESSION TRANSACTION ISOLATION LEVEL).
  std::string isolation;
  absl::Time last_used() const { return last_used_; }

  bool CheckAlive() {
    if (!healthy_) return false;
    try {
      if (!conn_->isValid()) healthy_ = false;
    } catch (const std::exception&) {
      healthy_ = false;
    }
    return healthy_;
  }

 private:
  struct CachedStatement {
    std::unique_ptr<sql::PreparedStatement> statement;
    std::list<std::string>::iterator lru_position;
  };

  absl::Status RunOnce(absl::string_view sql, absl::Span<const SqlValue> params,
                       std::vector<Row>* rows, int64_t* affected, absl::string_view context) {
    const std::string text(sql);
    try {
      if (params.empty()) {
        // No values to bind: the text protocol does it in one round trip instead of three.
        std::unique_ptr<sql::Statement> statement(conn_->createStatement());
        if (rows != nullptr) {
          std::unique_ptr<sql::ResultSet> rs(statement->executeQuery(text));
          CopyRows(*rs, rows);
        } else if (statement->execute(text)) {
          std::unique_ptr<sql::ResultSet> discarded(statement->getResultSet());
          *affected = 0;
        } else {
          *affected = static_cast<int64_t>(statement->getUpdateCount());
        }
        return absl::OkStatus();
      }
      sql::PreparedStatement& statement = Prepared(text);
      statement.clearParameters();
      RETURN_IF_ERROR(Bind(statement, params));
      if (rows != nullptr) {
        std::unique_ptr<sql::ResultSet> rs(statement.executeQuery());
        CopyRows(*rs, rows);
      } else {
        *affected = statement.executeUpdate();
      }
      return absl::OkStatus();
    } catch (const sql::SQLException& e) {
      Evict(text);
      if (IsConnectionError(e.getErrorCode())) healthy_ = false;
      return MySqlErrorToStatus(e.getErrorCode(), e.getSQLState(), e.what(), context);
    } catch (const std::exception& e) {
      // Not a server error: the driver's state is unknown, so the connection is not reused.
      Evict(text);
      healthy_ = false;
      return absl::InternalError(absl::StrCat("database driver failure during ", context));
    }
  }

  // Throws sql::SQLException like the rest of the driver.
  sql::PreparedStatement& Prepared(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru_position);
      return *it->second.statement;
    }
    std::unique_ptr<sql::PreparedStatement> statement(conn_->prepareStatement(sql));
    if (cache_.size() >= kStatementCacheSize) {
      cache_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(sql);
    auto& entry = cache_[sql];
    entry.statement = std::move(statement);
    entry.lru_position = lru_.begin();
    return *entry.statement;
  }

  void Evict(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) return;
    lru_.erase(it->second.lru_position);
    try {
      cache_.erase(it);
    } catch (const std::exception&) {
    }
  }

  std::unique_ptr<sql::Connection> conn_;
  DbMetrics* metrics_;
  bool healthy_ = true;
  absl::Time last_used_;
  std::list<std::string> lru_;  // most recently used first
  absl::flat_hash_map<std::string, CachedStatement> cache_;
};

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const DbOptions& options,
                                                             DbMetrics* metrics) {
  RETURN_IF_ERROR(ValidateDbOptions(options));
  sql::ConnectOptionsMap props;
  props["hostName"] = absl::StrCat("tcp://", options.host, ":", options.port);
  props["userName"] = options.user;
  props["password"] = options.password;
  if (!options.database.empty()) props["schema"] = options.database;
  props["OPT_CONNECT_TIMEOUT"] = WholeSeconds(options.connect_timeout);
  props["OPT_READ_TIMEOUT"] = WholeSeconds(options.read_timeout);
  props["OPT_WRITE_TIMEOUT"] = WholeSeconds(options.write_timeout);
  // A silent reconnect would drop the session's transaction and settings; the pool opens a
  // fresh connection instead.
  props["OPT_RECONNECT"] = false;
  props["OPT_CHARSET_NAME"] = "utf8mb4";
  props["CLIENT_FOUND_ROWS"] = true;
  // RunScript sends several statements in one packet. Values never enter SQL text unescaped
  // (they are bound, or escaped by the client library), so this opens no injection path.
  props["CLIENT_MULTI_STATEMENTS"] = true;

  std::unique_ptr<sql::Connection> conn;
  try {
    conn.reset(Driver()->connect(props));
  } catch (const sql::SQLException& e) {
    return WithMySqlErrorCode(
        absl::UnavailableError(
            absl::StrCat("cannot connect to database at ", Endpoint(options), ": ", e.what())),
        e.getErrorCode());
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to database at ", Endpoint(options), ": ", e.what()));
  }

  auto impl = std::make_unique<Impl>(std::move(conn), metrics);
  const std::string settings =
      absl::StrCat("SET time_zone = '+00:00', sql_mode = '", kSqlMode,
                   "', innodb_lock_wait_timeout = ", WholeSeconds(options.lock_wait_timeout));
  int64_t ignored;
  for (const std::string& statement :
       {settings, std::string("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")}) {
    absl::Status status = impl->Run(statement, {}, nullptr, &ignored, "session setup");
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("cannot set up session on database at ",
                                                 Endpoint(options), ": ", status.message()));
    }
  }
  impl->isolation = "REPEATABLE READ";
  return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

absl::StatusOr<std::vector<Row>> Connection::Query(absl::string_view sql,
                                                   absl::Span<const SqlValue> params) {
  std::vector<Row> rows;
  RETURN_IF_ERROR(impl_->Run(sql, params, &rows, nullptr, "query"));
  return rows;
}

absl::Status Connection::SetSessionIsolation(absl::string_view level) {
  if (impl_->isolation == level) return absl::OkStatus();
  impl_->isolation.clear();  // unknown until the statement succeeds
  int64_t ignored;
  RETURN_IF_ERROR(impl_->Run(absl::StrCat("SET SESSION TRANSACTION ISOLATION LEVEL ", level), {},
                             nullptr, &ignored, "session isolation"));
  impl_->isolation = std::string(level);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Connection::Execute(absl::string_view sql,
                                            absl::Span<const SqlValue> params) {
  int64_t affected = 0;
  RETURN_IF_ERROR(impl_->Run(sql, params, nullptr, &affected, "statement"));
  return affected;
}

absl::StatusOr<std::vector<Row>> Connection::RunScript(
    absl::Span<const ScriptStatement> statements, const std::optional<ScriptStatement>& query) {
  std::vector<Row> rows;
  RETURN_IF_ERROR(impl_->RunScript(statements, query, &rows));
  return rows;
}

absl::StatusOr<int64_t> Connection::LastInsertId() {
  ASSIGN_OR_RETURN(std::vector<Row> rows, Query("SELECT LAST_INSERT_ID() AS id"));
  if (rows.size() != 1) return absl::InternalError("LAST_INSERT_ID() returned no row");
  return rows[0].GetInt64("id");
}

bool Connection::healthy() const { return impl_->healthy(); }
void Connection::MarkBroken() { impl_->MarkBroken(); }
bool Connection::CheckAlive() { return impl_->CheckAlive(); }
absl::Time Connection::last_used() const { return impl_->last_used(); }

}  // namespace marketplace::common::db
