#include "services/identity/seller_onboarding.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/auth/token_verifier.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/identity/accounts.h"
#include "services/identity/identity_observer.h"
#include "services/identity/identity_test_fixture.h"
#include "services/identity/key_encryption.h"
#include "services/identity/key_ring.h"
#include "services/identity/mysql_identity_store.h"
#include "services/identity/password_check.h"
#include "services/identity/password_hasher.h"
#include "services/identity/password_policy.h"
#include "services/identity/sessions.h"
#include "services/identity/token_issuer.h"

namespace marketplace::identity {
namespace {

using SellerOnboardingTest = IdentityDomainTest;

SellerApplication ValidApplication() {
  return {"Lovelace Analytical Engines GmbH",
          "HRB 123456",
          "DE",
          "acct_7Hq2:main",
          "Ops@Lovelace.example",
          "+4930123456789"};
}

TEST_F(SellerOnboardingTest, SubmittedApplicationsWaitForReview) {
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  ASSERT_OK_AND_ASSIGN(SellerProfileView none, onboarding_->Get(seller.id, As(seller)));
  EXPECT_EQ(none.profile.status, SellerStatus::kNotSubmitted);
  EXPECT_FALSE(none.profile.application.has_value());

  ASSERT_OK_AND_ASSIGN(SellerProfileView submitted,
                       onboarding_->Submit(seller.id, ValidApplication(), "", As(seller)));
  EXPECT_EQ(submitted.profile.status, SellerStatus::kPending);
  ASSERT_OK_AND_ASSIGN(SellerProfileView read, onboarding_->Get(seller.id, As(seller)));
  EXPECT_EQ(read.profile.status, SellerStatus::kPending);
  ASSERT_TRUE(read.profile.application.has_value());
  EXPECT_EQ(read.profile.application->legal_name, "Lovelace Analytical Engines GmbH");
  EXPECT_EQ(read.profile.application->payout_account_ref, "acct_7Hq2:main");
  EXPECT_EQ(read.profile.application->contact_phone, "+4930123456789");
  EXPECT_EQ(read.profile.submitted_at, clock_.Now());
  EXPECT_TRUE(read.profile.decisions.empty());
  EXPECT_FALSE(read.suspended);
  EXPECT_EQ(Audit(seller.id).front().type, "SELLER_APPLICATION_SUBMITTED");

  // Once is enough while it waits.
  absl::Status again = onboarding_->Submit(seller.id, ValidApplication(), "", As(seller)).status();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(common::ReasonOf(again), "APPLICATION_PENDING");
}

TEST_F(SellerOnboardingTest, EachFieldIsValidatedAndNamed) {
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  struct Case {
    std::function<void(SellerApplication&)> spoil;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](SellerApplication& a) { a.legal_name = "X"; }, "application.legal_name"},
      {[](SellerApplication& a) { a.legal_name = std::string(201, 'x'); },
       "application.legal_name"},
      {[](SellerApplication& a) { a.registration_number = ""; }, "application.registration_number"},
      {[](SellerApplication& a) { a.registration_number = "HRB;DROP"; },
       "application.registration_number"},
      {[](SellerApplication& a) { a.country_code = "de"; }, "application.country_code"},
      {[](SellerApplication& a) { a.country_code = "DEU"; }, "application.country_code"},
      {[](SellerApplication& a) { a.payout_account_ref = "ab"; }, "application.payout_account_ref"},
      {[](SellerApplication& a) { a.payout_account_ref = "acct 123"; },
       "application.payout_account_ref"},
      {[](SellerApplication& a) { a.contact_email = "nobody"; }, "application.contact_email"},
      {[](SellerApplication& a) { a.contact_phone = "030123456"; }, "application.contact_phone"},
      {[](SellerApplication& a) { a.contact_phone = "+49"; }, "application.contact_phone"},
  };
  for (const Case& c : cases) {
    SellerApplication application = ValidApplication();
    c.spoil(application);
    absl::Status status = onboarding_->Submit(seller.id, application, "", As(seller)).status();
    ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    std::vector<common::FieldViolation> v = common::FieldViolationsOf(status);
    ASSERT_EQ(v.size(), 1u) << c.field;
    EXPECT_EQ(v[0].field, c.field);
    EXPECT_FALSE(v[0].rule.empty());
  }
  SellerApplication all_bad{"", "", "", "", "", "12"};
  std::vector<std::string> fields;
  for (const auto& v : common::FieldViolationsOf(
           onboarding_->Submit(seller.id, all_bad, "bad id!", As(seller)).status())) {
    fields.push_back(v.field);
  }
  EXPECT_EQ(fields, (std::vector<std::string>{
                        "application.legal_name", "application.registration_number",
                        "application.country_code", "application.payout_account_ref",
                        "application.contact_email", "application.contact_phone", "request_id"}));
  // The phone is optional. Nothing was stored by the refusals.
  ASSERT_OK_AND_ASSIGN(SellerProfileView view, onboarding_->Get(seller.id, As(seller)));
  EXPECT_EQ(view.profile.status, SellerStatus::kNotSubmitted);
  SellerApplication no_phone = ValidApplication();
  no_phone.contact_phone.clear();
  EXPECT_OK(onboarding_->Submit(seller.id, no_phone, "", As(seller)));
}

