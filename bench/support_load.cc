// The programs of bench/support_bench.sh (a benchmark, not a test); each mode but `fakes`
// prints one row of the benchmark table or a line of figures.
//   --mode=fakes             what support_server calls, served on --listen_address until killed:
//                            identity (tests/support's FakeIdentity: signing keys, support's own
//                            service token) and payments ListPayments answering every order id
//                            with a payment of the calling buyer (see BenchPayments); writes the
//                            signing key to --key_file for the other modes' access tokens.
//   --mode=minimal           the database's rate for one minimal write transaction (START
//                            TRANSACTION; INSERT one row; COMMIT) with --concurrency connections:
//                            the reference of the write figures, measured in the same run.
//   --mode=CreateTicket      buyers open tickets (QUESTION, 4 channels), each on a new order.
//   --mode=AddTicketMessage  buyers add a PUBLIC message to one of --tickets tickets of theirs
//                            (made first, untimed).
//   --mode=GetTicket         buyers read one of --tickets tickets of theirs (made first).
//   --mode=seed              --seed_tickets OPEN tickets copied in SQL from the oldest ticket the
//                            server wrote (its messages, history and SLA clocks with it), of which
//                            --due_clocks have their level-1 FIRST_REPLY clock due now: half due
//                            a breach (one hour past due_at: breach and escalation), half a
//                            warning (halfway between warn_at and due_at). Run with the server
//                            stopped.
//   --mode=scan              waits until the server's SLA scanner has no due clock left, then
//                            prints clocks per second and the time per clock transaction.
//   --mode=seed_refunds      --seed_tickets SOLVED tickets copied in SQL as `seed` does (messages
//                            and history, no SLA clock), each with a refund command due now
//                            (REFUND_FULL of 25.00 EUR on the seller's behalf), as ResolveTicket
//                            leaves them. Run with the server stopped.
//   --mode=refunds           waits until the server's refund worker has no due command left,
//                            then prints commands per second (fakes' RefundPayment answers at
//                            once: the figure is support's claim and record, not payments').
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/bench_db.h"
#include "bench/loadgen.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/jwt.h"
#include "common/config.h"
#include "common/db/connection_pool.h"
#include "common/db/transaction.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "protos/marketplace/support/v1/support.grpc.pb.h"
#include "tests/support/support_stack.h"

namespace {

namespace auth = marketplace::common::auth;
namespace db = marketplace::common::db;
namespace bench = marketplace::bench;
namespace v1 = marketplace::support::v1;
namespace ppb = marketplace::payments::v1;

// Payments as support's CreateTicket needs it: every order id is the calling buyer's paid
// order, from one of 1,000 sellers, 25.00 EUR. The benchmark measures support, not payments'
// ListPayments (as payments_bench approves every seller without identity).
class BenchPayments final : public ppb::Payments::Service {
 public:
  grpc::Status ListPayments(grpc::ServerContext*, const ppb::ListPaymentsRequest* req,
                            ppb::ListPaymentsResponse* resp) override {
    if (req->order_id().empty() || req->buyer_id().empty()) return grpc::Status::OK;
    const size_t h = std::hash<std::string>()(req->order_id());
    ppb::Payment* p = resp->add_payments();
    p->set_payment_id(absl::StrFormat("pay_%024x", h));
    p->set_order_id(req->order_id());
    p->set_buyer_id(req->buyer_id());
    p->set_seller_id(absl::StrFormat("5e11e7%026x", h % 1000));
    p->mutable_amount()->set_currency_code("EUR");
    p->mutable_amount()->set_amount_minor(2500);
    return grpc::Status::OK;
  }
  // The refund worker's call (bench/replicas_workers_bench.sh): made at once, whatever asked.
  grpc::Status RefundPayment(grpc::ServerContext*, const ppb::RefundPaymentRequest* req,
                             ppb::Payment* resp) override {
    resp->set_payment_id(req->payment_id());
    *resp->mutable_refunded() = req->amount();
    return grpc::Status::OK;
  }
};

int ServeFakes(const std::string& listen_address, const std::string& key_file) {
  absl::StatusOr<auth::Ed25519KeyPair> keys = auth::GenerateEd25519KeyPair();
  if (!keys.ok()) return 1;
  absl::StatusOr<std::string> pem = auth::Ed25519PrivateKeyToPem(keys->private_key);
  if (!pem.ok()) return 1;
  std::ofstream(key_file) << *pem;
  marketplace::support::testing::FakeIdentity identity(*keys);
  BenchPayments payments;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address, grpc::InsecureServerCredentials());
  builder.RegisterService(&identity);
  builder.RegisterService(&payments);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    std::fprintf(stderr, "fakes: cannot listen on %s\n", listen_address.c_str());
    return 1;
  }
  std::printf("listening on %s\n", listen_address.c_str());
  std::fflush(stdout);
  server->Wait();
  return 0;
}

