#ifndef MARKETPLACE_COMMON_MONEY_H_
#define MARKETPLACE_COMMON_MONEY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketplace::common {

// The largest amount the platform accepts in one Money, in minor units (10^13: one hundred
// billion in a two-digit currency). Sums of many such amounts stay far from int64 overflow.
inline constexpr int64_t kMaxAmountMinor = 10'000'000'000'000;

// An ISO 4217 currency the platform handles.
struct Currency {
  absl::string_view code;  // "EUR"
  int minor_digits;        // 2 for EUR, 0 for JPY, 3 for KWD
};

// The currency with this upper-case code, or nullptr when it is not one we handle.
const Currency* FindCurrency(absl::string_view code);

// Every supported code, comma-separated, for documentation and error messages.
std::string SupportedCurrencyCodes();

// What sign an amount given by a client may have.
enum class AmountRule {
  kPositive,     // > 0 (prices, payments, refunds)
  kNonNegative,  // >= 0
};

// An amount of money: an integer number of minor units in one currency. Arithmetic is checked:
// mixing currencies is FAILED_PRECONDITION, leaving [-kMaxAmountMinor * 1000, +...] is
// OUT_OF_RANGE. Never floating point.
class Money {
 public:
  // INVALID_ARGUMENT (field "currency_code") for an unsupported currency; OUT_OF_RANGE when
  // |amount_minor| is above kMaxAmountMinor * 1000 (internal totals may exceed one amount).
  [[nodiscard]] static absl::StatusOr<Money> Of(absl::string_view currency_code,
                                                int64_t amount_minor);

  static Money Zero(const Currency& currency) { return Money(currency.code, 0); }

  const std::string& currency_code() const { return currency_code_; }
  int64_t amount_minor() const { return amount_minor_; }
  bool is_zero() const { return amount_minor_ == 0; }
  bool is_negative() const { return amount_minor_ < 0; }

  [[nodiscard]] absl::StatusOr<Money> Plus(const Money& other) const;
  [[nodiscard]] absl::StatusOr<Money> Minus(const Money& other) const;
  Money Negated() const { return Money(currency_code_, -amount_minor_); }

  // `basis_points` (1/100 of a percent, 0..10000) of this amount, rounded half away from zero
  // to the minor unit. INVALID_ARGUMENT for basis points outside 0..10000.
  [[nodiscard]] absl::StatusOr<Money> Fraction(int32_t basis_points) const;

  // "12.34 EUR", "-5 JPY": exact decimal, for messages and logs.
  std::string ToString() const;

  friend bool operator==(const Money& a, const Money& b) {
    return a.currency_code_ == b.currency_code_ && a.amount_minor_ == b.amount_minor_;
  }
  friend bool operator!=(const Money& a, const Money& b) { return !(a == b); }

 private:
  Money(absl::string_view currency_code, int64_t amount_minor)
      : currency_code_(currency_code), amount_minor_(amount_minor) {}
  absl::Status CheckSameCurrency(const Money& other) const;

  std::string currency_code_;
  int64_t amount_minor_ = 0;
};

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_MONEY_H_
