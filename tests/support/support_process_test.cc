// support_server and payments_server as real processes on a real MariaDB (one database each),
// identity as a small in-test fake (keys, service tokens): a ticket about a paid order, a
// refund decided by the seller, support killed (SIGKILL) before its refund worker ran and
// started again -- the recorded refund command reaches payments once.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/grpc_auth.h"
#include "common/auth/jwt.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/marketplace/payments/v1/payments.grpc.pb.h"
#include "protos/marketplace/support/v1/support.grpc.pb.h"
#include "tests/support/support_stack.h"

namespace marketplace::support {
namespace {

namespace ppb = marketplace::payments::v1;
namespace auth = common::auth;

constexpr char kBuyer[] = "b0b0b000000000000000000000000001";
constexpr char kSeller[] = "5e11e700000000000000000000000001";

using testing::Sign;

class SupportProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(stack_.Init()); }
  void StartPayments() { ASSERT_OK(stack_.StartPayments()); }
  void StartSupport(const std::string& refund_interval) {
    ASSERT_OK(stack_.StartSupport({absl::StrCat("--refund_interval=", refund_interval)}));
  }
  template <typename Fn>
  grpc::Status Retry(const std::string& token, Fn call) {
    return stack_.Retry(token, call);
  }

  testing::SupportStack stack_;
};

TEST_F(SupportProcessTest, ARefundRecordedBeforeACrashReachesPaymentsOnceAfterRestart) {
  StartPayments();
  StartSupport("1h");  // the worker's first pass runs at start, before anything is due
  const std::string checkout = Sign(stack_.keys(), "5e7c0000000000000000000000000009", {"SERVICE"},
                                    {"payments.checkout"});
  const std::string buyer = Sign(stack_.keys(), kBuyer, {"BUYER"}, {});
  const std::string seller = Sign(stack_.keys(), kSeller, {"SELLER"}, {});
  const std::string admin = Sign(stack_.keys(), "ad000000000000000000000000000001", {"ADMIN"}, {});

  ppb::CreatePaymentRequest pay;
  pay.set_request_id("pay-1");
  pay.set_order_id("O-1");
  pay.set_buyer_id(kBuyer);
  pay.set_seller_id(kSeller);
  pay.mutable_amount()->set_currency_code("EUR");
  pay.mutable_amount()->set_amount_minor(4200);
  pay.set_payment_method_token("tok_sandbox_success");
  ppb::Payment payment;
  grpc::Status s = Retry(checkout, [&](grpc::ClientContext* c) {
    return stack_.payments().CreatePayment(c, pay, &payment);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();

  v1::CreateTicketRequest create;
  create.set_request_id("t-1");
  create.set_order_id("O-1");
  create.set_category(v1::DAMAGED);
  create.set_channel(v1::WEB_FORM);
  create.set_subject("Broken");
  create.set_body("It arrived broken");
  v1::CreateTicketResponse created;
  s = Retry(buyer, [&](grpc::ClientContext* c) {
    return stack_.support(0).CreateTicket(c, create, &created);
  });
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message() << "\n"
                      << stack_.support_process(0).Output();
  EXPECT_EQ(created.ticket().payment_id(), payment.payment_id());
  EXPECT_EQ(created.ticket().seller_id(), kSeller);

  v1::ResolveTicketRequest resolve;
  resolve.set_request_id("r-1");
  resolve.set_ticket_id(created.ticket().ticket_id());
  resolve.set_outcome(v1::REFUND_FULL);
  resolve.set_reason_code("TRANSIT_DAMAGE");
  resolve.set_explanation("Refunded in full");
  v1::Ticket resolved;
  s = Retry(seller, [&](grpc::ClientContext* c) {
    return stack_.support(0).ResolveTicket(c, resolve, &resolved);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resolved.refund_state(), v1::PENDING_REFUND);

  // Killed before its worker sent the command; started again with a short interval.
  ASSERT_OK(stack_.RestartSupport(0, {"--refund_interval=1s"}));

  v1::Ticket now;
  const absl::Time end = absl::Now() + absl::Seconds(60);
  v1::GetTicketRequest get;
  get.set_ticket_id(created.ticket().ticket_id());
  while (absl::Now() < end) {
    s = Retry(buyer, [&](grpc::ClientContext* c) { return stack_.support(0).GetTicket(c, get, &now); });
    if (s.ok() && now.refund_state() != v1::PENDING_REFUND) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(now.refund_state(), v1::REFUNDED) << stack_.support_process(0).Output();
  ppb::GetPaymentRequest get_payment;
  get_payment.set_payment_id(payment.payment_id());
  ppb::Payment after;
  s = Retry(admin, [&](grpc::ClientContext* c) {
    return stack_.payments().GetPayment(c, get_payment, &after);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(after.refunded().amount_minor(), 4200);
  EXPECT_EQ(after.refunds_size(), 1);
}

}  // namespace
}  // namespace marketplace::support
