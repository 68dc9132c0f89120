#!/usr/bin/env bash
# Article extraction, pantau against Python trafilatura on the same pages in one run: quality
# (F1, precision, recall with the data set's metric) and speed (pages/s, one thread each).
# trafilatura is installed from PyPI into a throwaway venv under the target directory.
#
#   scripts/bench-articles.sh [--data DIR] [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
data="${PANTAU_ARTICLES:-$PWD/../shared/articles}" repeat=5
while (($#)); do
    case "$1" in
        --data) data="$2"; shift ;;
        --repeat) repeat="$2"; shift ;;
        *) echo "bench-articles.sh: unknown flag $1" >&2; exit 2 ;;
    esac
    shift
done
[[ -f "$data/ground-truth.json" ]] || { echo "bench-articles.sh: no article data set at $data" >&2; exit 1; }
out="$CARGO_TARGET_DIR/bench"; mkdir -p "$out"
cargo bench --bench articles -- --data "$data" --repeat "$repeat" --results "$out/articles.txt"
venv="$CARGO_TARGET_DIR/bench-venv-trafilatura"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "bench-articles.sh: creating $venv with trafilatura" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet trafilatura lxml_html_clean
fi
line=$("$venv/bin/python" scripts/bench/trafilatura_bench.py "$data" --repeat "$repeat")
get() { sed -n "s/^$1=//p" "$out/articles.txt" | head -n1; }
py() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$line" "$1"; }
echo
echo "| extractor | F1 | precision | recall | pages/s (1 thread) |"
echo "|---|---|---|---|---|"
echo "| pantau | $(get f1) | $(get precision) | $(get recall) | $(get pages_per_s) |"
echo "| trafilatura $(py version) (Python) | $(py f1) | $(py precision) | $(py recall) | $(py pages_per_s) |"
echo
python3 -c "print(f'speed-up: {float(\"$(get pages_per_s)\") / float(\"$(py pages_per_s)\"):.1f}× (target ≥ 20×)')"
echo "machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
