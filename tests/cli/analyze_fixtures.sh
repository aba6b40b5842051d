#!/usr/bin/env bash
# analyze_fixtures.sh — the leakwatch binary on every recorded fixture
# (tests/fixtures/<go version>/<behaviour>/), every format recorded
# (debug=1, debug=2, protobuf, and the goroutineleak profile where there
# is one), with and without the fresh peer as --baseline, against the
# fixture's MANIFEST.json:
#   - leaks: verdict "leak", the manifest's top function among the top
#     finding's frames, the manifest's pattern (debug=1 may say "unknown"
#     for channel and select waits: it hides the runtime frames that tell);
#   - several independent leaks in one process (expected_leaks): each is a
#     finding of its own with status leak, its pattern and function;
#   - a pattern that needs behaviour over time (a ticker loop: a select
#     whose goroutine ids persist yet never show blocked minutes) is held
#     to expected_pattern where the format has ids and minutes (debug=2),
#     to expected_static_pattern where it has neither;
#   - the top finding's first frame is outside the standard library and
#     the plumbing whenever one of its frames is;
#   - controls: verdict "no-leak";
#   - a goroutineleak series with nothing in it (the detector cannot prove
#     every leak): "inconclusive", never "no-leak";
#   - diff of the first and last capture: the top function grows most;
#   - inspect reads every capture.
# Times come from the manifest (--times): git keeps no file times.  Under
# valgrind ($LW_WRAP) only the newest Go version is run, to keep the suite
# within minutes.
# Not for: bad input and usage (analysis_cli.sh).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$LW_ROOT/tests/fixtures
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lw-fixtures.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

hidden_in_debug1() { # PATTERN: waits whose runtime frames debug=1 hides
  case $1 in chan-send | chan-receive | nil-channel | select | select-no-cases) return 0 ;; esac
  return 1
}

# expected_leaks without a leak finding of their own ($d1: debug=1 may say
# "unknown" for a wait it cannot see)
MISSING_LEAKS='. as $r | $leaks[] | . as $l
  | select([$r.findings[] | select(.status == "leak" and (.frames | index($l.function) != null)
      and (.pattern == $l.pattern or ($d1 == "1" and .pattern == "unknown")))] | length == 0)
  | "\($l.pattern)@\($l.function)"'

dirs=()
for d in "$ROOT"/*/*/; do
  [ -f "$d/MANIFEST.json" ] && dirs+=("${d%/}")
done
if [ -n "${LW_WRAP:-}" ]; then
  # the newest Go release, with its GOEXPERIMENT variants
  newest=$(printf '%s\n' "${dirs[@]}" | sed 's#/[^/]*$##; s#-[^/]*$##' | sort -V | tail -n 1)
  mapfile -t dirs < <(printf '%s\n' "${dirs[@]}" | grep -F "$newest")
