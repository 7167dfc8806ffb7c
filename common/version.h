#ifndef MARKETPLACE_COMMON_VERSION_H_
#define MARKETPLACE_COMMON_VERSION_H_

namespace marketplace::common {

// The release this tree builds (one number for every service).
inline constexpr char kVersion[] = "0.1.0";

// The git commit the binary was built from: "<40 hex>" or "<40 hex>-dirty" (uncommitted
// changes). It is embedded only in binaries that depend on //common:build_info and were built
// with tools/workspace_status.sh as Bazel's --workspace_status_command (tools/image/build.sh
// does); otherwise "unknown".
const char* BuildCommit();

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_VERSION_H_
