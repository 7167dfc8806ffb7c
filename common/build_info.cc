// Defines the build commit for --version (common/version.h). Linked only into the service
// binaries, so that a new commit relinks those six and no test binary.
#include "common/build_commit.h"

extern "C" const char* MpBuildCommit() { return MP_BUILD_COMMIT; }