fi
if [ ${#dirs[@]} -gt 0 ]; then ok "found ${#dirs[@]} fixtures"; else nok "no fixtures under $ROOT"; fi

for d in "${dirs[@]}"; do
  m=$d/MANIFEST.json
  name=${d#"$ROOT"/}
  want=$(jq -r .expected_verdict "$m")
  pat=$(jq -r '.expected_pattern // ""' "$m")
  static_pat=$(jq -r '.expected_static_pattern // .expected_pattern // ""' "$m")
  leaks=$(jq -c '.expected_leaks // []' "$m")
  top=$(jq -r .expected_top_function "$m")
  times=$(jq -r '[.snapshots[].captured_at_unix_ms|tostring]|join(",")' "$m")
  for key in $(jq -r '.snapshots[0].files | keys[]' "$m"); do
    [ "$key" = metrics ] && continue
    mapfile -t files < <(jq -r --arg k "$key" '.snapshots[].files[$k]' "$m" | sed "s#^#$d/#")
    peer=$d/$(jq -r --arg k "$key" '.peer.files[$k]' "$m")
    proof_empty=0
    if [[ $key == goroutineleak_debug1 || $key == goroutineleak_proto ]]; then
      total=0
      for f in "${files[@]}"; do
        n=$(lw inspect --json --no-builtin-ignores "$f" | jq .total)
        total=$((total + ${n:-0}))
      done
      [ "$total" = 0 ] && proof_empty=1
    fi
    kpat=$pat
    [[ $key == *debug2 ]] || kpat=$static_pat
    for base in "" "$peer"; do
      label="$name $key${base:+ +peer}"
      args=(analyze --json --times "$times")
      [ -n "$base" ] && args+=(--baseline "$base")
      lw "${args[@]}" "${files[@]}" >"$TMP/out.json" 2>"$TMP/err"
      rc=$?
      if [ $rc != 0 ]; then
        nok "$label: exit $rc ($(head -c 200 "$TMP/err"))"
        continue
      fi
      got=$(jq -r .verdict "$TMP/out.json")
      if [ "$proof_empty" = 1 ]; then
        if [ "$got" = inconclusive ]; then
          ok "$label: empty leak profile is inconclusive"
        else
          nok "$label: empty leak profile gave $got"
        fi
        continue
      fi
      if [ "$got" != "$want" ]; then
        nok "$label: verdict $got, want $want ($(jq -r .why "$TMP/out.json"))"
        continue
      fi
      if [ "$want" != leak ]; then
        ok "$label: $got"
        continue
      fi
      # the frame shown first: not library code when the stack has other
      shown_bad=$(jq -r '.findings[0].frames as $f
        | def lib: startswith("golang.org/x/sync/") or (startswith("main.") | not) and
                   (if contains("/") then (split("/")[0] | contains(".") | not) else true end);
        if ($f[0] | lib) and any($f[]; lib | not) then "\($f[0]) before \([$f[] | select(lib | not)][0])" else "" end' "$TMP/out.json")
      if [ -n "$shown_bad" ]; then
        nok "$label: top finding shown as $shown_bad"
        continue
      fi
      if [ "$leaks" != "[]" ]; then
        d1=0
        [[ $key == *debug1 ]] && d1=1
        missing=$(jq -r --argjson leaks "$leaks" --arg d1 "$d1" "$MISSING_LEAKS" "$TMP/out.json" | tr '\n' ' ')
        if [ -z "$missing" ]; then
          ok "$label: leak, $(jq -r '[.findings[] | select(.status == "leak") | .pattern] | join(" + ")' "$TMP/out.json")"
        else
          nok "$label: no leak finding for $missing"
        fi
        continue
      fi
      fpat=$(jq -r '.findings[0].pattern' "$TMP/out.json")
      if jq -e --arg t "$top" '.findings[0].frames | index($t) != null' "$TMP/out.json" >/dev/null; then
        :
      else
        nok "$label: top finding $(jq -c '.findings[0].frames[:3]' "$TMP/out.json") lacks $top"
        continue
      fi
      if [ "$fpat" = "$kpat" ]; then
        ok "$label: leak, $fpat, $top"
      elif [[ $key == *debug1 ]] && [ "$fpat" = unknown ] && hidden_in_debug1 "$kpat"; then
        ok "$label: leak, $top (debug=1 cannot tell $kpat)"
      else
        nok "$label: pattern $fpat, want $kpat"
      fi
    done
    # diff of the window: the top function grows most (ties allowed)
    if [ "$want" = leak ] && [ "$proof_empty" = 0 ]; then
      if lw diff --json "${files[0]}" "${files[${#files[@]} - 1]}" >"$TMP/diff.json" 2>"$TMP/err" &&
        jq -e --arg t "$top" '(.stacks[0].delta) as $max | [.stacks[] | select(.delta == $max) | .frames | index($t) != null] | any' \
          "$TMP/diff.json" >/dev/null; then
        ok "$name $key: diff puts $top on top"
      else
        nok "$name $key: diff top $(jq -c '.stacks[0] | {frames: .frames[:2], delta}' "$TMP/diff.json" 2>/dev/null) $(head -c 200 "$TMP/err")"
      fi
    fi
    # inspect reads every capture of the series
    bad=0
    for f in "${files[@]}" "$peer"; do
      if ! lw inspect --json "$f" >"$TMP/in.json" 2>"$TMP/err" ||
         ! jq -e '.total >= 0' "$TMP/in.json" >/dev/null; then
        bad=1
        nok "$name $key: inspect $(basename "$f"): $(head -c 200 "$TMP/err")"
      fi
    done
    [ $bad = 0 ] && ok "$name $key: inspect reads all $((${#files[@]} + 1)) captures"
  done
done

finish
