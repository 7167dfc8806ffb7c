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

// The length of the valid UTF-8 sequence that starts at text[i] (1-4), or 0 when the bytes
// there are not one: a bad lead or continuation byte, a cut sequence, an overlong form, a
// surrogate (U+D800-U+DFFF) or a value above U+10FFFF.
inline size_t Utf8SequenceAt(absl::string_view text, size_t i) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  const size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return 0;
  }
  const unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
  if ((len == 2 && c < 0xc2) || (len == 3 && c == 0xe0 && c1 < 0xa0) ||
      (len == 3 && c == 0xed && c1 >= 0xa0) || (len == 4 && c == 0xf0 && c1 < 0x90) ||
      (len == 4 && (c > 0xf4 || (c == 0xf4 && c1 >= 0x90)))) {
    return 0;
  }
  return len;
}

// Whether `text` is valid UTF-8 (Utf8SequenceAt's rules: what protobuf accepts in a string).
inline bool IsValidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t len = Utf8SequenceAt(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
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
