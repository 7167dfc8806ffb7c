#include "services/gateway/fuzz/seeds.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace marketplace::gateway {

std::vector<std::string> SeedsFromGoldenFiles(const std::string& dir, const std::string& kind) {
  std::vector<std::string> files;
  if (!std::filesystem::exists(dir)) return {};
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> seeds;
  for (const std::string& file : files) {
    std::ifstream in(file);
    std::string header, marker, request_line, body;
    // "# <name> (binding N)", "# HTTP request", the request line, the body line.
    if (!std::getline(in, header) || !std::getline(in, marker) ||
        !std::getline(in, request_line) || !std::getline(in, body)) {
      continue;
    }
    if (kind == "router") {
      seeds.push_back(request_line);
    } else if (!body.empty()) {
      const size_t space = header.find(' ', 2);
      seeds.push_back(header.substr(2, space - 2) + "\n" + body);
    }
  }
  return seeds;
}

}  // namespace marketplace::gateway
