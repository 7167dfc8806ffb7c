#!/usr/bin/env bash
# Trains the catalog's category model (services/catalog/README.md "Category model") from the
# training listings in services/catalog/data/category_training/listings.tsv and writes
# services/catalog/data/category_model.ftz. Reproducible: one thread, a fixed seed and fixed
# hyperparameters, so running it twice writes the same bytes (the script prints the digest).
#
#   bash scripts/train_category_model.sh            # evaluate on a 10 % split, then train and write
#   bash scripts/train_category_model.sh --check    # the same, but only compare with the committed file
#
# Steps: (1) fold every listing's text with //services/catalog:fold_text (the service's own
# FoldText, so the model sees exactly the words the service will give it); (2) hold out every
# tenth listing (10 per family and language) and train on the rest, quantize, and print the
# held-out accuracy (precision@1) per family and overall; (2b) the same with every tenth
# PRODUCT of the vocabulary held out (a harder test: those product names were never seen in
# training, only the words they share with others); (3) train on every listing with the same
# settings, quantize, and write the model file. The random split shares the generated
# vocabulary with the training part, so its figure is optimistic; the product split is closer
# to what a listing written by someone else will meet.
# Tools: fasttext (Debian package fasttext), bazel, awk, sha256sum.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
[ "${1:-}" = "--check" ] && check=1

DATA=services/catalog/data/category_training/listings.tsv
MODEL=services/catalog/data/category_model.ftz
# Hyperparameters (fixed; change them here and retrain).
TRAIN_ARGS=(-thread 1 -seed 1 -epoch 30 -lr 0.5 -dim 32 -wordNgrams 2 -minn 3 -maxn 5
            -bucket 200000 -minCount 1 -loss softmax -verbose 0)
QUANTIZE_ARGS=(-thread 1 -seed 1 -qnorm -dsub 2 -cutoff 50000 -retrain -epoch 30 -lr 0.5
               -verbose 0)

command -v fasttext >/dev/null || { echo "fasttext (Debian package fasttext) is needed"; exit 1; }
bazel build -c opt //services/catalog:fold_text >/dev/null 2>&1 ||
  { bazel build -c opt //services/catalog:fold_text; exit 1; }
FOLD=bazel-bin/services/catalog/fold_text

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# __label__<family> <folded text>, in the file's order.
cut -f1 "$DATA" >"$work/labels"
cut -f3 "$DATA" | "$FOLD" >"$work/folded"
paste -d' ' <(sed 's/^/__label__/' "$work/labels") "$work/folded" >"$work/all.txt"
cut -f4 "$DATA" | paste -d' ' - "$work/all.txt" >"$work/by_product"
awk 'NR % 10 == 0' "$work/all.txt" >"$work/heldout.txt"
awk 'NR % 10 != 0' "$work/all.txt" >"$work/train.txt"
awk '$1 % 10 == 9 { $1 = ""; sub(/^ /, ""); print }' "$work/by_product" >"$work/heldout_products.txt"
awk '$1 % 10 != 9 { $1 = ""; sub(/^ /, ""); print }' "$work/by_product" >"$work/train_products.txt"
echo "listings: $(wc -l <"$work/all.txt")"

train() {  # train <input> <output prefix>: writes <prefix>.ftz
  fasttext supervised -input "$1" -output "$2" "${TRAIN_ARGS[@]}"
  fasttext quantize -input "$1" -output "$2" "${QUANTIZE_ARGS[@]}"
}

evaluate() {  # evaluate <train> <held out> <title>: trains on one, prints accuracy on the other
  train "$1" "$work/split"
  fasttext test "$work/split.ftz" "$2" 1 |
    awk -v title="$3" -v n="$(wc -l <"$2")" \
      '/^P@1/ {printf "held-out accuracy, %s (%d listings, precision@1): %.4f\n", title, n, $2}'
  fasttext predict "$work/split.ftz" "$2" 1 >"$work/predicted"
  cut -d' ' -f1 "$2" | paste -d' ' - "$work/predicted" |
    awk '{ f = substr($1, 10); n[f]++; if ($1 == $2) ok[f]++; else miss[f] = miss[f] " " substr($2, 10) }
         END { for (f in n) printf "  %-13s %3d/%3d%s\n", f, ok[f], n[f], (f in miss) ? "  (taken for:" miss[f] ")" : "" }' |
    sort
}

# 1. Held-out accuracy of models trained without the held-out part.
evaluate "$work/train.txt" "$work/heldout.txt" "10 % split of the listings"
evaluate "$work/train_products.txt" "$work/heldout_products.txt" "unseen products"

# 2. The model the service loads: every listing, same settings.
train "$work/all.txt" "$work/final"
size=$(stat -c %s "$work/final.ftz")
digest=$(sha256sum "$work/final.ftz" | cut -c1-16)
echo "model: $size bytes, sha256 $digest..."
[ "$size" -lt 2000000 ] || { echo "model over 2 MB"; exit 1; }
if [ "$check" = 1 ]; then
  if cmp -s "$work/final.ftz" "$MODEL"; then
    echo "same bytes as $MODEL"
  else
    echo "DIFFERS from $MODEL (sha256 $(sha256sum "$MODEL" | cut -c1-16)...)"; exit 1
  fi
else
  cp "$work/final.ftz" "$MODEL"
  echo "wrote $MODEL"
fi