absl::StatusOr<auth::Ed25519KeyPair> ReadKeys(const std::string& key_file) {
  std::ifstream in(key_file);
  std::stringstream pem;
  pem << in.rdbuf();
  auth::Ed25519KeyPair keys;
  absl::StatusOr<std::string> private_key = auth::Ed25519PrivateKeyFromPem(pem.str());
  if (!private_key.ok()) return private_key.status();
  keys.private_key = *private_key;
  absl::StatusOr<std::string> public_key = auth::Ed25519PublicKeyFromPrivate(keys.private_key);
  if (!public_key.ok()) return public_key.status();
  keys.public_key = *public_key;
  return keys;
}

// Blocking calls as the load generator's asynchronous ones: one thread per slot runs
// op(slot) for each call the slot issues (the next call is issued from inside `done`, so a
// call made on the issuing thread would recurse).
class BlockingSlots {
 public:
  BlockingSlots(int slots, std::function<bool(int)> op) : op_(std::move(op)), slots_(slots) {
    for (int s = 0; s < slots; ++s) threads_.emplace_back([this, s] { Work(s); });
  }
  ~BlockingSlots() {
    for (Slot& s : slots_) {
      absl::MutexLock lock(&s.mu);
      s.stop = true;
    }
    for (std::thread& t : threads_) t.join();
  }
  bench::IssueFn Issue() {
    return [this](int slot, std::function<void(bool)> done) {
      absl::MutexLock lock(&slots_[slot].mu);
      slots_[slot].pending = std::move(done);
    };
  }

 private:
  struct Slot {
    absl::Mutex mu;
    std::function<void(bool)> pending ABSL_GUARDED_BY(mu);
    bool stop ABSL_GUARDED_BY(mu) = false;
  };
  void Work(int s) {
    Slot& slot = slots_[s];
    while (true) {
      std::function<void(bool)> done;
      {
        absl::MutexLock lock(&slot.mu);
        auto ready = [&slot]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(slot.mu) {
          return slot.stop || slot.pending != nullptr;
        };
        slot.mu.Await(absl::Condition(&ready));
        if (slot.pending == nullptr) return;
        done = std::move(slot.pending);
        slot.pending = nullptr;
      }
      const bool ok = op_(s);
      done(ok);
    }
  }
  std::function<bool(int)> op_;
  std::vector<Slot> slots_;
  std::vector<std::thread> threads_;
};

// The buyers of the load: --buyers accounts, each with an access token.
struct Buyers {
  std::vector<std::string> ids;
  std::vector<std::string> tokens;
};

Buyers MakeBuyers(const auth::Ed25519KeyPair& keys, int n) {
  Buyers b;
  for (int i = 0; i < n; ++i) {
    b.ids.push_back(absl::StrFormat("b0b0b0%026x", i));
    b.tokens.push_back(marketplace::support::testing::Sign(keys, b.ids.back(), {"BUYER"}, {}));
  }
  return b;
}

constexpr v1::Channel kChannels[] = {v1::EMAIL, v1::CHAT, v1::WEB_FORM, v1::PHONE};

// A buyer's ticket, made through the API.
struct MadeTicket {
  std::string ticket_id;
  int buyer = 0;
};

// One asynchronous support call with a buyer's access token: start(context, request,
// response, callback) makes it; it succeeds when it answers OK and check(request, response).
template <typename Response, typename Request, typename Start, typename Check>
void BuyerCall(const std::string& token, Request request, Start start, Check check,
               std::function<void(bool)> done) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
  };
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  auth::AttachBearerToken(&call->context, token);
  start(&call->context, &call->request, &call->response,
        [call, done, check](grpc::Status s) mutable {
          const bool ok = s.ok() && check(call->request, call->response);
          bench::Report(call, done, ok);
        });
}

