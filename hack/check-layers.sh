#!/usr/bin/env bash
# check-layers.sh — fails when a folder under pkg/ includes another pkg/
# folder that DESIGN.md's "Layering" table does not allow it to.
#
#   hack/check-layers.sh [ROOT]    ROOT defaults to this repository
#
# The table is the rule: this script only reads it, so the document and the
# check cannot disagree.  Every pkg/ folder must have a row (a new folder is
# placed on purpose, not by accident).  `make lint` runs it.
# Not for: cmd/ and tests/ (they may use any folder), system headers, or
# the order of includes inside a file.
set -euo pipefail

ROOT=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
DOC=$ROOT/DESIGN.md

# Rows look like:  | `capture` | `lw`, `kube`, `pprof` | why |
declare -A allowed=() shown=()
while IFS='|' read -r _ folder deps _; do
  folder=$(tr -dc 'a-z_' <<<"$folder")
  [ -n "$folder" ] || continue
  read -r -a names <<<"$(tr -c 'a-z_' ' ' <<<"$deps")"
  allowed[$folder]=" ${names[*]} "   # padded: matched as " name "
  shown[$folder]=${names[*]:-nothing}
done < <(awk '/^## / { on = /^## Layering/ } on' "$DOC" | grep '^| `')
if [ ${#allowed[@]} -eq 0 ]; then
  echo "check-layers: no Layering table in $DOC" >&2
  exit 2
fi

bad=0
for dir in "$ROOT"/pkg/*/; do
  from=$(basename "$dir")
  if [ -z "${allowed[$from]+set}" ]; then
    echo "pkg/$from: not in DESIGN.md's Layering table" >&2
    bad=1
    continue
  fi
  # file:line:#include "folder/header.h"
  while IFS=: read -r file line text; do
    to=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^/"]*\)\/.*/\1/p' <<<"$text")
    if [ "$to" = .. ]; then
      echo "${file#"$ROOT"/}:$line: include a pkg/ folder by name, not through ..: $text" >&2
      bad=1
    elif [ -n "$to" ] && [ "$to" != "$from" ] && [ -d "$ROOT/pkg/$to" ] &&
         [[ ${allowed[$from]} != *" $to "* ]]; then
      echo "${file#"$ROOT"/}:$line: $from may not include $to (allowed: ${shown[$from]})" >&2
      bad=1
    fi
  done < <(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$dir"*.[ch] 2>/dev/null || true)
done
exit "$bad"
