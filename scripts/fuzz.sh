#!/usr/bin/env bash
# libFuzzer over the workflow loader, the expression parser and the vendor CSV parser.
#   scripts/fuzz.sh [SECONDS_EACH]   (default 60; CI runs the default)
# Seeds live in Fuzz/corpus/TARGET; new interesting inputs are kept in a scratch copy, not the repo.
# A crash leaves crash-* in the working folder: turn it into a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
TARGETS="FuzzWorkflowLoader FuzzExpression FuzzVendorCSV"
for t in $TARGETS; do
    FLOW_FUZZ=1 swift build -c release --sanitize=fuzzer --scratch-path .build-fuzz --product "$t" >&2
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in $TARGETS; do
    mkdir -p "$work/$t"
    cp Fuzz/corpus/$t/* "$work/$t/"
    echo "== $t for ${SECONDS_EACH}s"
    # -rss_limit_mb bounds memory per input; -timeout flags any input that takes over a second.
    # SWIFT_BACKTRACE=enable=no lets libFuzzer, not Swift's backtracer, catch a trap and save the input.
    status=0
    SWIFT_BACKTRACE=enable=no .build-fuzz/release/$t "$work/$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=512 \
        -timeout=1 -max_len=65536 -print_final_stats=1 -artifact_prefix="$PWD/fuzz-$t-" > "$work/$t.log" 2>&1 || status=$?
    grep -aE "^stat::number_of_executed_units|^stat::peak_rss_mb|ERROR|Test unit written" "$work/$t.log" || true
    if [ "$status" -ne 0 ]; then
        echo "fuzzing found a failing input in $t (saved as fuzz-$t-*): add it to Tests/Fixtures/fuzz-regressions and fix"
        exit 1
    fi
done
echo "fuzzing passed"