// Issues CreateTicket for buyer `counter % buyers` on a new order; `made` (when set) collects
// the tickets.
bench::IssueFn CreateTicketCalls(v1::SupportService::Stub* stub, const Buyers& buyers,
                                 const std::string& run, std::atomic<uint64_t>* counter,
                                 absl::Mutex* mu, std::vector<MadeTicket>* made) {
  return [=, &buyers](int, std::function<void(bool)> done) {
    const uint64_t n = counter->fetch_add(1);
    const int buyer = static_cast<int>(n % buyers.ids.size());
    v1::CreateTicketRequest request;
    request.set_request_id(absl::StrCat("ct-", run, "-", n));
    request.set_order_id(absl::StrCat("ord-", run, "-", n));
    request.set_category(v1::QUESTION);
    request.set_channel(kChannels[n % 4]);
    request.set_subject("Where is my parcel?");
    request.set_body(
        "Hello, I ordered this a week ago and the tracking page has not changed since it was "
        "handed to the carrier. Could you tell me when it will arrive? Thank you.");
    BuyerCall<v1::CreateTicketResponse>(
        buyers.tokens[buyer], std::move(request),
        [stub](auto context, auto req, auto resp, auto callback) {
          stub->async()->CreateTicket(context, req, resp, std::move(callback));
        },
        [buyer, mu, made](const v1::CreateTicketRequest&, const v1::CreateTicketResponse& r) {
          if (r.merged()) return false;  // a new order never merges
          if (made != nullptr) {
            absl::MutexLock lock(mu);
            made->push_back({r.ticket().ticket_id(), buyer});
          }
          return true;
        },
        std::move(done));
  };
}

// The number of the query's first row's `n` (-1 when it fails).
int64_t Count(db::ConnectionPool& pool, const std::string& sql) {
  auto rows = pool.Query(sql, {});
  if (!rows.ok() || rows->empty()) {
    std::fprintf(stderr, "%s: %s\n", sql.c_str(),
                 rows.ok() ? "no row" : rows.status().ToString().c_str());
    return -1;
  }
  return (*rows)[0].GetInt64("n").value_or(-1);
}

// The server's counters of statements received (Questions), commits (Com_commit), InnoDB's
// row lock waits and deadlocks; empty when they cannot be read.
std::map<std::string, int64_t> StatementCounters(const db::DbOptions& options) {
  db::DbOptions one = options;
  one.pool_size = 1;
  auto pool = db::ConnectionPool::Create(one);
  if (!pool.ok()) return {};
  return bench::ReadGlobalStatus(
      **pool, {"Questions", "Com_commit", "Innodb_row_lock_waits", "Innodb_deadlocks"});
}

// The seeded tickets' ids: "tkt_b0" and 22 hex digits of the copy's number (ids as NewId makes
// them; a random one starting "b0" and all zeros but the last digits is not expected).
constexpr char kSeedIdPrefix[] = "tkt_b0";
std::string SeedTicketId() {
  return absl::StrCat("CONCAT('", kSeedIdPrefix, "', LPAD(LOWER(HEX(s.seq)), 22, '0'))");
}

// Copies the rows of `table` of ticket `template_id`, once per number of `numbers`, with the
// columns of `overrides` set to their SQL expressions (over x, the template row, and s.seq,
// the copy's number).
absl::Status CopyRows(db::ConnectionPool& pool, const std::string& database,
                      const std::string& table, const std::string& template_id,
                      const std::string& numbers, std::map<std::string, std::string> overrides) {
  overrides["ticket_id"] = SeedTicketId();
  auto rows = pool.Query(
      "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = ? AND "
      "table_name = ? ORDER BY ordinal_position",
      {database, table});
  if (!rows.ok()) return rows.status();
  std::vector<std::string> columns, values;
  for (const auto& r : *rows) {
    const std::string c = *r.GetString("c");
    columns.push_back(c);
    auto o = overrides.find(c);
    values.push_back(o == overrides.end() ? absl::StrCat("x.", c) : o->second);
  }
  return pool
      .Execute(absl::StrCat("INSERT INTO ", table, " (", absl::StrJoin(columns, ", "), ") SELECT ",
                            absl::StrJoin(values, ", "), " FROM ", table, " x JOIN ", numbers,
                            " s WHERE x.ticket_id = ?"),
               {template_id})
      .status();
}

