#include "common/money.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"

namespace marketplace::common {
namespace {

// ISO 4217 codes in use by the platform's markets, with their minor-unit digits. Sorted by code.
constexpr Currency kCurrencies[] = {
    {"AED", 2}, {"ARS", 2}, {"AUD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BRL", 2},
    {"CAD", 2}, {"CHF", 2}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CZK", 2}, {"DKK", 2},
    {"EGP", 2}, {"EUR", 2}, {"GBP", 2}, {"HKD", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2},
    {"INR", 2}, {"ISK", 0}, {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KRW", 0}, {"KWD", 3},
    {"MAD", 2}, {"MXN", 2}, {"MYR", 2}, {"NGN", 2}, {"NOK", 2}, {"NZD", 2}, {"OMR", 3},
    {"PEN", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"QAR", 2}, {"RON", 2}, {"SAR", 2},
    {"SEK", 2}, {"SGD", 2}, {"THB", 2}, {"TND", 3}, {"TRY", 2}, {"TWD", 2}, {"UAH", 2},
    {"USD", 2}, {"UYU", 2}, {"VND", 0}, {"XAF", 0}, {"XOF", 0}, {"ZAR", 2},
};

// Internal totals (balances, sums of entries) may exceed one amount, within this bound.
constexpr int64_t kMaxTotalMinor = kMaxAmountMinor * 1000;

bool InRange(int64_t amount) { return amount >= -kMaxTotalMinor && amount <= kMaxTotalMinor; }

}  // namespace

const Currency* FindCurrency(absl::string_view code) {
  auto it = std::lower_bound(std::begin(kCurrencies), std::end(kCurrencies), code,
                             [](const Currency& c, absl::string_view k) { return c.code < k; });
  if (it == std::end(kCurrencies) || it->code != code) return nullptr;
  return &*it;
}

std::string SupportedCurrencyCodes() {
  std::vector<absl::string_view> codes;
  for (const Currency& c : kCurrencies) codes.push_back(c.code);
  return absl::StrJoin(codes, ", ");
}

absl::StatusOr<Money> Money::Of(absl::string_view currency_code, int64_t amount_minor) {
  const Currency* currency = FindCurrency(currency_code);
  if (currency == nullptr) {
    return InvalidField("currency_code", "must be a supported upper-case ISO 4217 code");
  }
  if (!InRange(amount_minor)) {
    return absl::OutOfRangeError(absl::StrCat("amount ", amount_minor, " is out of range"));
  }
  return Money(currency->code, amount_minor);
}

absl::Status Money::CheckSameCurrency(const Money& other) const {
  if (currency_code_ == other.currency_code_) return absl::OkStatus();
  return FailedPrecondition("CURRENCY_MISMATCH",
                            absl::StrCat("cannot combine ", currency_code_, " with ",
                                         other.currency_code_));
}

absl::StatusOr<Money> Money::Plus(const Money& other) const {
  if (absl::Status s = CheckSameCurrency(other); !s.ok()) return s;
  int64_t sum = 0;
  if (__builtin_add_overflow(amount_minor_, other.amount_minor_, &sum) || !InRange(sum)) {
    return absl::OutOfRangeError("money sum out of range");
  }
  return Money(currency_code_, sum);
}

absl::StatusOr<Money> Money::Minus(const Money& other) const {
  if (absl::Status s = CheckSameCurrency(other); !s.ok()) return s;
  int64_t difference = 0;
  if (__builtin_sub_overflow(amount_minor_, other.amount_minor_, &difference) ||
      !InRange(difference)) {
    return absl::OutOfRangeError("money difference out of range");
  }
  return Money(currency_code_, difference);
}

absl::StatusOr<Money> Money::Fraction(int32_t basis_points) const {
  if (basis_points < 0 || basis_points > 10'000) {
    return InvalidField("basis_points", "must be between 0 and 10000");
  }
  // |amount| <= 10^16 and bps <= 10^4: the product fits in 128 bits with room to spare.
  const __int128 product = static_cast<__int128>(amount_minor_) * basis_points;
  const __int128 magnitude = product < 0 ? -product : product;
  __int128 rounded = (magnitude + 5'000) / 10'000;  // half away from zero
  if (product < 0) rounded = -rounded;
  return Money(currency_code_, static_cast<int64_t>(rounded));
}

std::string Money::ToString() const {
  const Currency* currency = FindCurrency(currency_code_);
  const int digits = currency == nullptr ? 0 : currency->minor_digits;
  const bool negative = amount_minor_ < 0;
  // Two's complement: the magnitude of any in-range amount fits in uint64.
  const uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(amount_minor_) : static_cast<uint64_t>(amount_minor_);
  std::string out = negative ? "-" : "";
  if (digits == 0) {
    absl::StrAppend(&out, magnitude);
  } else {
    uint64_t scale = 1;
    for (int i = 0; i < digits; ++i) scale *= 10;
    std::string fraction = std::to_string(magnitude % scale);
    fraction.insert(0, digits - fraction.size(), '0');
    absl::StrAppend(&out, magnitude / scale, ".", fraction);
  }
  absl::StrAppend(&out, " ", currency_code_);
  return out;
}

}  // namespace marketplace::common
