#include "services/identity/utf8.h"

#include <cstdint>

namespace marketplace::identity {
namespace {

// Decodes the code point at `text[*pos]`, advancing `*pos`; -1 when the sequence is invalid.
int32_t DecodeOne(absl::string_view text, size_t* pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(*pos);
  int length;
  int32_t cp;
  int32_t min;
  if (lead < 0x80) {
    ++*pos;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (*pos + length > text.size()) return -1;
  for (int i = 1; i < length; ++i) {
    const uint8_t next = byte(*pos + i);
    if ((next & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (next & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *pos += length;
  return cp;
}

}  // namespace

std::optional<int> CountCodePoints(absl::string_view text) {
  int count = 0;
  for (size_t pos = 0; pos < text.size();) {
    if (DecodeOne(text, &pos) < 0) return std::nullopt;
    ++count;
  }
  return count;
}

bool IsPrintableUtf8(absl::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const int32_t cp = DecodeOne(text, &pos);
    if (cp < 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
  }
  return true;
}

}  // namespace marketplace::identity