TEST_F(SellerOnboardingTest, ApprovalByAModerator) {
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  ASSERT_OK_AND_ASSIGN(
      Account mod, accounts_->CreateStaffAccount(
                       {"mod@example.com", kGoodPassword, "Mo", Role::kModerator, ""}, As(admin_)));
  ASSERT_OK(onboarding_->Submit(seller.id, ValidApplication(), "", As(seller)));
  clock_.Advance(absl::Hours(2));
  ASSERT_OK_AND_ASSIGN(SellerProfileView approved,
                       onboarding_->Review(seller.id, ReviewOutcome::kApprove, "", "", As(mod)));
  EXPECT_EQ(approved.profile.status, SellerStatus::kApproved);
  ASSERT_OK_AND_ASSIGN(SellerProfileView read, onboarding_->Get(seller.id, As(seller)));
  EXPECT_EQ(read.profile.status, SellerStatus::kApproved);
  ASSERT_EQ(read.profile.decisions.size(), 1u);
  EXPECT_EQ(read.profile.decisions[0].kind, SellerDecisionKind::kApplicationApproved);
  EXPECT_EQ(read.profile.decisions[0].decided_by, mod.id);
  EXPECT_EQ(read.profile.decisions[0].decided_at, clock_.Now());
  EXPECT_EQ(Audit(seller.id).front().type, "SELLER_APPLICATION_APPROVED");

  absl::Status twice =
      onboarding_->Review(seller.id, ReviewOutcome::kApprove, "", "", As(admin_)).status();
  EXPECT_EQ(common::ReasonOf(twice), "APPLICATION_NOT_PENDING");
  EXPECT_EQ(
      common::ReasonOf(onboarding_->Submit(seller.id, ValidApplication(), "", As(seller)).status()),
      "SELLER_ALREADY_APPROVED");
}

