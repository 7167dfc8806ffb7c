#ifndef MARKETPLACE_COMMON_TEXT_H_
#define MARKETPLACE_COMMON_TEXT_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace marketplace::common {

// Unicode code points of valid UTF-8: what the protos' "N characters" count. A proto3 string
// field's parser refuses invalid UTF-8, so a request's text is valid by the time it is checked.
inline size_t CodePoints(absl::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;  // every byte but continuation bytes
  return n;
}

// The first `max` code points of valid UTF-8 `text` (all of it when it is shorter): a cut
// that never splits a character, for a column that holds `max` characters (a utf8mb4
// VARCHAR(max) counts characters; a byte cut could end inside one, which a strict server
// refuses as an incorrect string value).
inline absl::string_view PrefixCodePoints(absl::string_view text, size_t max) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (seen == max) return text.substr(0, i);
    ++seen;
  }
  return text;
}

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_TEXT_H_
