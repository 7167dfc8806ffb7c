#ifndef MARKETPLACE_SERVICES_PAYMENTS_CONVERT_H_
#define MARKETPLACE_SERVICES_PAYMENTS_CONVERT_H_

#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "protos/marketplace/common/v1/money.pb.h"
#include "protos/marketplace/payments/v1/payments.pb.h"
#include "services/payments/mysql_payment_store.h"

namespace marketplace::payments {

void ToTimestamp(absl::Time t, google::protobuf::Timestamp* out);
common::v1::Money MoneyProto(absl::string_view currency, int64_t amount_minor);
v1::PaymentState ToProtoState(PaymentState state);
v1::DisputeOutcome ToProtoOutcome(DisputeOutcome outcome);

// The payment without history and entries (as mutations and ListPayments return it).
v1::Payment ToProto(const PaymentRecord& p);
void AddHistory(const PaymentRecord& p, const std::vector<PaymentEventRecord>& history,
                v1::Payment* out);
void AddEntries(const std::vector<StoredEntry>& entries, v1::Payment* out);
v1::Payout PayoutToProto(const PayoutRecord& p);
// A REFUND processor operation as one of the payment's refunds.
void AddRefund(const ProcessorOperation& op, v1::Payment* out);

}  // namespace marketplace::payments

#endif  // MARKETPLACE_SERVICES_PAYMENTS_CONVERT_H_