// The refund commands the refund worker has still to carry out.
constexpr char kDueRefunds[] = "SELECT COUNT(*) AS n FROM refund_commands WHERE state = 1";

// `refunds`: the copies are SOLVED with a due refund command each, and have no SLA clock.
int Seed(db::ConnectionPool& pool, const std::string& database, int64_t tickets, int64_t due,
         bool refunds) {
  auto rows = pool.Query(
      "SELECT ticket_id FROM tickets WHERE level = 1 AND status = 1 AND ticket_id NOT LIKE "
      "'tkt\\_b0%' ORDER BY created_at LIMIT 1",
      {});
  if (!rows.ok() || rows->empty()) {
    std::fprintf(stderr, "seed: no ticket to copy (%s)\n",
                 rows.ok() ? "none" : rows.status().ToString().c_str());
    return 1;
  }
  const std::string template_id = *(*rows)[0].GetString("ticket_id");
  const std::string numbers = absl::StrCat("seq_0_to_", tickets - 1);
  const absl::Time start = absl::Now();
  std::map<std::string, std::string> ticket_columns = {{"order_id", "CONCAT('seed-', s.seq)"}};
  const std::string request_id = absl::StrCat("CONCAT('support:', ", SeedTicketId(), ", ':9')");
  if (refunds) {
    ticket_columns["status"] = absl::StrCat(static_cast<int>(v1::SOLVED));
    ticket_columns["outcome"] = absl::StrCat(static_cast<int>(v1::REFUND_FULL));
    ticket_columns["refund_amount_minor"] = "2500";
    ticket_columns["refund_state"] = absl::StrCat(static_cast<int>(v1::PENDING_REFUND));
    ticket_columns["refund_request_id"] = request_id;
  }
  absl::Status s = CopyRows(pool, database, "tickets", template_id, numbers, ticket_columns);
  if (s.ok()) {
    s = CopyRows(
        pool, database, "ticket_messages", template_id, numbers,
        {{"message_id", "CONCAT('msg_b0', LPAD(LOWER(HEX(s.seq * 64 + x.seq)), 22, '0'))"}});
  }
  if (s.ok()) s = CopyRows(pool, database, "ticket_history", template_id, numbers, {});
  if (s.ok() && refunds) {
    s = pool.Execute(
                absl::StrCat(
                    "INSERT INTO refund_commands (request_id, ticket_id, payment_id, currency, "
                    "amount_minor, decided_by, decided_level, state, attempts, next_attempt_at, "
                    "created_at, funding) SELECT ",
                    request_id, ", ", SeedTicketId(),
                    ", CONCAT('pay_b0', s.seq), 'EUR', 2500, 'seller', ",
                    static_cast<int>(v1::L1_SELLER), ", ", static_cast<int>(v1::PENDING_REFUND),
                    ", 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 1 FROM ",  // 1: seller's behalf
                    numbers, " s"),
                {})
            .status();
    if (!s.ok()) {
      std::fprintf(stderr, "seed: %s\n", s.ToString().c_str());
      return 1;
    }
    std::printf("seeded %lld SOLVED tickets (copies of %s) in %.1f s, %lld refund commands due\n",
                static_cast<long long>(tickets), template_id.c_str(),
                absl::ToDoubleSeconds(absl::Now() - start),
                static_cast<long long>(Count(pool, kDueRefunds)));
    return 0;
  }
  if (s.ok()) {
    // Copies 0..due-1 have their level-1 FIRST_REPLY clock due: even ones a breach (due_at an
    // hour ago), odd ones a warning (now halfway between warn_at and due_at); every time of
    // the row moves by the same amount. The other clocks are copied as they are.
    const std::string shift =
        absl::StrCat("IF(s.seq < ", due,
                     " AND x.metric = 1 AND x.level = 1, IF(s.seq % 2 = 0, "
                     "TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), x.due_at) + 3600000000, "
                     "(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), x.warn_at) + "
                     "TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), x.due_at)) DIV 2), 0)");
    std::map<std::string, std::string> moved;
    for (const char* c : {"started_at", "due_at", "warn_at", "updated_at"}) {
      moved[c] = absl::StrCat("x.", c, " - INTERVAL ", shift, " MICROSECOND");
    }
    s = CopyRows(pool, database, "sla_clocks", template_id, numbers, moved);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "seed: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf(
      "seeded %lld OPEN tickets (copies of %s) in %.1f s: %lld clocks due a breach, "
      "%lld a warning; %lld open tickets in all\n",
      static_cast<long long>(tickets), template_id.c_str(),
      absl::ToDoubleSeconds(absl::Now() - start),
      static_cast<long long>(Count(pool,
                                   "SELECT COUNT(*) AS n FROM sla_clocks WHERE "
                                   "state = 1 AND due_at <= UTC_TIMESTAMP(6)")),
      static_cast<long long>(
          Count(pool,
                "SELECT COUNT(*) AS n FROM sla_clocks WHERE state = 1 AND warned = 0 "
                "AND warn_at <= UTC_TIMESTAMP(6) AND due_at > UTC_TIMESTAMP(6)")),
      static_cast<long long>(Count(pool, "SELECT COUNT(*) AS n FROM tickets WHERE status = 1")));
  return 0;
}

