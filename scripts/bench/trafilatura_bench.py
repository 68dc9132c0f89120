#!/usr/bin/env python3
"""Python trafilatura on the article data set, scored and timed like benches/articles.rs.

Usage: trafilatura_bench.py DIR [--repeat R]
Prints one JSON object: pages, f1, precision, recall, seconds (best of R), pages_per_s, version.
"""
import argparse
import collections
import gzip
import json
import os
import re
import sys
import time

import trafilatura


def shingles(text):
    tokens = re.findall(r"\w+", text)
    return collections.Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    truth = json.load(open(os.path.join(a.dir, "ground-truth.json"), encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        with gzip.open(os.path.join(a.dir, "html", key + ".html.gz")) as f:
            pages.append((key, f.read(), truth[key]["articleBody"]))
    best = float("inf")
    texts = {}
    for _ in range(max(1, a.repeat)):
        started = time.perf_counter()
        for key, html, _ in pages:
            texts[key] = trafilatura.extract(html) or ""
        best = min(best, time.perf_counter() - started)
    precisions, recalls = [], []
    for key, _, body in pages:
        got, want = shingles(texts[key]), shingles(body)
        tp = sum((got & want).values())
        fp = sum((got - want).values())
        fn = sum((want - got).values())
        total = tp + fp + fn
        if total == 0:
            precisions.append(1.0)
            continue
        if tp + fp:
            precisions.append(tp / (tp + fp))
        if tp + fn:
            recalls.append(tp / (tp + fn))
    p = sum(precisions) / len(precisions)
    r = sum(recalls) / len(recalls)
    print(json.dumps({
        "pages": len(pages), "f1": round(2 * p * r / (p + r), 4), "precision": round(p, 4), "recall": round(r, 4),
        "seconds": round(best, 4), "pages_per_s": round(len(pages) / best, 1), "version": trafilatura.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
