#ifndef MARKETPLACE_SERVICES_GATEWAY_PATH_TEMPLATE_H_
#define MARKETPLACE_SERVICES_GATEWAY_PATH_TEMPLATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketplace::gateway {

// A URL path template of google/api/http.proto:
//
//   Template = "/" Segments [ Verb ] ;
//   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   FieldPath = IDENT { "." IDENT } ;
//   Verb     = ":" LITERAL ;
//
// "**" (zero or more segments) may only be the last segment. `{x}` is `{x=*}`.
struct PathSegment {
  enum Kind { kLiteral, kSingle, kMulti };  // LITERAL, "*", "**"
  Kind kind = kLiteral;
  std::string literal;
};

struct PathVariable {
  std::vector<std::string> field_path;  // "account.name" -> {"account", "name"}
  int first_segment = 0;                // the segments [first_segment, end_segment) it covers
  int end_segment = 0;
  // One "*" segment: its value is fully percent-decoded. Otherwise "%2F"/"%2f" stay encoded.
  bool single_segment = false;
};

struct PathTemplate {
  std::string text;
  std::vector<PathSegment> segments;
  std::vector<PathVariable> variables;
  std::string verb;  // without ':'; empty: none

  int LiteralCount() const;  // literal segments, the verb counting as one
  int MultiCount() const;    // "**" segments (0 or 1)
};

// Parses `text`; an error names the template and the rule it breaks.
absl::StatusOr<PathTemplate> ParsePathTemplate(absl::string_view text);

// Whether some request path matches both templates (same verb, compatible segments).
bool TemplatesOverlap(const PathTemplate& a, const PathTemplate& b);

// Percent-decoding of a path variable's value. `keep_slash`: "%2F" and "%2f" stay as they are
// (multi-segment variables). A '%' not followed by two hex digits is an error.
absl::StatusOr<std::string> PercentDecode(absl::string_view in, bool keep_slash);

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_PATH_TEMPLATE_H_
