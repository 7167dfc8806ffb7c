#ifndef MARKETPLACE_SERVICES_IDENTITY_UTF8_H_
#define MARKETPLACE_SERVICES_IDENTITY_UTF8_H_

#include <optional>

#include "absl/strings/string_view.h"

namespace marketplace::identity {

// The number of Unicode code points in `text`, or nullopt when it is not valid UTF-8
// (overlong forms, surrogates and values above U+10FFFF are invalid).
std::optional<int> CountCodePoints(absl::string_view text);

// True when `text` is valid UTF-8 and has no C0/C1 control characters or DEL.
bool IsPrintableUtf8(absl::string_view text);

}  // namespace marketplace::identity

#endif  // MARKETPLACE_SERVICES_IDENTITY_UTF8_H_
