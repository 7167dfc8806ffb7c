#ifndef MARKETPLACE_SERVICES_GATEWAY_ROUTER_H_
#define MARKETPLACE_SERVICES_GATEWAY_ROUTER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/gateway/path_template.h"

namespace marketplace::gateway {

// Matches (HTTP method, path) to the routes compiled from google.api.http rules.
//
// A path is matched as sent: it is split at '/', nothing is collapsed ("//" is an empty
// segment, ".." a segment like any other), literals compare with the raw segment, "*" matches
// one non-empty segment and "**" any number of segments (the rest of the path). A verb
// ":name" must end the last segment. When several routes of the method match, the one with
// more literal segments (the verb counting as one) wins, then the one without "**". Two
// routes of one method that could match the same request with the same precedence are a
// conflict: Add() refuses the second, naming both.
class Router {
 public:
  enum class Outcome { kMatched, kNotFound, kMethodNotAllowed, kBadPath };
  struct Result {
    Outcome outcome = Outcome::kNotFound;
    int id = -1;                      // the matched route's id
    std::vector<std::string> values;  // one decoded value per template variable, in order
    std::vector<std::string> allowed; // kMethodNotAllowed: the methods that match, sorted
    std::string error;                // kBadPath: what is wrong (bad percent-encoding)
  };

  // `name` identifies the route in conflict errors ("pkg.Service.Method"); `id` is returned
  // by Match.
  absl::Status Add(std::string http_method, PathTemplate path, std::string name, int id);

  // `path` without the query string.
  Result Match(absl::string_view http_method, absl::string_view path) const;

  // The methods of every route matching `path`, sorted (for Allow and CORS preflights).
  std::vector<std::string> AllowedMethods(absl::string_view path) const;

 private:
  struct Entry {
    std::string method;
    PathTemplate path;
    std::string name;
    int id;
  };
  // Whether `e` matches; fills the raw (still encoded) variable values.
  static bool MatchEntry(const Entry& e, const std::vector<absl::string_view>& segments,
                         std::vector<std::string>* raw);

  std::vector<Entry> entries_;
};

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_ROUTER_H_
