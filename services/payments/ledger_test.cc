#include "services/payments/ledger.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketplace::payments {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(LedgerTest, NamesRoundTrip) {
  for (AccountKind kind :
       {AccountKind::kBuyerFunding, AccountKind::kEscrow, AccountKind::kSellerAvailable,
        AccountKind::kSellerPaidOut, AccountKind::kPlatformCommission, AccountKind::kRefundsOut,
        AccountKind::kGuaranteeFund}) {
    auto back = AccountKindFromName(AccountKindName(kind));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, kind);
  }
  EXPECT_FALSE(AccountKindFromName("cash").ok());
  EXPECT_EQ(*TransactionKindFromName("payout"), TransactionKind::kPayout);
  EXPECT_FALSE(TransactionKindFromName("gift").ok());
}

TEST(LedgerTest, MoveMakesABalancedTransaction) {
  LedgerTransaction tx;
  Move(tx, PlatformAccount(AccountKind::kBuyerFunding, "EUR"),
       SellerAccount(AccountKind::kEscrow, "s1", "EUR"), 1500);
  EXPECT_TRUE(CheckBalanced(tx).ok());
  Move(tx, PlatformAccount(AccountKind::kBuyerFunding, "EUR"),
       SellerAccount(AccountKind::kEscrow, "s1", "EUR"), 0);  // no entry for nothing
  EXPECT_EQ(tx.entries.size(), 2u);
}

TEST(LedgerTest, UnbalancedOrMalformedTransactionsAreInternalErrors) {
  LedgerTransaction one_sided;
  one_sided.entries.push_back({PlatformAccount(AccountKind::kRefundsOut, "EUR"), 10});
  EXPECT_EQ(CheckBalanced(one_sided).code(), absl::StatusCode::kInternal);

  LedgerTransaction off_by_one;
  off_by_one.entries.push_back({PlatformAccount(AccountKind::kRefundsOut, "EUR"), 10});
  off_by_one.entries.push_back({SellerAccount(AccountKind::kEscrow, "s", "EUR"), -9});
  EXPECT_EQ(CheckBalanced(off_by_one).code(), absl::StatusCode::kInternal);

  // Balanced in sum but across two currencies: each currency must balance on its own.
  LedgerTransaction mixed;
  mixed.entries.push_back({PlatformAccount(AccountKind::kRefundsOut, "EUR"), 10});
  mixed.entries.push_back({SellerAccount(AccountKind::kEscrow, "s", "USD"), -10});
  EXPECT_EQ(CheckBalanced(mixed).code(), absl::StatusCode::kInternal);

  LedgerTransaction ownerless_seller_account;
  Move(ownerless_seller_account, PlatformAccount(AccountKind::kBuyerFunding, "EUR"),
       SellerAccount(AccountKind::kEscrow, "", "EUR"), 5);
  EXPECT_EQ(CheckBalanced(ownerless_seller_account).code(), absl::StatusCode::kInternal);

  LedgerTransaction unknown_currency;
  Move(unknown_currency, PlatformAccount(AccountKind::kBuyerFunding, "XXX"),
       PlatformAccount(AccountKind::kRefundsOut, "XXX"), 5);
  EXPECT_EQ(CheckBalanced(unknown_currency).code(), absl::StatusCode::kInternal);
}

TEST(LedgerTest, BoundsFollowTheAccountKind) {
  Balances balances;
  LedgerTransaction tx;
  Move(tx, SellerAccount(AccountKind::kEscrow, "s", "EUR"),
       SellerAccount(AccountKind::kSellerAvailable, "s", "EUR"), 100);
  Apply(tx, balances);
  EXPECT_THAT(BoundViolations(balances),
              ElementsAre(SellerAccount(AccountKind::kEscrow, "s", "EUR")));

  Balances debt;
  LedgerTransaction refund_after_release;
  Move(refund_after_release, SellerAccount(AccountKind::kSellerAvailable, "s", "EUR"),
       PlatformAccount(AccountKind::kRefundsOut, "EUR"), 100);
  Apply(refund_after_release, debt);
  EXPECT_THAT(BoundViolations(debt), IsEmpty());  // a seller may owe money
  EXPECT_EQ((debt[SellerAccount(AccountKind::kSellerAvailable, "s", "EUR")]), -100);
}

}  // namespace
}  // namespace marketplace::payments
