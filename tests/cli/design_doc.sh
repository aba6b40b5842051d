#!/usr/bin/env bash
# design_doc.sh — DESIGN.md and the code must say the same thing.  Reads
# both sides every time, so a pattern, JSON field, metric, annotation, Event
# reason or command added on one side only fails here:
#   - the pattern vocabulary and each first fix: the table in
#     pkg/analysis/lwa_pattern.c against DESIGN.md's patterns table (and the
#     table's size against the lwa_pattern enum, so a parse that finds
#     nothing on both sides fails too);
#   - the JSON fields that `inspect`, `diff` and `analyze --json` print on
#     the recorded fixtures, against DESIGN.md's field tables, both ways;
#   - metric names registered in the code, annotations read by
#     pkg/kube/kube_pods.c, Event reasons, and the subcommands' exit codes.
# Not for: whether the values are right (analysis_cli.sh and friends).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/cli/lib.sh"
DOC=$ROOT/DESIGN.md
FIX=$ROOT/tests/fixtures
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lw-design-doc.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

check "DESIGN.md exists" test -s "$DOC"
check "README.md points to DESIGN.md" grep -q 'DESIGN\.md' "$ROOT/README.md"

# Rows of the table between <!-- NAME:begin --> and <!-- NAME:end -->.
doc_rows() { sed -n "/<!-- $1:begin -->/,/<!-- $1:end -->/p" "$DOC" | grep '^| `'; }
# First column of those rows, without backticks.
doc_keys() { doc_rows "$1" | awk -F' \\| ' '{ k = $1; sub(/^\| /, "", k); gsub(/`/, "", k); print k }' | sort; }
same() { # description, expected-file, actual-file
  if cmp -s "$2" "$3"; then ok "$1"; else nok "$1"; diff -u --label code "$2" --label DESIGN.md "$3" | sed 's/^/    /'; fi
}

# --- pattern vocabulary --------------------------------------------------------
# The C table as "name|fix": string literals that C concatenates are joined.
sed -n '/patterns\[LWA_PATTERN_COUNT\] = {/,/^};/p' "$ROOT/pkg/analysis/lwa_pattern.c" |
  tr '\n' ' ' | sed -e 's/"[[:space:]]*"//g' |
  grep -oE '\{"[^"]*",[[:space:]]*"[^"]*"\}' |
  sed -E 's/^\{"([^"]*)",[[:space:]]*"([^"]*)"\}$/\1|\2/' | sort >"$TMP/code-patterns"
