#!/usr/bin/env python3
"""Parse-only throughput of Python feedparser on the documents written by benches/pipeline.rs.

Usage: feedparser_bench.py DIR [--limit N] [--repeat R]
Prints one JSON object: files, items, seconds (best of R), items_per_s, feedparser version.
"""
import argparse
import json
import os
import sys
import time

import feedparser


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--limit", type=int, default=0, help="parse only the first N files (sorted by name)")
    ap.add_argument("--repeat", type=int, default=1, help="runs; the fastest counts")
    a = ap.parse_args()
    names = sorted(n for n in os.listdir(a.dir) if n.endswith((".xml", ".atom", ".json")))
    if a.limit:
        names = names[: a.limit]
    if not names:
        print(f"no feed files in {a.dir}", file=sys.stderr)
        return 1
    docs = []
    for n in names:
        with open(os.path.join(a.dir, n), "rb") as f:
            docs.append(f.read())
    best, items = None, 0
    for _ in range(max(1, a.repeat)):
        count = 0
        t = time.perf_counter()
        for d in docs:
            count += len(feedparser.parse(d).entries)
        elapsed = time.perf_counter() - t
        items = count
        best = elapsed if best is None else min(best, elapsed)
    print(json.dumps({
        "files": len(docs),
        "bytes": sum(map(len, docs)),
        "items": items,
        "seconds": round(best, 3),
        "items_per_s": round(items / best, 1),
        "feedparser": feedparser.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
