#ifndef MARKETPLACE_COMMON_MONEY_PROTO_H_
#define MARKETPLACE_COMMON_MONEY_PROTO_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/money.h"
#include "protos/marketplace/common/v1/money.pb.h"

namespace marketplace::common {

// Money <-> marketplace.common.v1.Money, for the services' API glue (the domain uses Money).

// Validates a client-given Money; violations name `field` + ".currency_code" /
// ".amount_minor" with the rule (supported ISO 4217 code; sign per `rule`; at most
// kMaxAmountMinor).
[[nodiscard]] absl::StatusOr<Money> MoneyFromProto(const v1::Money& proto,
                                                   absl::string_view field, AmountRule rule);

void MoneyToProto(const Money& money, v1::Money* out);
v1::Money MoneyToProto(const Money& money);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_MONEY_PROTO_H_
