#include "common/errors.h"

#include <optional>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"

namespace marketplace::common {
namespace {

constexpr char kBadRequestUrl[] = "type.googleapis.com/google.rpc.BadRequest";
constexpr char kErrorInfoUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";
constexpr char kDomain[] = "marketplace";

std::optional<google::rpc::BadRequest> BadRequestOf(const absl::Status& status) {
  auto payload = status.GetPayload(kBadRequestUrl);
  if (!payload) return std::nullopt;
  google::rpc::BadRequest bad_request;
  if (!bad_request.ParseFromString(std::string(*payload))) return std::nullopt;
  return bad_request;
}

}  // namespace

absl::Status InvalidField(absl::string_view field, absl::string_view rule) {
  return InvalidFields({{std::string(field), std::string(rule)}});
}

void Violations::Add(std::string field, std::string rule) {
  list_.push_back({std::move(field), std::move(rule)});
}

void Violations::Check(const absl::Status& status) {
  for (FieldViolation& v : FieldViolationsOf(status)) list_.push_back(std::move(v));
}

absl::Status Violations::Status() const {
  return list_.empty() ? absl::OkStatus() : InvalidFields(list_);
}

absl::Status InvalidFields(std::vector<FieldViolation> violations) {
  google::rpc::BadRequest bad_request;
  std::vector<std::string> parts;
  for (const auto& v : violations) {
    auto* fv = bad_request.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.rule);
    parts.push_back(absl::StrCat(v.field, ": ", v.rule));
  }
  absl::Status status = absl::InvalidArgumentError(absl::StrJoin(parts, "; "));
  status.SetPayload(kBadRequestUrl, absl::Cord(bad_request.SerializeAsString()));
  return status;
}

absl::Status WithReason(absl::Status status, absl::string_view reason,
                        const std::vector<std::pair<std::string, std::string>>& metadata) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kDomain);
  for (const auto& [key, value] : metadata) (*info.mutable_metadata())[key] = value;
  status.SetPayload(kErrorInfoUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

absl::Status FailedPrecondition(absl::string_view reason, absl::string_view message) {
  return WithReason(absl::FailedPreconditionError(message), reason);
}

absl::Status NotFound(absl::string_view what, absl::string_view id) {
  return WithReason(absl::NotFoundError(absl::StrCat(what, " ", id, " not found")),
                    absl::StrCat(absl::AsciiStrToUpper(what), "_NOT_FOUND"));
}

absl::Status PermissionDenied(absl::string_view message) {
  return WithReason(absl::PermissionDeniedError(message), "PERMISSION_DENIED");
}

absl::Status Unauthenticated(absl::string_view message) {
  return WithReason(absl::UnauthenticatedError(message), "UNAUTHENTICATED");
}

std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status) {
  std::vector<FieldViolation> out;
  if (auto bad_request = BadRequestOf(status)) {
    for (const auto& fv : bad_request->field_violations()) {
      out.push_back({fv.field(), fv.description()});
    }
  }
  return out;
}

std::string ReasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorInfoUrl);
  if (!payload) return "";
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return "";
  return info.reason();
}

}  // namespace marketplace::common
