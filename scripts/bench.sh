#!/usr/bin/env bash
# Whole-pipeline benchmark: builds the release binary once, runs benches/pipeline/ against it
# (feeds and webhook receiver on 127.0.0.1 only), and with --compare also measures Python
# feedparser parse-only on the same generated documents (in a throwaway venv under the target
# directory). Prints a markdown table with the machine.
#
#   scripts/bench.sh                                   # 10,000 feeds, 1,000 rules, 5 min idle wait
#   scripts/bench.sh --feeds 500 --rules 100 --idle-wait 30s
#   scripts/bench.sh --compare --skip-idle             # add feedparser
#   scripts/bench.sh --feeds 2000 --skip-idle --articles   # add the article stage (fetch_article)
#   scripts/bench.sh --postgres --feeds 1000 --rules 200   # SQLite vs PostgreSQL, 1 and 3 nodes
#
# Own flags: --compare, --compare-files K (feedparser parses the first K documents; default 200),
# --no-build, --postgres [URL]. Every other flag goes to the bench (run with --help to list them).
#
# --postgres [URL] runs the bench three times on the same feeds and rules: SQLite with one node,
# PostgreSQL with one node, PostgreSQL with three nodes (`pantau run --node nK` daemons sharing
# one database), each until every feed was polled once and every alert delivered; the one-node
# runs also run the three `once` cycles. The in-process ingest and the idle daemon are left out
# (measure them without --postgres). The server is URL, else $PANTAU_TEST_PG, else one started
# with scripts/postgres.sh for the run; the bench creates and drops a fresh database for each
# measurement, so the role must be allowed to CREATE DATABASE.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

compare=0 compare_files=200 build=1 bench_args=() postgres=0 pg_url=""
while (($#)); do
    case "$1" in
        --compare) compare=1 ;;
        --compare-files) compare_files="$2"; shift ;;
        --no-build) build=0 ;;
        --postgres)
            postgres=1
            if (($# > 1)) && [[ $2 != --* ]]; then pg_url=$2; shift; fi
            ;;
        --postgres=*) postgres=1 pg_url=${1#--postgres=} ;;
        *) bench_args+=("$1") ;;
    esac
    shift
done

out="$CARGO_TARGET_DIR/bench"
mkdir -p "$out"
results="$out/results.txt"
feeds_dir="$out/feeds"
rm -f "$results"

if ((build)); then
    echo "bench.sh: cargo build --release (once)" >&2
    cargo build --release --bin pantau
fi
bin="$CARGO_TARGET_DIR/release/pantau"
[[ -x "$bin" ]] || { echo "bench.sh: no binary at $bin" >&2; exit 1; }

if ((postgres)); then
    for a in "${bench_args[@]}"; do
        case "$a" in
            --articles | --postgres* | --nodes* | --results* | --workdir*)
                echo "bench.sh: $a cannot be combined with --postgres" >&2; exit 2 ;;
        esac
    done
    ((compare)) && { echo "bench.sh: --compare cannot be combined with --postgres" >&2; exit 2; }
    pg_url=${pg_url:-${PANTAU_TEST_PG:-}}
    if [[ -z $pg_url ]]; then
        echo "bench.sh: no PostgreSQL URL given and PANTAU_TEST_PG unset: starting one (scripts/postgres.sh)" >&2
        env=$(scripts/postgres.sh start) && eval "$env"
        if [[ -n ${PANTAU_PG_PID:-} ]]; then
            trap 'scripts/postgres.sh stop "$PANTAU_PG_PID" >/dev/null 2>&1 || true' EXIT
        fi
        pg_url=${PANTAU_TEST_PG:-}
        [[ -n $pg_url ]] || { echo "bench.sh: no PostgreSQL server could be started" >&2; exit 1; }
    fi
    runs=(sqlite pg1 pg3)
    declare -A run_title=([sqlite]="SQLite, 1 node" [pg1]="PostgreSQL, 1 node" [pg3]="PostgreSQL, 3 nodes")
    for r in "${runs[@]}"; do
        echo "bench.sh: ${run_title[$r]}" >&2
        rm -f "$out/results-$r.txt"
        # The URL goes in the environment (PANTAU_BENCH_POSTGRES), out of command lines.
        url="" this=(--nodes 1)
        case $r in
            pg1) url=$pg_url ;;
            pg3) url=$pg_url this=(--nodes 3 --skip-cycles) ;;
        esac
        PANTAU_BENCH_POSTGRES=$url cargo bench --bench pipeline -- --pantau "$bin" --results "$out/results-$r.txt" \
            --workdir "$out/work-$r" --skip-ingest --skip-idle "${bench_args[@]}" "${this[@]}"
    done
    getr() { sed -n "s/^$2=//p" "$out/results-$1.txt" | head -n1; }
    # One row: the title, then a printf format applied to the keys' values in each run ("—"
    # where a key is missing).
    rowr() {
        local title=$1 fmt=$2 line r k v ok
        shift 2
        line="| $title |"
        for r in "${runs[@]}"; do
            local vals=() ok=1
            for k; do
                v=$(getr "$r" "$k")
                [[ -n $v ]] || ok=0
                vals+=("$v")
            done
            if ((ok)); then
                # shellcheck disable=SC2059 # the format is the caller's
                line+=" $(printf "$fmt" "${vals[@]}") |"
            else
                line+=" — |"
            fi
        done
        echo "$line"
    }
    echo
    echo "## pantau on SQLite and PostgreSQL, one and three nodes"
    echo
    echo "machine: $(getr sqlite machine_cores) cores ($(getr sqlite machine_cpu)), $(getr sqlite machine_ram) RAM, PostgreSQL on the same machine; $(getr sqlite feeds) feeds, $(getr sqlite rules) rules, $(getr sqlite items) items; [daemon] concurrency $(getr sqlite concurrency), per_host $(getr sqlite per_host) (all feeds on one host; on PostgreSQL per_host holds across the nodes); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo
    echo "| figure | ${run_title[sqlite]} | ${run_title[pg1]} | ${run_title[pg3]} |"
    echo "|---|---|---|---|"
    rowr "\`run\` until every feed was polled once and every alert delivered" "%s s" nodes_wall_s
    rowr "items/s (feeds/s)" "%s (%s)" nodes_items_per_s nodes_feeds_per_s
    rowr "pantau CPU per item, all nodes (total)" "%s µs (%s s)" nodes_cpu_us_per_item nodes_cpu_s
    rowr "PostgreSQL server CPU per item (total)" "%s µs (%s s)" nodes_pg_cpu_us_per_item nodes_pg_cpu_s
    rowr "pantau + PostgreSQL CPU per item" "%s µs" nodes_total_cpu_us_per_item
    rowr "PostgreSQL transactions per poll" "%s" nodes_pg_transactions_per_poll
    rowr "polls per node (most / fewest; target ≤ 1.5)" "%s (%s)" nodes_polls nodes_spread
    rowr "polls beyond one per feed" "%s" nodes_duplicate_polls
    rowr "items stored / alerts queued / delivered / distinct" "%s / %s / %s / %s" nodes_new_items nodes_alerts_queued nodes_alerts_delivered nodes_alerts_unique
    rowr "leases taken on the sink (per node)" "%s" nodes_leases_sink
    rowr "peak RSS of a node" "%s MB" nodes_peak_rss_mb
    rowr "WARN / ERROR lines in the nodes' logs" "%s / %s" nodes_warnings nodes_errors
    rowr "\`once\` cycle 1, all new: wall (items/s)" "%s s (%s)" cycle1_wall_s cycle1_items_per_s
    rowr "\`once\` cycle 2, all 304: wall" "%s s" cycle2_wall_s
    rowr "\`once\` cycle 3, a few feeds changed: wall" "%s s" cycle3_wall_s
    echo
    echo "(raw figures: $out/results-{sqlite,pg1,pg3}.txt; pantau logs: $out/work-*/nodes)"
    exit 0
