#!/usr/bin/env bash
# flow's own instructions per task and at start-up, counted by valgrind's callgrind: unlike times, these are the
# same from run to run on a shared machine, so a change of a few percent shows. Children (the shells) are not
# counted. Needs valgrind (apt-get install valgrind). Usage: Benchmarks/instructions.sh [FLOW_BINARY]
#
# callgrind runs a copy without DWARF (valgrind 3.19 cannot read the Swift 6.3 toolchain's debug info); its
# symbol table stays, so `callgrind_annotate` on the kept output names functions.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install -y valgrind" >&2; exit 1; }
if [ $# -ge 1 ]; then
    flow=$(realpath "$1")
else
    swift build -c release --static-swift-stdlib --product flow >&2
    flow="$PWD/.build/release/flow"
fi
work=$(mktemp -d /tmp/flow-instructions-XXXXXX)
trap '[ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"' EXIT
strip --strip-debug -o "$work/flow" "$flow"
mkdir -p "$work/workflows"
workflow() {  # NAME TASKS CHAIN(0|1)
    {
        echo "name: $1"
        echo "max_parallel: 2"
        echo "tasks:"
        for i in $(seq 0 $(($2 - 1))); do
            printf '  t%d:\n' "$i"
            if [ "$3" = 1 ] && [ "$i" -gt 0 ]; then printf '    needs: [t%d]\n' $((i - 1)); fi
            printf '    run: "true"\n'
        done
    } > "$work/workflows/$1.yaml"
}
workflow one 1 0
workflow chain 200 1
workflow independent 1000 0
count() {  # WORKFLOW -> instructions of one `flow run WORKFLOW --fresh`
    (cd "$work" && valgrind --tool=callgrind --callgrind-out-file="$work/$1.callgrind" "$work/flow" run "$1" --fresh \
        >/dev/null 2>"$work/$1.err") || { cat "$work/$1.err" >&2; exit 1; }
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/$1.err"
}
(cd "$work" && "$work/flow" run one >/dev/null)   # creates the state database, so every count below finds one
one=$(count one)
chain=$(count chain)
independent=$(count independent)
echo "| measurement | instructions |"
echo "|---|---:|"
echo "| start-up and tear-down (one-task run) | $one |"
echo "| per task, 200-task chain | $(( (chain - one) / 199 )) |"
echo "| per task, 1,000 independent tasks (-j2) | $(( (independent - one) / 999 )) |"
