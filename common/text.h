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

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_TEXT_H_