fi

extra=(--pantau "$bin" --results "$results" --workdir "$out/work")
((compare)) && extra+=(--write-feeds "$feeds_dir")
cargo bench --bench pipeline -- "${extra[@]}" "${bench_args[@]}"

get() { sed -n "s/^$1=//p" "$results" | head -n1; }

fp_ips="" fp_line=""
if ((compare)); then
    venv="$CARGO_TARGET_DIR/bench-venv"
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "bench.sh: creating $venv with feedparser" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet feedparser
    fi
    echo "bench.sh: feedparser parse-only on the first $compare_files documents of $feeds_dir" >&2
    fp_line=$("$venv/bin/python" scripts/bench/feedparser_bench.py "$feeds_dir" --limit "$compare_files")
    fp_ips=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["items_per_s"])' "$fp_line")
    echo "bench.sh: feedparser: $fp_line" >&2
fi

# The summary table.
cpu=$(get machine_cpu); cores=$(get machine_cores); ram=$(get machine_ram)
[[ -n "$cpu" ]] || cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
[[ -n "$cores" ]] || cores=$(nproc)
echo
echo "## pantau benchmark summary"
echo
echo "machine: $cores cores ($cpu), $ram RAM; $(get feeds) feeds, $(get rules) rules, $(get items) items; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
echo "| figure | value | target |"
echo "|---|---|---|"
row() { [[ -n "$2" ]] && echo "| $1 | $2 | $3 |"; return 0; }
have() { local k; for k; do [[ -n "$(get "$k")" ]] || return 1; done; }
have cycle1_wall_s && row "cycle 1 (all new): wall" "$(get cycle1_wall_s) s" "≤ 10 s"
have cycle1_items_per_s && row "cycle 1: items/s" "$(get cycle1_items_per_s)" ""
have cycle1_peak_rss_mb && row "cycle 1: peak RSS" "$(get cycle1_peak_rss_mb) MB" "≤ 150 MB"
have cycle1_cpu_user_s cycle1_cpu_sys_s && row "cycle 1: CPU user / sys" "$(get cycle1_cpu_user_s) s / $(get cycle1_cpu_sys_s) s" ""
have cycle1_alerts cycle1_delivery_s && row "cycle 1: alerts delivered (delivery phase)" "$(get cycle1_alerts) ($(get cycle1_delivery_s) s)" ""
have cycle2_wall_s && row "cycle 2 (all 304): wall" "$(get cycle2_wall_s) s" "≤ 2 s"
have cycle3_wall_s && row "cycle 3 ($(get cycle3_changed_feeds) feeds changed): wall" "$(get cycle3_wall_s) s" ""
have cycle3_new_items cycle3_alerts && row "cycle 3: new items / alerts" "$(get cycle3_new_items) / $(get cycle3_alerts)" ""
have ingest_items_per_s && row "ingest in-process (parse+match+store), 1 thread" "$(get ingest_items_per_s) items/s" "≥ feed-rs / 2, ≥ 40× feedparser"
have ingest_parse_pct ingest_match_pct ingest_store_pct && row "  parse / match / store share" "$(get ingest_parse_pct)% / $(get ingest_match_pct)% / $(get ingest_store_pct)%" ""
have pantau_parse_items_per_s && row "pantau parse-only, 1 thread" "$(get pantau_parse_items_per_s) items/s" ""
have feed_rs_items_per_s && row "feed-rs parse-only, 1 thread" "$(get feed_rs_items_per_s) items/s" ""
if [[ -n "$fp_ips" ]]; then
    row "feedparser parse-only ($compare_files docs)" "$fp_ips items/s" ""
    ing=$(get ingest_items_per_s)
    [[ -n "$ing" ]] && row "ingest / feedparser" "$(python3 -c "print(f'{$ing/$fp_ips:.1f}×')")" "≥ 40×"
