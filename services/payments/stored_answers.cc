#include "services/payments/stored_answers.h"

#include "protos/marketplace/payments/v1/payments.pb.h"
#include "services/payments/convert.h"

namespace marketplace::payments {

std::string EncodePaymentAnswer(const PaymentRecord& payment) {
  return ToProto(payment).SerializeAsString();
}

absl::StatusOr<PaymentRecord> DecodePaymentAnswer(absl::string_view bytes) {
  v1::Payment payment;
  if (!payment.ParseFromString(std::string(bytes))) {
    return absl::InternalError("stored response does not parse");
  }
  return FromProto(payment);
}

std::string EncodePayoutAnswer(const PayoutRecord& payout) {
  // As CreatePayout answered before the processor: no state or reference yet.
  v1::Payout out = PayoutToProto(payout);
  out.clear_state();
  out.clear_processor_reference();
  return out.SerializeAsString();
}

absl::StatusOr<PayoutRecord> DecodePayoutAnswer(absl::string_view bytes) {
  v1::Payout payout;
  if (!payout.ParseFromString(std::string(bytes))) {
    return absl::InternalError("stored response does not parse");
  }
  return PayoutFromProto(payout);
}

}  // namespace marketplace::payments