// What a worker drains: the count of its items still due, the history lines its transactions
// write (one per item, at the `at` read under its locks), and how the figures are named.
struct Drained {
  const char* worker;       // "SLA scanner"
  const char* items;        // "clock" (plural with an s)
  std::string due_sql;      // SELECT COUNT(*) AS n of the items still due
  std::string kinds;        // the history kinds, quoted and comma-separated
  std::string also_sql;     // a further count printed with the figures (empty: none)
  const char* also = "";    // what it counts
};

// Waits until `what` has nothing due, then prints items per second (history lines, first to
// last) and the gap between consecutive lines.
int Drain(db::ConnectionPool& pool, const Drained& what, absl::Duration timeout,
          pid_t server_pid, pid_t db_pid) {
  const absl::Time start = absl::Now();
  const auto server_before = bench::ReadProcessStats(server_pid);
  const auto db_before = bench::ReadProcessStats(db_pid);
  const std::vector<std::string> lock_counters = {"Innodb_row_lock_waits", "Innodb_deadlocks"};
  std::map<std::string, int64_t> locks_before = bench::ReadGlobalStatus(pool, lock_counters);
  int64_t left = Count(pool, what.due_sql);
  while (left != 0 && absl::Now() < start + timeout) {
    absl::SleepFor(absl::Milliseconds(200));
    left = Count(pool, what.due_sql);
  }
  const double waited = absl::ToDoubleSeconds(absl::Now() - start);
  const auto server_after = bench::ReadProcessStats(server_pid);
  const auto db_after = bench::ReadProcessStats(db_pid);
  std::map<std::string, int64_t> locks_after = bench::ReadGlobalStatus(pool, lock_counters);
  // CPU used while this waited, in % of one core (-1: unknown).
  auto busy = [waited](const absl::StatusOr<bench::ProcessStats>& b,
                       const absl::StatusOr<bench::ProcessStats>& a) {
    return b.ok() && a.ok() && waited > 0 ? 100 * (a->cpu_seconds - b->cpu_seconds) / waited : -1.0;
  };
  // With one process the gap between consecutive lines is one item's transaction (the gap
  // after a batch's last item also holds the next batch's claim).
  auto rows = pool.Query(
      absl::StrCat("SELECT kind, at FROM ticket_history WHERE ticket_id LIKE '", kSeedIdPrefix,
                   "%' AND kind IN (", what.kinds, ") ORDER BY at"),
      {});
  if (!rows.ok()) {
    std::fprintf(stderr, "%s: %s\n", what.worker, rows.status().ToString().c_str());
    return 1;
  }
  std::vector<absl::Time> at;
  std::map<std::string, int64_t> by_kind;
  for (const auto& r : *rows) {
    at.push_back(*r.GetTime("at"));
    by_kind[*r.GetString("kind")]++;
  }
  std::vector<absl::Duration> gaps;
  for (size_t i = 1; i < at.size(); ++i) gaps.push_back(at[i] - at[i - 1]);
  std::sort(gaps.begin(), gaps.end());
  auto q = [&](double f) {
    return gaps.empty() ? 0.0
                        : absl::ToDoubleMilliseconds(
                              gaps[static_cast<size_t>(f * static_cast<double>(gaps.size() - 1))]);
  };
  const double span = at.size() > 1 ? absl::ToDoubleSeconds(at.back() - at.front()) : 0;
  std::printf(
      "%s: %lld %s transactions (%s) in %.1f s: %.0f %ss/s; per %s p50 %.2f ms, p99 %.2f ms, "
      "max %.2f ms; %lld %ss still due after %.0f s%s\n",
      what.worker, static_cast<long long>(at.size()), what.items,
      absl::StrJoin(by_kind, ", ", absl::PairFormatter(" ")).c_str(), span, what.items,
      span > 0 ? static_cast<double>(at.size() - 1) / span : 0.0, what.items, q(0.5), q(0.99),
      q(1.0), static_cast<long long>(left), what.items, waited,
      what.also_sql.empty()
          ? ""
          : absl::StrCat("; ", Count(pool, what.also_sql), " ", what.also).c_str());
  std::printf(
      "%s: while it ran, support_server used %.0f%% of its core, MariaDB %.0f%% of one; "
      "InnoDB row lock waits %lld, deadlocks %lld\n",
      what.worker, busy(server_before, server_after), busy(db_before, db_after),
      static_cast<long long>(locks_after["Innodb_row_lock_waits"] -
                             locks_before["Innodb_row_lock_waits"]),
      static_cast<long long>(locks_after["Innodb_deadlocks"] - locks_before["Innodb_deadlocks"]));
  return left == 0 ? 0 : 1;
}

}  // namespace