doc_rows patterns | awk -F' \\| ' '{
    k = $1; sub(/^\| /, "", k); gsub(/`/, "", k)
    f = $NF; sub(/ \|$/, "", f)
    print k "|" f }' | sort >"$TMP/doc-patterns"
n_enum=$(sed -n '/typedef enum lwa_pattern/,/} lwa_pattern;/p' "$ROOT/pkg/analysis/analysis.h" |
         grep -oE '^[[:space:]]*LWA_PATTERN_[A-Z0-9_]+' | grep -vc 'LWA_PATTERN_COUNT')
n_code=$(wc -l <"$TMP/code-patterns")
check "every lwa_pattern enum value has a row in lwa_pattern.c's table ($n_code of $n_enum)" \
  test "$n_code" -eq "$n_enum" -a "$n_code" -gt 0
same "pattern names and first fixes: lwa_pattern.c = DESIGN.md" "$TMP/code-patterns" "$TMP/doc-patterns"

# --- JSON fields ----------------------------------------------------------------
# Every key path a command prints: arrays as [], the label map's own keys
# (label names and values from the profile) cut off, and dismissed[] items
# documented as findings[] items.
JQ_PATHS='[paths | map(if type == "number" then "[]" else . end)
   | reduce .[] as $s (""; if $s == "[]" then . + "[]" elif . == "" then $s else . + "." + $s end)]
 | .[] | select(endswith("[]") | not)'
paths_of() { jq -r "$JQ_PATHS" | sed -e 's/\(\.labels\)\..*/\1/' -e 's/^dismissed\[\]\./findings[]./'; }
: >"$TMP/inspect"; : >"$TMP/diff"; : >"$TMP/analyze"
runs=0
for d in "$FIX"/go1.19.13/*/ "$FIX"/go1.26.8/*/ "$FIX"/go1.26.8-goroutineleakprofile/*/; do
  for ext in debug2.txt debug1.txt pb.gz goroutineleak.debug2.txt; do
    set -- "$d"0[0-9].$ext
    [ -f "$1" ] || continue
    last=${*: -1}
    lw inspect --json --top 0 "$last" 2>/dev/null | paths_of >>"$TMP/inspect"
    lw diff --json "$1" "$last" 2>/dev/null | paths_of >>"$TMP/diff"
    lw analyze --json "$@" 2>/dev/null | paths_of >>"$TMP/analyze"
    [ -f "$d/peer.$ext" ] &&
      lw analyze --json --baseline "$d/peer.$ext" "$@" 2>/dev/null | paths_of >>"$TMP/analyze"
    runs=$((runs + 1))
  done
done
check "ran the commands on the fixtures ($runs inputs)" test "$runs" -gt 20
for cmd in inspect diff analyze; do
  sort -u "$TMP/$cmd" -o "$TMP/$cmd"
  doc_keys "json:$cmd" | grep -v '^dismissed\[\]\.' | sort -u >"$TMP/doc-$cmd"
  check "$cmd --json printed fields ($(wc -l <"$TMP/$cmd"))" test -s "$TMP/$cmd"
  same "$cmd --json fields: printed = documented in DESIGN.md" "$TMP/$cmd" "$TMP/doc-$cmd"
done

# --- metrics, annotations, Event reasons, commands -----------------------------
grep -rhoE 'obs_(counter|gauge|histogram)\([a-z]+, "leakwatch_[a-z_]+"' "$ROOT/pkg" |
  grep -oE 'leakwatch_[a-z_]+' | sort -u >"$TMP/code-metrics"
doc_keys metrics >"$TMP/doc-metrics"
check "metrics registered in the code ($(wc -l <"$TMP/code-metrics"))" test -s "$TMP/code-metrics"
same "metric names: code = DESIGN.md" "$TMP/code-metrics" "$TMP/doc-metrics"

grep -hoE '"(leakwatch\.dev|profiles\.grafana\.com)/[a-z._]+"' "$ROOT/pkg/kube/kube_pods.c" |
  tr -d '"' | sort -u >"$TMP/code-annotations"
doc_keys annotations >"$TMP/doc-annotations"
check "annotations read by kube_pods.c ($(wc -l <"$TMP/code-annotations"))" test -s "$TMP/code-annotations"
same "annotations: kube_pods.c = DESIGN.md" "$TMP/code-annotations" "$TMP/doc-annotations"

grep -rhoE '#define (REASON_[A-Z_]+|CNT_REASON) "[A-Za-z]+"' "$ROOT/pkg" |
  awk '{ gsub(/"/, "", $3); print $3 }' | sort -u >"$TMP/code-reasons"
sed -n '/^## Events/,/^## /p' "$DOC" | grep -oE '^\| `[A-Za-z]+` \| (Normal|Warning)' |
  grep -oE '`[A-Za-z]+`' | tr -d '`' | sort -u >"$TMP/doc-reasons"
check "Event reasons in the code ($(wc -l <"$TMP/code-reasons"))" test -s "$TMP/code-reasons"
same "Event reasons: code = DESIGN.md" "$TMP/code-reasons" "$TMP/doc-reasons"

sed -n '/commands\[\] = {/,/^};/p' "$ROOT/cmd/leakwatch/main.c" |
  grep -oE '^[[:space:]]*\{"[a-z]+"' | tr -dc 'a-z\n' | sort -u >"$TMP/code-cmds"
sed -n '/^## Exit codes/,/^## /p' "$DOC" | grep -oE '^\| `[a-z]+`' | tr -dc 'a-z\n' |
  sort -u >"$TMP/doc-cmds"
check "subcommands in main.c ($(wc -l <"$TMP/code-cmds"))" test -s "$TMP/code-cmds"
same "every subcommand's exit codes are documented" "$TMP/code-cmds" "$TMP/doc-cmds"
finish