fi
frs=$(get feed_rs_items_per_s); ing=$(get ingest_items_per_s)
[[ -n "$frs" && -n "$ing" ]] && row "ingest / feed-rs" "$(python3 -c "print(f'{$ing/$frs:.2f}×')")" "≥ 0.5×"
if have articles_pages; then
    row "articles: $(get articles_feeds) feeds with fetch_article ($(get articles_items) items): pages read / 404 / failures" "$(get articles_pages) ($(get articles_page_kb) KB each) / $(get articles_pages_missing) / $(get articles_failures)" ""
    have articles_plain_wall_s articles_once_wall_s && row "  \`once\` wall without / with fetch_article" "$(get articles_plain_wall_s) s / $(get articles_once_wall_s) s" ""
    have articles_plain_cpu_s articles_once_cpu_s && row "  \`once\` CPU user+sys without / with" "$(get articles_plain_cpu_s) s / $(get articles_once_cpu_s) s" ""
    have articles_cpu_us_per_item && row "  added CPU per article item" "$(get articles_cpu_us_per_item) µs" ""
    have articles_alerts_plain articles_alerts articles_only_alerts && row "  alerts without / with (on article-only words)" "$(get articles_alerts_plain) / $(get articles_alerts) ($(get articles_only_alerts))" ""
    have articles_alert_latency_p50_ms articles_alert_latency_p95_ms && row "  \`run\`: poll → webhook p50 / p95, article items" "$(get articles_alert_latency_p50_ms) ms / $(get articles_alert_latency_p95_ms) ms ($(get articles_alert_latency_n) alerts)" ""
    have feed_only_alert_latency_p50_ms feed_only_alert_latency_p95_ms && row "  \`run\`: poll → webhook p50 / p95, feed-only items" "$(get feed_only_alert_latency_p50_ms) ms / $(get feed_only_alert_latency_p95_ms) ms ($(get feed_only_alert_latency_n) alerts)" ""
    have articles_match_latency_p50_ms articles_match_latency_p95_ms && row "  \`run\`: poll → rule matched p50 / p95, article items" "$(get articles_match_latency_p50_ms) ms / $(get articles_match_latency_p95_ms) ms" ""
    have feed_only_match_latency_p50_ms feed_only_match_latency_p95_ms && row "  \`run\`: poll → rule matched p50 / p95, feed-only items" "$(get feed_only_match_latency_p50_ms) ms / $(get feed_only_match_latency_p95_ms) ms" ""
fi
have idle_rss_mb && row "idle run RSS" "$(get idle_rss_mb) MB" "≤ 15 MB"
have idle_anon_mb idle_file_mb && row "idle run: anonymous / file-backed" "$(get idle_anon_mb) MB / $(get idle_file_mb) MB" ""
echo
echo "(raw figures: $results; pantau logs: $out/work)"
