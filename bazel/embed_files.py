"""Writes a C++ source that embeds files as (name, content) pairs.

Usage: embed_files.py OUT.cc NAMESPACE FUNCTION FILE...
Defines `const std::vector<std::pair<std::string, std::string>>& NAMESPACE::FUNCTION()`,
listing the files in the given order by base name.
"""
import os
import sys


def main():
    out, namespace, function = sys.argv[1:4]
    files = sys.argv[4:]
    with open(out, "w") as f:
        f.write("#include <string>\n#include <utility>\n#include <vector>\n\n")
        f.write("namespace %s {\n\n" % namespace)
        f.write("const std::vector<std::pair<std::string, std::string>>& %s() {\n" % function)
        f.write("  static const auto* files = new std::vector<std::pair<std::string, std::string>>{\n")
        for path in files:
            with open(path, "rb") as src:
                data = src.read()
            literal = "".join("\\x%02x" % b for b in data)
            f.write('      {"%s", std::string("%s", %d)},\n'
                    % (os.path.basename(path), literal, len(data)))
        f.write("  };\n  return *files;\n}\n\n}  // namespace %s\n" % namespace)


if __name__ == "__main__":
    main()
