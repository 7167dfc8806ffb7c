#include "services/gateway/router.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace marketplace::gateway {
namespace {

std::vector<absl::string_view> SplitPath(absl::string_view path) {
  if (path.empty() || path[0] != '/') return {};
  path.remove_prefix(1);
  return absl::StrSplit(path, '/');
}

}  // namespace

absl::Status Router::Add(std::string http_method, PathTemplate path, std::string name, int id) {
  for (const Entry& e : entries_) {
    if (e.method != http_method) continue;
    if (e.path.LiteralCount() != path.LiteralCount() ||
        e.path.MultiCount() != path.MultiCount()) {
      continue;  // precedence decides
    }
    if (TemplatesOverlap(e.path, path)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "routes conflict: ", e.name, " (", e.method, " ", e.path.text, ") and ", name, " (",
          http_method, " ", path.text, ") match the same requests"));
    }
  }
  entries_.push_back({std::move(http_method), std::move(path), std::move(name), id});
  return absl::OkStatus();
}

bool Router::MatchEntry(const Entry& e, const std::vector<absl::string_view>& path_segments,
                        std::vector<std::string>* raw) {
  std::vector<absl::string_view> segs = path_segments;
  if (!e.path.verb.empty()) {
    if (segs.empty()) return false;
    const std::string suffix = absl::StrCat(":", e.path.verb);
    if (!absl::EndsWith(segs.back(), suffix)) return false;
    segs.back().remove_suffix(suffix.size());
  }
  const auto& t = e.path.segments;
  const size_t n = t.size();
  const bool multi = n > 0 && t.back().kind == PathSegment::kMulti;
  const size_t fixed = multi ? n - 1 : n;
  if (multi ? segs.size() < fixed : segs.size() != fixed) return false;
  for (size_t k = 0; k < fixed; ++k) {
    switch (t[k].kind) {
      case PathSegment::kLiteral:
        if (segs[k] != t[k].literal) return false;
        break;
      case PathSegment::kSingle:
        if (segs[k].empty()) return false;
        break;
      case PathSegment::kMulti:
        return false;  // not reached: "**" is last
    }
  }
  if (raw != nullptr) {
    raw->clear();
    for (const PathVariable& v : e.path.variables) {
      const size_t end = (multi && static_cast<size_t>(v.end_segment) == n)
                             ? segs.size()
                             : static_cast<size_t>(v.end_segment);
      raw->push_back(absl::StrJoin(segs.begin() + v.first_segment, segs.begin() + end, "/"));
    }
  }
  return true;
}

Router::Result Router::Match(absl::string_view http_method, absl::string_view path) const {
  Result result;
  const std::vector<absl::string_view> segments = SplitPath(path);
  if (path.empty() || path[0] != '/') return result;
  const Entry* best = nullptr;
  std::vector<std::string> best_raw;
  std::vector<std::string> raw;
  for (const Entry& e : entries_) {
    if (!MatchEntry(e, segments, e.method == http_method ? &raw : nullptr)) continue;
    if (e.method != http_method) {
      result.allowed.push_back(e.method);
      continue;
    }
    const bool better =
        best == nullptr || e.path.LiteralCount() > best->path.LiteralCount() ||
        (e.path.LiteralCount() == best->path.LiteralCount() &&
         e.path.MultiCount() < best->path.MultiCount());
    if (better) {
      best = &e;
      best_raw = raw;
    }
  }
  if (best == nullptr) {
    if (!result.allowed.empty()) {
      std::sort(result.allowed.begin(), result.allowed.end());
      result.allowed.erase(std::unique(result.allowed.begin(), result.allowed.end()),
                           result.allowed.end());
      result.outcome = Outcome::kMethodNotAllowed;
    }
    return result;
  }
  result.allowed.clear();
  result.id = best->id;
  for (size_t i = 0; i < best_raw.size(); ++i) {
    const PathVariable& v = best->path.variables[i];
    auto decoded = PercentDecode(best_raw[i], /*keep_slash=*/!v.single_segment);
    if (!decoded.ok()) {
      result.outcome = Outcome::kBadPath;
      result.error = absl::StrCat(absl::StrJoin(v.field_path, "."), ": ", decoded.status().message());
      return result;
    }
    result.values.push_back(*std::move(decoded));
  }
  result.outcome = Outcome::kMatched;
  return result;
}

std::vector<std::string> Router::AllowedMethods(absl::string_view path) const {
  std::vector<std::string> out;
  const std::vector<absl::string_view> segments = SplitPath(path);
  if (path.empty() || path[0] != '/') return out;
  for (const Entry& e : entries_) {
    if (MatchEntry(e, segments, nullptr)) out.push_back(e.method);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace marketplace::gateway
