# Sourced by the benchmark scripts: `flow` is the binary given as the first argument, or a release build
# with the static Swift runtime made now (what users run, and what the numbers in PERFORMANCE.md measure).
if [ $# -ge 1 ]; then flow=$(realpath "$1"); else
    swift build -c release --static-swift-stdlib --product flow >&2
    flow="$PWD/.build/release/flow"
fi
