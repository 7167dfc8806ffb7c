#include "services/identity/model.h"

namespace marketplace::identity {
namespace {

template <typename E, size_t N>
std::optional<E> FromName(absl::string_view name, const std::pair<E, absl::string_view> (&table)[N]) {
  for (const auto& [value, value_name] : table) {
    if (value_name == name) return value;
  }
  return std::nullopt;
}

template <typename E, size_t N>
absl::string_view NameOf(E value, const std::pair<E, absl::string_view> (&table)[N]) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "UNKNOWN";
}

constexpr std::pair<Role, absl::string_view> kRoles[] = {
    {Role::kBuyer, "BUYER"},         {Role::kSeller, "SELLER"},
    {Role::kSupportAgent, "SUPPORT_AGENT"}, {Role::kModerator, "MODERATOR"},
    {Role::kAdmin, "ADMIN"},         {Role::kService, "SERVICE"},
};

constexpr std::pair<AccountStatus, absl::string_view> kStatuses[] = {
    {AccountStatus::kActive, "ACTIVE"},
    {AccountStatus::kSuspended, "SUSPENDED"},
};

constexpr std::pair<SellerStatus, absl::string_view> kSellerStatuses[] = {
    {SellerStatus::kNotSubmitted, "NOT_SUBMITTED"},
    {SellerStatus::kPending, "PENDING"},
    {SellerStatus::kApproved, "APPROVED"},
    {SellerStatus::kRejected, "REJECTED"},
};

constexpr std::pair<SellerDecisionKind, absl::string_view> kDecisionKinds[] = {
    {SellerDecisionKind::kApplicationApproved, "APPLICATION_APPROVED"},
    {SellerDecisionKind::kApplicationRejected, "APPLICATION_REJECTED"},
    {SellerDecisionKind::kAccountSuspended, "ACCOUNT_SUSPENDED"},
    {SellerDecisionKind::kAccountReinstated, "ACCOUNT_REINSTATED"},
};

constexpr std::pair<SigningKeyState, absl::string_view> kKeyStates[] = {
    {SigningKeyState::kNext, "NEXT"},
    {SigningKeyState::kActive, "ACTIVE"},
    {SigningKeyState::kRetired, "RETIRED"},
};

}  // namespace

absl::string_view SigningKeyStateName(SigningKeyState state) { return NameOf(state, kKeyStates); }
std::optional<SigningKeyState> SigningKeyStateFromName(absl::string_view name) {
  return FromName(name, kKeyStates);
}

absl::string_view RoleName(Role role) { return NameOf(role, kRoles); }
std::optional<Role> RoleFromName(absl::string_view name) { return FromName(name, kRoles); }

bool IsStaffRole(Role role) {
  return role == Role::kSupportAgent || role == Role::kModerator || role == Role::kAdmin;
}

absl::string_view AccountStatusName(AccountStatus status) { return NameOf(status, kStatuses); }
std::optional<AccountStatus> AccountStatusFromName(absl::string_view name) {
  return FromName(name, kStatuses);
}

absl::string_view SellerStatusName(SellerStatus status) {
  return NameOf(status, kSellerStatuses);
}
std::optional<SellerStatus> SellerStatusFromName(absl::string_view name) {
  return FromName(name, kSellerStatuses);
}

absl::string_view SellerDecisionKindName(SellerDecisionKind kind) {
  return NameOf(kind, kDecisionKinds);
}
std::optional<SellerDecisionKind> SellerDecisionKindFromName(absl::string_view name) {
  return FromName(name, kDecisionKinds);
}

}  // namespace marketplace::identity
