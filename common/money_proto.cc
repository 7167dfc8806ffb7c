#include "common/money_proto.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace marketplace::common {

absl::StatusOr<Money> MoneyFromProto(const v1::Money& proto, absl::string_view field,
                                     AmountRule rule) {
  std::vector<FieldViolation> violations;
  const Currency* currency = FindCurrency(proto.currency_code());
  if (currency == nullptr) {
    violations.push_back({absl::StrCat(field, ".currency_code"),
                          proto.currency_code().empty()
                              ? "is required: an upper-case ISO 4217 code such as EUR"
                              : "must be a supported upper-case ISO 4217 code such as EUR"});
  }
  const int64_t amount = proto.amount_minor();
  if (rule == AmountRule::kPositive && amount <= 0) {
    violations.push_back({absl::StrCat(field, ".amount_minor"), "must be > 0"});
  } else if (rule == AmountRule::kNonNegative && amount < 0) {
    violations.push_back({absl::StrCat(field, ".amount_minor"), "must be >= 0"});
  } else if (amount > kMaxAmountMinor) {
    violations.push_back(
        {absl::StrCat(field, ".amount_minor"), absl::StrCat("must be <= ", kMaxAmountMinor)});
  }
  if (!violations.empty()) return InvalidFields(std::move(violations));
  return Money::Of(currency->code, amount);
}

void MoneyToProto(const Money& money, v1::Money* out) {
  out->set_currency_code(money.currency_code());
  out->set_amount_minor(money.amount_minor());
}

v1::Money MoneyToProto(const Money& money) {
  v1::Money out;
  MoneyToProto(money, &out);
  return out;
}

}  // namespace marketplace::common
