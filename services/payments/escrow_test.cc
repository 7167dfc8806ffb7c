#include "services/payments/escrow.h"

#include <random>

#include "common/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketplace::payments {
namespace {

using common::Money;

Money Eur(int64_t minor) { return *Money::Of("EUR", minor); }

Payment NewPayment(int64_t amount, int32_t bps = 1000, std::string id = "p1") {
  Payment p{std::move(id), "5e11e700000000000000000000000001", Eur(amount), bps};
  return p;
}

// Applies each step's transaction to `balances`, checking every one balances.
class Books {
 public:
  void Post(const LedgerTransaction& tx) {
    ASSERT_TRUE(CheckBalanced(tx).ok()) << CheckBalanced(tx);
    Apply(tx, balances_);
  }
  int64_t Of(AccountKind kind, const std::string& owner = "5e11e700000000000000000000000001") const {
    AccountRef ref =
        IsPerSeller(kind) ? SellerAccount(kind, owner, "EUR") : PlatformAccount(kind, "EUR");
    auto it = balances_.find(ref);
    return it == balances_.end() ? 0 : it->second;
  }
  const Balances& balances() const { return balances_; }

 private:
  Balances balances_;
};

TEST(EscrowTest, CaptureThenReleaseTakesCommission) {
  Books books;
  EscrowStep captured = Capture(NewPayment(10'000, 1250));
  books.Post(captured.transaction);
  EXPECT_EQ(books.Of(AccountKind::kEscrow), 10'000);
  EXPECT_EQ(books.Of(AccountKind::kBuyerFunding), -10'000);
  EXPECT_EQ(HeldMinor(captured.after), 10'000);

  auto released = Release(captured.after);
  ASSERT_TRUE(released.ok()) << released.status();
  books.Post(released->transaction);
  EXPECT_EQ(released->after.state, PaymentState::kReleased);
  EXPECT_EQ(books.Of(AccountKind::kEscrow), 0);
  EXPECT_EQ(books.Of(AccountKind::kSellerAvailable), 8'750);
  EXPECT_EQ(books.Of(AccountKind::kPlatformCommission), 1'250);
  EXPECT_EQ(released->after.commission_minor, 1'250);
  EXPECT_EQ(released->after.seller_net_minor, 8'750);

  auto again = Release(released->after);
  EXPECT_EQ(common::ReasonOf(again.status()), "PAYMENT_NOT_HELD");
}

TEST(EscrowTest, PartialRefundsWhileHeldNeverExceedTheAmount) {
  Books books;
  Payment p = Capture(NewPayment(1'000)).after;
  books.Post(Capture(NewPayment(1'000)).transaction);
  auto first = Refund(p, Eur(300));
  ASSERT_TRUE(first.ok());
  books.Post(first->transaction);
  auto second = Refund(first->after, Eur(700));
  ASSERT_TRUE(second.ok());
  books.Post(second->transaction);
  EXPECT_EQ(second->after.state, PaymentState::kRefunded);
  EXPECT_EQ(books.Of(AccountKind::kRefundsOut), 1'000);
  EXPECT_EQ(books.Of(AccountKind::kEscrow), 0);

  auto too_much = Refund(first->after, Eur(701));
  EXPECT_EQ(common::ReasonOf(too_much.status()), "REFUND_EXCEEDS_REMAINING");
  EXPECT_EQ(common::ReasonOf(Refund(second->after, Eur(1)).status()), "PAYMENT_REFUNDED");
  EXPECT_EQ(common::ReasonOf(Refund(p, *Money::Of("USD", 1)).status()), "CURRENCY_MISMATCH");
}

TEST(EscrowTest, RefundAfterReleaseComesFromTheSellerAndReturnsCommission) {
  Books books;
  EscrowStep captured = Capture(NewPayment(10'000, 1000));
  books.Post(captured.transaction);
  auto released = Release(captured.after);
  books.Post(released->transaction);
  auto refund = Refund(released->after, Eur(3'333));
  ASSERT_TRUE(refund.ok()) << refund.status();
  books.Post(refund->transaction);
  // 10 % of 3 333 is 333.3 -> 333 returned by the platform; the seller gives back the rest.
  EXPECT_EQ(books.Of(AccountKind::kPlatformCommission), 1'000 - 333);
  EXPECT_EQ(books.Of(AccountKind::kSellerAvailable), 9'000 - 3'000);
  auto rest = Refund(refund->after, Eur(6'667));
  ASSERT_TRUE(rest.ok());
  books.Post(rest->transaction);
  EXPECT_EQ(books.Of(AccountKind::kPlatformCommission), 0);  // no rounding left behind
  EXPECT_EQ(books.Of(AccountKind::kSellerAvailable), 0);
  EXPECT_EQ(books.Of(AccountKind::kRefundsOut), 10'000);
  EXPECT_EQ(rest->after.state, PaymentState::kRefunded);
}

TEST(EscrowTest, RefundAfterPayoutLeavesARecordedSellerDebt) {
  Books books;
  EscrowStep captured = Capture(NewPayment(10'000, 0));
  books.Post(captured.transaction);
  auto released = Release(captured.after);
  books.Post(released->transaction);
  auto payout = Payout("5e11e700000000000000000000000001", Eur(10'000), books.Of(AccountKind::kSellerAvailable));
  ASSERT_TRUE(payout.ok());
  books.Post(*payout);
  auto refund = Refund(released->after, Eur(4'000));
  ASSERT_TRUE(refund.ok());
  books.Post(refund->transaction);
  EXPECT_EQ(books.Of(AccountKind::kSellerAvailable), -4'000);  // the seller owes 40.00
  EXPECT_TRUE(BoundViolations(books.balances()).empty());
  EXPECT_EQ(common::ReasonOf(Payout("5e11e700000000000000000000000001", Eur(1), -4'000).status()),
            "INSUFFICIENT_AVAILABLE_BALANCE");
}

TEST(EscrowTest, GuaranteeFundedRefundsLeaveTheSellersMoneyAlone) {
  // Released: the seller's share comes from the fund, whatever the seller's balance.
  Books books;
  EscrowStep captured = Capture(NewPayment(10'000));
  books.Post(captured.transaction);
  auto released = Release(captured.after);
  ASSERT_TRUE(released.ok());
  books.Post(released->transaction);
  auto refund = Refund(released->after, Eur(2'000), 9'000, RefundFunding::kGuaranteeFund);
  ASSERT_TRUE(refund.ok()) << refund.status();
  books.Post(refund->transaction);
  EXPECT_EQ(books.Of(AccountKind::kSellerAvailable), 9'000);
  EXPECT_EQ(books.Of(AccountKind::kGuaranteeFund), -1'800);
  EXPECT_EQ(books.Of(AccountKind::kPlatformCommission), 800);
  EXPECT_EQ(refund->paid_by_seller_minor, 0);
  EXPECT_EQ(refund->paid_by_guarantee_minor, 1'800);
  EXPECT_EQ(refund->after.guarantee_minor, 1'800);

  // Charged later: only as far as the available balance goes, never into debt.
  auto charge = ChargeSeller(refund->after, "refund_1", 1'800, 1'000);
  ASSERT_TRUE(charge.has_value());
  books.Post(charge->transaction);
  EXPECT_EQ(charge->transaction.kind, TransactionKind::kRefundCharge);
  EXPECT_EQ(charge->transaction.refund_id, "refund_1");
  EXPECT_EQ(charge->paid_by_seller_minor, 1'000);
  EXPECT_EQ(books.Of(AccountKind::kSellerAvailable), 8'000);
  EXPECT_EQ(books.Of(AccountKind::kGuaranteeFund), -800);
  EXPECT_EQ(charge->after.guarantee_minor, 800);
  EXPECT_FALSE(ChargeSeller(refund->after, "refund_1", 1'800, 0).has_value());
  EXPECT_FALSE(ChargeSeller(refund->after, "refund_1", 1'800, -50).has_value());

  // Held: the buyer is paid from escrow, the fund pays the seller that part's net.
  Books held_books;
  EscrowStep held = Capture(NewPayment(10'000, 1000, "p2"));
  held_books.Post(held.transaction);
  auto held_refund = Refund(held.after, Eur(2'000), std::nullopt, RefundFunding::kGuaranteeFund);
  ASSERT_TRUE(held_refund.ok()) << held_refund.status();
  held_books.Post(held_refund->transaction);
  EXPECT_EQ(held_books.Of(AccountKind::kEscrow), 8'000);
  EXPECT_EQ(HeldMinor(held_refund->after), 8'000);
  EXPECT_EQ(held_books.Of(AccountKind::kSellerAvailable), 1'800);
  EXPECT_EQ(held_books.Of(AccountKind::kGuaranteeFund), -1'800);
  EXPECT_EQ(held_books.Of(AccountKind::kRefundsOut), 2'000);
  auto rest = Release(held_refund->after);
  ASSERT_TRUE(rest.ok());
  held_books.Post(rest->transaction);
  EXPECT_EQ(held_books.Of(AccountKind::kSellerAvailable), 9'000);
  EXPECT_EQ(held_books.Of(AccountKind::kEscrow), 0);
  EXPECT_EQ(rest->after.seller_net_minor, 9'000);
}

TEST(EscrowTest, ADisputeFreezesThePayment) {
  Payment held = Capture(NewPayment(1'000)).after;
  auto disputed = OpenDispute(held);
  ASSERT_TRUE(disputed.ok());
  EXPECT_EQ(disputed->state, PaymentState::kDisputed);
  EXPECT_EQ(common::ReasonOf(Release(*disputed).status()), "PAYMENT_DISPUTED");
  EXPECT_EQ(common::ReasonOf(Refund(*disputed, Eur(1)).status()), "PAYMENT_DISPUTED");
  EXPECT_EQ(common::ReasonOf(OpenDispute(*disputed).status()), "PAYMENT_DISPUTED");
  EXPECT_EQ(common::ReasonOf(Resolve(held, DisputeOutcome::kBuyerWins, {}).status()),
            "PAYMENT_NOT_DISPUTED");
}

TEST(EscrowTest, EveryDisputeOutcomeBalancesAndEmptiesEscrow) {
  struct Case {
    DisputeOutcome outcome;
    std::optional<Money> buyer_share;
    int64_t refunds_out, seller_available, commission, guarantee;
    PaymentState state;
  };
  const Case cases[] = {
      {DisputeOutcome::kBuyerWins, std::nullopt, 10'000, 0, 0, 0, PaymentState::kRefunded},
      {DisputeOutcome::kSellerWins, std::nullopt, 0, 9'000, 1'000, 0, PaymentState::kReleased},
      {DisputeOutcome::kSplit, Eur(4'000), 4'000, 5'400, 600, 0, PaymentState::kReleased},
      {DisputeOutcome::kPlatformGuarantee, std::nullopt, 10'000, 9'000, 1'000, -10'000,
       PaymentState::kGuaranteed},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(DisputeOutcomeName(c.outcome));
    Books books;
    EscrowStep captured = Capture(NewPayment(10'000, 1000));
    books.Post(captured.transaction);
    auto resolved = Resolve(*OpenDispute(captured.after), c.outcome, c.buyer_share);
    ASSERT_TRUE(resolved.ok()) << resolved.status();
    books.Post(resolved->transaction);
    EXPECT_EQ(books.Of(AccountKind::kEscrow), 0);
    EXPECT_EQ(books.Of(AccountKind::kRefundsOut), c.refunds_out);
    EXPECT_EQ(books.Of(AccountKind::kSellerAvailable), c.seller_available);
    EXPECT_EQ(books.Of(AccountKind::kPlatformCommission), c.commission);
    EXPECT_EQ(books.Of(AccountKind::kGuaranteeFund), c.guarantee);
    EXPECT_EQ(resolved->after.state, c.state);
    EXPECT_TRUE(BoundViolations(books.balances()).empty());
  }
}

TEST(EscrowTest, SplitMustLeaveSomethingToEachSide) {
  Payment disputed = *OpenDispute(Capture(NewPayment(1'000)).after);
  EXPECT_EQ(Resolve(disputed, DisputeOutcome::kSplit, std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(common::ReasonOf(Resolve(disputed, DisputeOutcome::kSplit, Eur(1'000)).status()),
            "SPLIT_OUT_OF_RANGE");
  EXPECT_EQ(common::ReasonOf(Resolve(disputed, DisputeOutcome::kSplit, Eur(0)).status()),
            "SPLIT_OUT_OF_RANGE");
  EXPECT_EQ(
      common::ReasonOf(Resolve(disputed, DisputeOutcome::kSplit, *Money::Of("GBP", 10)).status()),
      "CURRENCY_MISMATCH");
}

// Random sequences of operations over many payments: every transaction balances, no account
// leaves its bound, escrow always equals what the open payments hold, and each payment's
// figures add up to what came in.
TEST(EscrowTest, RandomHistoriesKeepTheLedgerConsistent) {
  std::mt19937 rng(20261123);
  Books books;
  std::vector<Payment> payments;
  for (int step = 0; step < 5'000; ++step) {
    const int op = std::uniform_int_distribution<int>(0, 5)(rng);
    if (op == 0 || payments.empty()) {
      const int64_t amount = std::uniform_int_distribution<int64_t>(1, 100'000)(rng);
      const int32_t bps = std::uniform_int_distribution<int32_t>(0, 3'000)(rng);
      EscrowStep s = Capture(NewPayment(amount, bps, "p" + std::to_string(step)));
      books.Post(s.transaction);
      payments.push_back(s.after);
      continue;
    }
    Payment& p = payments[std::uniform_int_distribution<size_t>(0, payments.size() - 1)(rng)];
    absl::StatusOr<EscrowStep> s = absl::UnknownError("no step");
    const int64_t remaining = p.amount.amount_minor() - p.refunded_minor;
    switch (op) {
      case 1:
        s = Release(p);
        break;
      case 2:
        s = Refund(p, Eur(std::uniform_int_distribution<int64_t>(1, remaining + 1)(rng)));
        break;
      case 3:
        if (auto d = OpenDispute(p); d.ok()) p = *d;
        continue;
      case 4: {
        const auto outcome =
            static_cast<DisputeOutcome>(std::uniform_int_distribution<int>(1, 4)(rng));
        s = Resolve(
            p, outcome,
            Eur(std::uniform_int_distribution<int64_t>(1, std::max<int64_t>(remaining, 1))(rng)));
        break;
      }
      case 5: {
        const int64_t available = books.Of(AccountKind::kSellerAvailable);
        if (available > 0) {
          auto payout = Payout("5e11e700000000000000000000000001", Eur(available / 2 + 1), available);
          ASSERT_TRUE(payout.ok());
          books.Post(*payout);
        }
        continue;
      }
    }
    if (!s.ok()) {
      ASSERT_TRUE(s.status().code() == absl::StatusCode::kFailedPrecondition) << s.status();
      continue;
    }
    books.Post(s->transaction);
    p = s->after;

    int64_t held = 0;
    for (const Payment& q : payments) {
      held += HeldMinor(q);
      ASSERT_EQ(HeldMinor(q) + q.refunded_minor + q.seller_net_minor + q.commission_minor,
                q.amount.amount_minor() + q.guarantee_minor)
          << q.id;
      ASSERT_GE(q.commission_minor, 0);
    }
    ASSERT_EQ(books.Of(AccountKind::kEscrow), held);
    ASSERT_TRUE(BoundViolations(books.balances()).empty());
  }
}

}  // namespace
}  // namespace marketplace::payments