TEST_F(SellerOnboardingTest, RejectionCarriesAReasonAndAllowsResubmission) {
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  ASSERT_OK(onboarding_->Submit(seller.id, ValidApplication(), "", As(seller)));

  absl::Status no_decision =
      onboarding_->Review(seller.id, std::nullopt, "", "", As(admin_)).status();
  EXPECT_EQ(common::FieldViolationsOf(no_decision).at(0).field, "decision");
  absl::Status no_reason =
      onboarding_->Review(seller.id, ReviewOutcome::kReject, "", "", As(admin_)).status();
  std::vector<std::string> fields;
  for (const auto& v : common::FieldViolationsOf(no_reason)) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"reason_code", "reason"}));

  ASSERT_OK(onboarding_->Review(seller.id, ReviewOutcome::kReject, "REGISTRATION_UNREADABLE",
                                "The registration extract is not legible; upload a new scan.",
                                As(admin_)));
  ASSERT_OK_AND_ASSIGN(SellerProfileView rejected, onboarding_->Get(seller.id, As(seller)));
  EXPECT_EQ(rejected.profile.status, SellerStatus::kRejected);
  ASSERT_EQ(rejected.profile.decisions.size(), 1u);
  EXPECT_EQ(rejected.profile.decisions[0].kind, SellerDecisionKind::kApplicationRejected);
  EXPECT_EQ(rejected.profile.decisions[0].reason_code, "REGISTRATION_UNREADABLE");
  EXPECT_EQ(rejected.profile.decisions[0].reason,
            "The registration extract is not legible; upload a new scan.");

  clock_.Advance(absl::Hours(24));
  SellerApplication fixed = ValidApplication();
  fixed.registration_number = "HRB 654321";
  ASSERT_OK_AND_ASSIGN(SellerProfileView resubmitted,
                       onboarding_->Submit(seller.id, fixed, "", As(seller)));
  EXPECT_EQ(resubmitted.profile.status, SellerStatus::kPending);
  ASSERT_OK(onboarding_->Review(seller.id, ReviewOutcome::kApprove, "", "", As(admin_)));
  ASSERT_OK_AND_ASSIGN(SellerProfileView final_view, onboarding_->Get(seller.id, As(seller)));
  EXPECT_EQ(final_view.profile.status, SellerStatus::kApproved);
  EXPECT_EQ(final_view.profile.application->registration_number, "HRB 654321");
  EXPECT_EQ(final_view.profile.submitted_at, clock_.Now());
  ASSERT_EQ(final_view.profile.decisions.size(), 2u);  // the history keeps the rejection
  EXPECT_EQ(final_view.profile.decisions[0].kind, SellerDecisionKind::kApplicationRejected);
  EXPECT_EQ(final_view.profile.decisions[1].kind, SellerDecisionKind::kApplicationApproved);
}

TEST_F(SellerOnboardingTest, SubmitWithARequestIdIsIdempotent) {
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  ASSERT_OK(onboarding_->Submit(seller.id, ValidApplication(), "apply-1", As(seller)));
  ASSERT_OK_AND_ASSIGN(SellerProfileView repeat,
                       onboarding_->Submit(seller.id, ValidApplication(), "apply-1", As(seller)));
  EXPECT_EQ(repeat.profile.status, SellerStatus::kPending);
  SellerApplication changed = ValidApplication();
  changed.legal_name = "Another Name Ltd";
  EXPECT_EQ(
      common::ReasonOf(onboarding_->Submit(seller.id, changed, "apply-1", As(seller)).status()),
      "REQUEST_ID_REUSED");
}

