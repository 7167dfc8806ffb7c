#ifndef MARKETPLACE_SERVICES_PAYMENTS_CONVERT_H_
#define MARKETPLACE_SERVICES_PAYMENTS_CONVERT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protos/marketplace/common/v1/money.pb.h"
#include "protos/marketplace/payments/v1/payments.pb.h"
#include "services/payments/escrow.h"
#include "services/payments/payment_records.h"

namespace marketplace::payments {

// Domain records <-> the API's messages.

common::v1::Money MoneyProto(absl::string_view currency, int64_t amount_minor);
v1::PaymentState ToProtoState(PaymentState state);
v1::DisputeOutcome ToProtoOutcome(DisputeOutcome outcome);

// The payment without history and entries (as mutations and ListPayments return it).
v1::Payment ToProto(const PaymentRecord& p);
// Its inverse, for answers stored as messages.
[[nodiscard]] absl::StatusOr<PaymentRecord> FromProto(const v1::Payment& p);
void AddHistory(const PaymentRecord& p, const std::vector<PaymentEventRecord>& history,
                v1::Payment* out);
void AddEntries(const std::vector<StoredEntry>& entries, v1::Payment* out);
v1::Payout PayoutToProto(const PayoutRecord& p);
[[nodiscard]] absl::StatusOr<PayoutRecord> PayoutFromProto(const v1::Payout& p);
// A REFUND processor operation as one of the payment's refunds.
void AddRefund(const ProcessorOperation& op, v1::Payment* out);
v1::SellerHoldPolicy HoldPolicyToProto(const HoldPolicyRecord& policy);
v1::SellerBalance BalanceToProto(absl::string_view seller_id,
                                 const std::vector<SellerAccounts>& accounts);
v1::VerifyLedgerResponse LedgerReportToProto(const LedgerReport& report);

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_CONVERT_H_
