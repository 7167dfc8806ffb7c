// fold_text: FoldText over every line of standard input, one folded line out per line in (an
// empty line stays empty). Used by scripts/train_category_model.sh so that the category model
// is trained on text folded exactly as the service folds it.
//
//   fold_text < raw.txt > folded.txt
#include <iostream>
#include <string>

#include "services/catalog/text.h"

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::cout << marketplace::catalog::FoldText(line) << '\n';
  }
  return std::cout.good() ? 0 : 1;
}