TEST_F(SellerOnboardingTest, OnlySellersApplyOnlyReviewersDecideOnlyOwnersAndStaffRead) {
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  ASSERT_OK_AND_ASSIGN(Account rival, SignUp("rival@example.com", Role::kSeller));
  ASSERT_OK_AND_ASSIGN(Account buyer, SignUp("buyer@example.com", Role::kBuyer));
  ASSERT_OK_AND_ASSIGN(
      Account agent,
      accounts_->CreateStaffAccount(
          {"agent@example.com", kGoodPassword, "Ag", Role::kSupportAgent, ""}, As(admin_)));
  ASSERT_OK_AND_ASSIGN(
      CreatedServiceAccount reader,
      accounts_->CreateServiceAccount("catalog", {"identity.accounts.read"}, "", As(admin_)));
  ASSERT_OK_AND_ASSIGN(CreatedServiceAccount plain,
                       accounts_->CreateServiceAccount("other", {}, "", As(admin_)));
  const auto code = [](const auto& result) { return result.status().code(); };
  using absl::StatusCode;

  EXPECT_EQ(code(onboarding_->Submit(buyer.id, ValidApplication(), "", As(buyer))),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(code(onboarding_->Submit(seller.id, ValidApplication(), "", As(rival))),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(code(onboarding_->Submit(seller.id, ValidApplication(), "", As(admin_))),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(code(onboarding_->Submit(seller.id, ValidApplication(), "", Anonymous())),
            StatusCode::kUnauthenticated);
  ASSERT_OK(onboarding_->Submit(seller.id, ValidApplication(), "", As(seller)));

  for (const Account* who : {&seller, &rival, &buyer, &agent, &reader.account}) {
    EXPECT_EQ(code(onboarding_->Review(seller.id, ReviewOutcome::kApprove, "", "", As(*who))),
              StatusCode::kPermissionDenied)
        << RoleName(who->role);
  }
  EXPECT_EQ(code(onboarding_->Get(seller.id, As(rival))), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(onboarding_->Get(seller.id, As(buyer))), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(onboarding_->Get(seller.id, As(plain.account))), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(onboarding_->Get(seller.id, Anonymous())), StatusCode::kUnauthenticated);
  EXPECT_OK(onboarding_->Get(seller.id, As(agent)));
  EXPECT_OK(onboarding_->Get(seller.id, As(reader.account)));
  // A buyer has no seller profile, even for staff; and cannot read its own.
  EXPECT_EQ(code(onboarding_->Get(buyer.id, As(agent))), StatusCode::kNotFound);
  EXPECT_EQ(code(onboarding_->Get(buyer.id, As(buyer))), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(onboarding_->Review(buyer.id, ReviewOutcome::kApprove, "", "", As(admin_))),
            StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(SellerProfileView still, onboarding_->Get(seller.id, As(seller)));
  EXPECT_EQ(still.profile.status, SellerStatus::kPending);
}

TEST_F(SellerOnboardingTest, SuspendedSellersShowAsSuspendedAndCannotApply) {
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  ASSERT_OK(accounts_->Suspend(seller.id, "KPI_BREACH", "late shipments", As(admin_)));
  ASSERT_OK_AND_ASSIGN(SellerProfileView view, onboarding_->Get(seller.id, As(admin_)));
  EXPECT_TRUE(view.suspended);
  ASSERT_EQ(view.profile.decisions.size(), 1u);
  EXPECT_EQ(view.profile.decisions[0].kind, SellerDecisionKind::kAccountSuspended);
  EXPECT_EQ(view.profile.decisions[0].reason, "late shipments");
  absl::Status refused =
      onboarding_->Submit(seller.id, ValidApplication(), "", As(seller)).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(common::ReasonOf(refused), "ACCOUNT_SUSPENDED");
}

// An application that was pending when its seller was suspended can be rejected but not
// approved: the approval would take effect on reinstatement, unseen.
TEST_F(SellerOnboardingTest, ASuspendedSellersPendingApplicationCannotBeApproved) {
  ASSERT_OK_AND_ASSIGN(Account seller, SignUp("seller@example.com", Role::kSeller));
  ASSERT_OK(onboarding_->Submit(seller.id, ValidApplication(), "", As(seller)));
  ASSERT_OK(accounts_->Suspend(seller.id, "FRAUD", "stolen identity", As(admin_)));
  absl::Status approve =
      onboarding_->Review(seller.id, ReviewOutcome::kApprove, "", "", As(admin_)).status();
  EXPECT_EQ(approve.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(common::ReasonOf(approve), "ACCOUNT_SUSPENDED");
  ASSERT_OK_AND_ASSIGN(SellerProfileView pending, onboarding_->Get(seller.id, As(admin_)));
  EXPECT_EQ(pending.profile.status, SellerStatus::kPending);
  ASSERT_EQ(pending.profile.decisions.size(), 1u);  // the suspension only

  ASSERT_OK_AND_ASSIGN(SellerProfileView rejected,
                       onboarding_->Review(seller.id, ReviewOutcome::kReject, "IDENTITY_UNVERIFIED",
                                           "documents do not match", As(admin_)));
  EXPECT_EQ(rejected.profile.status, SellerStatus::kRejected);
  ASSERT_OK(accounts_->Reinstate(seller.id, "APPEAL", "cleared", As(admin_)));
  ASSERT_OK_AND_ASSIGN(SellerProfileView after, onboarding_->Get(seller.id, As(seller)));
  EXPECT_EQ(after.profile.status, SellerStatus::kRejected);
}

}  // namespace
}  // namespace marketplace::identity