int Main(int argc, char** argv) {
  std::string mode, target = "127.0.0.1:7010", listen_address, key_file;
  int64_t concurrency = 32, server_pid = 0, buyers_n = 256, tickets = 2000;
  int64_t seed_tickets = 100000, due_clocks = 10000, rate = 0;
  std::string reference_text = "0";
  absl::Duration duration = absl::Seconds(10), warmup = absl::Seconds(2);
  absl::Duration scan_timeout = absl::Minutes(10);
  bool header = false;
  db::DbOptions dbo;
  marketplace::common::Flags flags("support_load",
                                   "Load on support_server (bench/support_bench.sh).");
  flags.AddEnum(
      "mode", &mode, "CreateTicket",
      {"fakes", "minimal", "CreateTicket", "AddTicketMessage", "GetTicket", "seed", "scan",
       "seed_refunds", "refunds"},
      "What to run (see the top of bench/support_load.cc).");
  flags.AddString("target", &target, target, "support_server host:port.");
  flags.AddString("listen_address", &listen_address, "127.0.0.1:0", "fakes: where to serve.");
  flags.AddString("key_file", &key_file, "",
                  "The access tokens' signing key (PEM; fakes writes it).");
  flags.AddInt64("concurrency", &concurrency, concurrency, 1, 10000, "Calls in flight.");
  flags.AddInt64("buyers", &buyers_n, buyers_n, 1, 100000, "Distinct buyers calling.");
  flags.AddInt64("tickets", &tickets, tickets, 1, 1000000,
                 "AddTicketMessage, GetTicket: tickets made first, the calls spread over them.");
  flags.AddInt64("seed_tickets", &seed_tickets, seed_tickets, 1, 10000000,
                 "seed, seed_refunds: tickets.");
  flags.AddInt64("due_clocks", &due_clocks, due_clocks, 0, 10000000,
                 "seed: copies whose level-1 FIRST_REPLY clock is due.");
  flags.AddDuration("scan_timeout", &scan_timeout, scan_timeout,
                    "scan, refunds: the longest wait.");
  flags.AddDuration("duration", &duration, duration, "Measured time.");
  flags.AddDuration("warmup", &warmup, warmup, "Unmeasured time first.");
  flags.AddInt64("server_pid", &server_pid, 0, 0, 1 << 30, "Server process, for CPU and RSS.");
  int64_t db_server_pid = 0;
  flags.AddInt64("db_server_pid", &db_server_pid, 0, 0, 1 << 30,
                 "The database server's process, for its CPU (scan and the gRPC loads).");
  flags.AddInt64("rate", &rate, 0, 0, 10000000,
                 "Calls per second at a fixed rate (open loop, at most --concurrency in flight); "
                 "0: closed loop, --concurrency always in flight (the maximum rate).");
  flags.AddString("reference_qps", &reference_text, "0",
                  "The row's reference: the minimal write transaction rate (writes) or raw echo "
                  "QPS (GetTicket) of the same run.");
  flags.AddBool("header", &header, false, "Print the table header first.");
  bench::AddDbFlags(flags, &dbo, "support", "minimal, seed, scan, statement counts");
  flags.ParseOrExit(argc, argv);
  const double reference_qps = std::atof(reference_text.c_str());
  dbo.pool_size = static_cast<int>(concurrency) + 1;
  dbo.read_timeout = absl::Minutes(10);

  if (mode == "fakes") return ServeFakes(listen_address, key_file);

  // The server's CPU from the start of the timed load (its warm-up included, as in the other
  // load tools), not from the untimed making of tickets.
  absl::StatusOr<bench::ProcessStats> before = absl::UnknownError("not read");
  absl::StatusOr<bench::ProcessStats> db_before = absl::UnknownError("not read");
  std::map<std::string, int64_t> statements_before;
  bench::LoadResult result;
  std::string name = absl::StrCat("support ", mode);
  if (mode == "minimal" || mode == "seed" || mode == "scan" || mode == "seed_refunds" ||
      mode == "refunds") {
    auto pool = db::ConnectionPool::Create(dbo);
    if (!pool.ok()) {
      std::fprintf(stderr, "database: %s\n", pool.status().ToString().c_str());
      return 1;
    }
    if (mode == "seed" || mode == "seed_refunds") {
      return Seed(**pool, dbo.database, seed_tickets, due_clocks, mode == "seed_refunds");
    }
    if (mode == "scan" || mode == "refunds") {
      const Drained what =
          mode == "scan"
              ? Drained{"SLA scanner", "clock",
                        "SELECT COUNT(*) AS n FROM sla_clocks WHERE state = 1 AND (due_at <= "
                        "UTC_TIMESTAMP(6) OR (warned = 0 AND warn_at <= UTC_TIMESTAMP(6)))",
                        "'SLA_WARNING', 'SLA_BREACHED'",
                        absl::StrCat("SELECT COUNT(*) AS n FROM tickets WHERE ticket_id LIKE '",
                                     kSeedIdPrefix, "%' AND escalation_reason = 'SLA_BREACH'"),
                        "escalated tickets"}
              : Drained{"refund worker", "command", kDueRefunds, "'REFUND_RESULT'",
                        absl::StrCat("SELECT COUNT(*) AS n FROM tickets WHERE ticket_id LIKE '",
                                     kSeedIdPrefix, "%' AND refund_state = ",
                                     static_cast<int>(v1::REFUNDED)),
                        "tickets REFUNDED"};
      return Drain(**pool, what, scan_timeout, static_cast<pid_t>(server_pid),
                   static_cast<pid_t>(db_server_pid));
    }
    absl::Status made =
        (*pool)
            ->Execute(
                "CREATE TABLE IF NOT EXISTS bench_minimal (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                "v BIGINT NOT NULL) ENGINE=InnoDB",
                {})
            .status();
    if (!made.ok()) {
      std::fprintf(stderr, "minimal: %s\n", made.ToString().c_str());
      return 1;
    }
    std::atomic<int64_t> n{0};
    BlockingSlots slots(static_cast<int>(concurrency), [&](int) {
      return db::RunInTransaction(
                 **pool,
                 [&](db::Transaction& tx) {
                   return tx.Execute("INSERT INTO bench_minimal (v) VALUES (?)", {n++}).status();
                 })
          .ok();
    });
    before = bench::ReadProcessStats(static_cast<pid_t>(server_pid));
    result = bench::RunLoad(static_cast<int>(concurrency), static_cast<double>(rate), warmup,
                            duration, slots.Issue());
    name = "minimal write tx";
  } else {
    absl::StatusOr<auth::Ed25519KeyPair> keys = ReadKeys(key_file);
    if (!keys.ok()) {
      std::fprintf(stderr, "--key_file: %s\n", keys.status().ToString().c_str());
      return 1;
    }
    const Buyers buyers = MakeBuyers(*keys, static_cast<int>(buyers_n));
    auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
    auto stub = v1::SupportService::NewStub(channel);
    const std::string run = absl::StrCat(absl::ToUnixMicros(absl::Now()));
    std::atomic<uint64_t> counter{0};
    absl::Mutex mu;
    std::vector<MadeTicket> made;
    bench::IssueFn issue;
    if (mode == "CreateTicket") {
      issue = CreateTicketCalls(stub.get(), buyers, run, &counter, &mu, nullptr);
    } else {
      // The tickets the calls spread over, made first.
      bench::RunCalls(
          static_cast<int>(concurrency), tickets,
          CreateTicketCalls(stub.get(), buyers, absl::StrCat(run, "-t"), &counter, &mu, &made));
      if (made.empty()) {
        std::fprintf(stderr, "%s: no ticket could be made\n", mode.c_str());
        return 1;
      }
      // Call n goes to a ticket spread by a multiplicative hash: each ticket once per
      // made.size() calls, consecutive calls on tickets far apart.
      auto pick = [&made](uint64_t n) { return made[(n * 2654435761u) % made.size()]; };
      if (mode == "AddTicketMessage") {
        issue = [&, pick](int, std::function<void(bool)> done) {
          const uint64_t n = counter.fetch_add(1);
          const MadeTicket t = pick(n);
          v1::AddTicketMessageRequest request;
          request.set_request_id(absl::StrCat("am-", run, "-", n));
          request.set_ticket_id(t.ticket_id);
          request.set_visibility(v1::PUBLIC);
          request.set_body("Any news? The tracking page still shows the same status.");
          BuyerCall<v1::TicketMessage>(
              buyers.tokens[t.buyer], std::move(request),
              [&stub](auto context, auto req, auto resp, auto callback) {
                stub->async()->AddTicketMessage(context, req, resp, std::move(callback));
              },
              [](const auto&, const auto&) { return true; }, std::move(done));
        };
      } else {
        issue = [&, pick](int, std::function<void(bool)> done) {
          const MadeTicket t = pick(counter.fetch_add(1));
          v1::GetTicketRequest request;
          request.set_ticket_id(t.ticket_id);
          BuyerCall<v1::Ticket>(
              buyers.tokens[t.buyer], std::move(request),
              [&stub](auto context, auto req, auto resp, auto callback) {
                stub->async()->GetTicket(context, req, resp, std::move(callback));
              },
              [](const v1::GetTicketRequest& q, const v1::Ticket& r) {
                return r.ticket_id() == q.ticket_id();
              },
              std::move(done));
        };
      }
    }
    statements_before = StatementCounters(dbo);
    before = bench::ReadProcessStats(static_cast<pid_t>(server_pid));
    db_before = bench::ReadProcessStats(static_cast<pid_t>(db_server_pid));
    result = bench::RunLoad(static_cast<int>(concurrency), static_cast<double>(rate), warmup,
                            duration, issue);
  }
  auto after = bench::ReadProcessStats(static_cast<pid_t>(server_pid));
  const double cpu = before.ok() && after.ok() ? after->cpu_seconds - before->cpu_seconds : 0;
  const int64_t rss = after.ok() ? after->rss_bytes : 0;
  if (header) std::printf("%s\n", bench::HeaderRow().c_str());
  std::printf("%s\n", bench::FormatRow(name, result, mode == "minimal" ? result.qps : reference_qps,
                                       cpu, rss)
                          .c_str());
  auto db_after = bench::ReadProcessStats(static_cast<pid_t>(db_server_pid));
  const std::map<std::string, int64_t> statements_after =
      statements_before.empty() ? statements_before : StatementCounters(dbo);
  if (db_before.ok() && db_after.ok() && result.qps > 0) {
    // The counters cover the warm-up and the window, the calls only the window: per call is
    // counter / (rate x (warm-up + window)).
    const double calls = result.qps * absl::ToDoubleSeconds(warmup + duration);
    const double db_cpu = db_after->cpu_seconds - db_before->cpu_seconds;
    auto per_call = [&](const std::string& counter) {
      const auto a = statements_after.find(counter);
      const auto b = statements_before.find(counter);
      return a == statements_after.end() || b == statements_before.end()
                 ? 0.0
                 : static_cast<double>(a->second - b->second) / calls;
    };
    std::printf(
        "%-28s per call: support_server %.0f us CPU, MariaDB %.0f us CPU (busy %.0f%% of "
        "its core), %.1f statements, %.2f commits; per 1000 calls: %.1f row lock waits, %.1f "
        "deadlocks\n",
        "", 1e6 * cpu / calls, 1e6 * db_cpu / calls,
        100 * db_cpu / absl::ToDoubleSeconds(warmup + duration), per_call("Questions"),
        per_call("Com_commit"), 1000 * per_call("Innodb_row_lock_waits"),
        1000 * per_call("Innodb_deadlocks"));
  }
  return result.calls > 0 ? 0 : 1;
}

int main(int argc, char** argv) { bench::ExitLoadTool(Main(argc, argv)); }
