#!/usr/bin/env python3
"""Writes listings.tsv, the category model's training listings, from vocabulary.py.

One line per listing: family <TAB> language <TAB> title and description (raw text, not yet
folded; scripts/train_category_model.sh folds it with //services/catalog:fold_text) <TAB> the
index of the listing's product in the vocabulary's product list (for the held-out split by
product). For each
family and language, PER_CELL distinct listings: every product of the vocabulary at least once as
a bare title, then titles of a product and a detail, half of them followed by a short
description (a template of the language with a condition and a generic remark). Deterministic:
a fixed random seed and sorted output order, so running it twice writes the same file.

    python3 services/catalog/data/category_training/generate.py
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vocabulary as v  # noqa: E402

PER_CELL = 100
SEED = 20261205


def cell(rng, family, lang):
    words = v.VOCAB[family][lang]
    products, details = words[v.P], words[v.D]
    out, seen = [], set()

    def add(text, p):
        if text not in seen:
            seen.add(text)
            out.append((text, products.index(p)))

    for p in products:
        add(p[0].upper() + p[1:], p)
    attempts = 0
    while len(out) < PER_CELL and attempts < 100000:
        attempts += 1
        p, d = rng.choice(products), rng.choice(details)
        title = f"{p[0].upper()}{p[1:]} {d}" if rng.random() < 0.8 else f"{p[0].upper()}{p[1:]}"
        if rng.random() < 0.5:
            template = rng.choice(v.TEMPLATES[lang])
            description = template.format(p=p, d=rng.choice(details),
                                          c=rng.choice(v.CONDITIONS[lang]),
                                          e=rng.choice(v.EXTRAS[lang]))
            add(f"{title} {description}", p)
        else:
            add(title, p)
    if len(out) < PER_CELL:
        raise SystemExit(f"{family}/{lang}: only {len(out)} distinct listings")
    return out


def main():
    rng = random.Random(SEED)
    lines = []
    for family in v.FAMILIES:
        for lang in v.LANGUAGES:
            for text, product in cell(rng, family, lang):
                assert "\t" not in text and "\n" not in text
                lines.append(f"{family}\t{lang}\t{text}\t{product}")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "listings.tsv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{path}: {len(lines)} listings, {len(v.FAMILIES)} families x "
          f"{len(v.LANGUAGES)} languages x {PER_CELL}")


if __name__ == "__main__":
    main()
