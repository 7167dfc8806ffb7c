#include "services/gateway/path_template.h"

#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace marketplace::gateway {
namespace {

bool IsIdentChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

// Characters a LITERAL may hold: anything but the template's own punctuation.
bool IsLiteralChar(char c) {
  return c > 0x20 && c < 0x7f && c != '/' && c != '{' && c != '}' && c != '*' && c != '=' &&
         c != ':' && c != '?' && c != '#' && c != '%';
}

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<PathTemplate> Parse() {
    PathTemplate t;
    t.text = std::string(text_);
    if (text_.empty() || text_[0] != '/') return Error("must start with '/'");
    ++pos_;
    if (absl::Status s = Segments(t, /*in_variable=*/false); !s.ok()) return s;
    if (pos_ < text_.size() && text_[pos_] == ':') {
      ++pos_;
      const size_t start = pos_;
      while (pos_ < text_.size() && IsLiteralChar(text_[pos_])) ++pos_;
      if (pos_ == start) return Error("':' must be followed by a verb");
      t.verb = std::string(text_.substr(start, pos_ - start));
    }
    if (pos_ != text_.size()) return Error(absl::StrCat("unexpected '", text_.substr(pos_, 1), "'"));
    for (size_t i = 0; i < t.segments.size(); ++i) {
      if (t.segments[i].kind == PathSegment::kMulti && i + 1 != t.segments.size()) {
        return Error("'**' must be the last segment");
      }
    }
    std::set<std::string> seen;
    for (const PathVariable& v : t.variables) {
      if (!seen.insert(absl::StrJoin(v.field_path, ".")).second) {
        return Error(absl::StrCat("field '", absl::StrJoin(v.field_path, "."),
                                  "' is bound twice"));
      }
    }
    return t;
  }

 private:
  absl::Status Error(absl::string_view rule) const {
    return absl::InvalidArgumentError(
        absl::StrCat("path template \"", text_, "\": ", rule, " (at offset ", pos_, ")"));
  }

  absl::Status Segments(PathTemplate& t, bool in_variable) {
    while (true) {
      if (absl::Status s = Segment(t, in_variable); !s.ok()) return s;
      if (pos_ < text_.size() && text_[pos_] == '/') {
        ++pos_;
        continue;
      }
      return absl::OkStatus();
    }
  }

  absl::Status Segment(PathTemplate& t, bool in_variable) {
    if (pos_ >= text_.size()) return Error("a segment is missing");
    const char c = text_[pos_];
    if (c == '*') {
      ++pos_;
      PathSegment s;
      s.kind = PathSegment::kSingle;
      if (pos_ < text_.size() && text_[pos_] == '*') {
        ++pos_;
        s.kind = PathSegment::kMulti;
      }
      t.segments.push_back(std::move(s));
      return absl::OkStatus();
    }
    if (c == '{') {
      if (in_variable) return Error("variables cannot nest");
      ++pos_;
      PathVariable v;
      while (true) {
        const size_t start = pos_;
        while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
        if (pos_ == start) return Error("a variable needs a field path");
        v.field_path.emplace_back(text_.substr(start, pos_ - start));
        if (pos_ < text_.size() && text_[pos_] == '.') {
          ++pos_;
          continue;
        }
        break;
      }
      v.first_segment = static_cast<int>(t.segments.size());
      if (pos_ < text_.size() && text_[pos_] == '=') {
        ++pos_;
        if (absl::Status s = Segments(t, /*in_variable=*/true); !s.ok()) return s;
      } else {
        t.segments.push_back({PathSegment::kSingle, ""});
      }
      if (pos_ >= text_.size() || text_[pos_] != '}') return Error("'}' expected");
      ++pos_;
      v.end_segment = static_cast<int>(t.segments.size());
      v.single_segment = v.end_segment - v.first_segment == 1 &&
                         t.segments[v.first_segment].kind == PathSegment::kSingle;
      t.variables.push_back(std::move(v));
      return absl::OkStatus();
    }
    const size_t start = pos_;
    while (pos_ < text_.size() && IsLiteralChar(text_[pos_])) ++pos_;
    if (pos_ == start) return Error("a segment is missing or has a character it may not hold");
    t.segments.push_back({PathSegment::kLiteral, std::string(text_.substr(start, pos_ - start))});
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Can segments a[i..] and b[j..] match one common sequence of non-empty segments?
bool Overlap(const std::vector<PathSegment>& a, size_t i, const std::vector<PathSegment>& b,
             size_t j, std::set<std::pair<size_t, size_t>>& failed) {
  if (failed.count({i, j})) return false;
  const bool a_end = i == a.size();
  const bool b_end = j == b.size();
  bool ok = false;
  if (a_end && b_end) return true;
  if (!a_end && a[i].kind == PathSegment::kMulti) {
    ok = Overlap(a, i + 1, b, j, failed) ||                      // "**" matches nothing more
         (!b_end && b[j].kind != PathSegment::kMulti && Overlap(a, i, b, j + 1, failed));
  } else if (!b_end && b[j].kind == PathSegment::kMulti) {
    ok = Overlap(a, i, b, j + 1, failed) || (!a_end && Overlap(a, i + 1, b, j, failed));
  } else if (!a_end && !b_end) {
    const bool compatible = a[i].kind != PathSegment::kLiteral ||
                            b[j].kind != PathSegment::kLiteral || a[i].literal == b[j].literal;
    ok = compatible && Overlap(a, i + 1, b, j + 1, failed);
  }
  if (!ok) failed.insert({i, j});
  return ok;
}

}  // namespace

int PathTemplate::LiteralCount() const {
  int n = verb.empty() ? 0 : 1;
  for (const PathSegment& s : segments) n += s.kind == PathSegment::kLiteral ? 1 : 0;
  return n;
}

int PathTemplate::MultiCount() const {
  int n = 0;
  for (const PathSegment& s : segments) n += s.kind == PathSegment::kMulti ? 1 : 0;
  return n;
}

absl::StatusOr<PathTemplate> ParsePathTemplate(absl::string_view text) {
  return Parser(text).Parse();
}

bool TemplatesOverlap(const PathTemplate& a, const PathTemplate& b) {
  if (a.verb != b.verb) return false;
  std::set<std::pair<size_t, size_t>> failed;
  return Overlap(a.segments, 0, b.segments, 0, failed);
}

absl::StatusOr<std::string> PercentDecode(absl::string_view in, bool keep_slash) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) {
      return absl::InvalidArgumentError("a '%' must be followed by two hex digits");
    }
    const int h = HexValue(in[i + 1]);
    const int l = HexValue(in[i + 2]);
    if (h < 0 || l < 0) return absl::InvalidArgumentError("a '%' must be followed by two hex digits");
    const char c = static_cast<char>(h * 16 + l);
    if (keep_slash && c == '/') {
      out.append(in.data() + i, 3);
    } else {
      out.push_back(c);
    }
    i += 2;
  }
  return out;
}

}  // namespace marketplace::gateway
