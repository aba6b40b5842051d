#!/usr/bin/env bash
# layering.sh — hack/check-layers.sh passes on the real tree and fails on
# includes that break DESIGN.md's Layering table.  The bad includes go into
# a temporary copy of pkg/ and DESIGN.md, never into the tree itself.
# Not for: the table's content (DESIGN.md is the rule).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHECK=$LW_ROOT/hack/check-layers.sh
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lw-layering.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# fresh: a clean copy of what the check reads.
fresh() {
  rm -rf "$TMP/tree"
  mkdir -p "$TMP/tree"
  cp -r "$LW_ROOT/pkg" "$LW_ROOT/DESIGN.md" "$TMP/tree/"
}
# expect_fail DESCRIPTION PATTERN: the check on the copy fails, saying PATTERN.
expect_fail() {
  "$CHECK" "$TMP/tree" 2>"$TMP/err"
  local rc=$?
  if [ "$rc" = 1 ] && grep -F -- "$2" "$TMP/err" >/dev/null; then
    ok "$1"
  else
    nok "$1: exit $rc: $(cat "$TMP/err")"
  fi
}

if "$CHECK" 2>"$TMP/err"; then
  ok "the tree keeps its layers"
else
  nok "the tree breaks its layers: $(head -c 600 "$TMP/err")"
fi
fresh
check "a clean copy passes" "$CHECK" "$TMP/tree"

# Upward: pprof sits below analysis.
fresh
printf '#include "analysis/analysis.h"\n' >>"$TMP/tree/pkg/pprof/pprof.h"
expect_fail "pprof including analysis fails" "pkg/pprof/pprof.h:"
check "the failure names both folders" grep -qF 'pprof may not include analysis' "$TMP/err"

# Sideways: capture and analysis are peers; analysis knows no cluster.
fresh
f=$(find "$TMP/tree/pkg/analysis" -name '*.c' | sort | head -n 1)
printf '  #  include "kube/kube.h"\n' >>"$f"
expect_fail "analysis including kube fails (spacing does not hide it)" "analysis may not include kube"
fresh
printf '#include "contain/contain.h"\n' >>"$TMP/tree/pkg/capture/capture.h"
expect_fail "capture including contain fails" "capture may not include contain"

# Around the table: through .., and a folder with no row.
fresh
printf '#include "../controller/controller.h"\n' >>"$TMP/tree/pkg/obs/obs_log.h"
expect_fail "an include through .. fails" "not through .."
fresh
mkdir "$TMP/tree/pkg/extra"
printf '#include "lw/lw_hash.h"\n' >"$TMP/tree/pkg/extra/extra.c"
expect_fail "a folder missing from the table fails" "pkg/extra: not in DESIGN.md's Layering table"

# Allowed includes stay allowed: the controller on top, its own headers.
fresh
printf '#include "pprof/pprof.h"\n#include "controller.h"\n' >>"$TMP/tree/pkg/controller/controller.c"
check "allowed includes pass" "$CHECK" "$TMP/tree"

# No table, no check: a missing rule is not a passing one.
fresh
sed -i '/^## Layering/,$d' "$TMP/tree/DESIGN.md"
"$CHECK" "$TMP/tree" 2>"$TMP/err"
check "without the table the check refuses (exit 2)" test $? -eq 2

finish
