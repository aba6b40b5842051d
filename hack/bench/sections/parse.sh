# parse: leakwatch inspect and diff vs panicparse and go tool pprof
#
# `leakwatch inspect` and `leakwatch diff` on generated goroutine profiles,
# side by side with panicparse and `go tool pprof`.
#
# Inputs come from hack/bench/gen (real goroutines, real runtime output): for
# each size, a target snapshot with N goroutines and a base snapshot of the
# same process with 80% of the leaking goroutines, in debug=2, debug=1 and
# protobuf.  Peers and what they are compared on:
#
#   panicparse (github.com/maruel/panicparse/v2, PANICPARSE_VERSION)
#     run as `panicparse -aggressive -rebase=false -parse=false DUMP`: parse
#     and bucket only.  -aggressive buckets goroutines whose arguments differ
#     (what leakwatch does; without it the bucketing is quadratic on real
#     dumps, where arguments differ per goroutine); -rebase=false and
#     -parse=false skip looking for source files on this machine, which
#     leakwatch never does.  Its text output is a few kB, so output does not
#     dominate.  It has no diff: the diff reference is panicparse run on base
#     and on target (sum of times, larger RSS), the work a human diff starts
#     from.
#   pprof (the local Go toolchain's, run as the binary `go tool -n pprof`
#     names, so the go command's own start-up is not counted)
#     `pprof -top TARGET.pb.gz` and `pprof -top -diff_base BASE.pb.gz
#     TARGET.pb.gz` against leakwatch on the same protobuf files.
#
# Targets (reported, never asserted): leakwatch parses debug=2 at >= 1 GB/s,
# is >= 10x faster than panicparse, and stays under 64 MB peak RSS on the
# million-goroutine dump.
#
# Environment: BENCH_SIZES (default "100k 1m"; each NNk or NNm),
# BENCH_GEN_AGE (how long base goroutines are blocked, default 61s so the
# dumps carry ", 1 minutes"), PANICPARSE_VERSION.
#
# Not for: capture or controller throughput (their own sections).
# shellcheck shell=bash  # sourced, never run on its own

PANICPARSE_VERSION="${PANICPARSE_VERSION:-v2.5.0}"
BENCH_SIZES="${BENCH_SIZES:-100k 1m}"
BENCH_GEN_AGE="${BENCH_GEN_AGE:-61s}"
BENCH_GEN_BASE="0.8"

# ------------------------------------------------------------------- inputs

size_count() { # 100k -> 100000, 1m -> 1000000
  case "$1" in
    *k) echo $(( ${1%k} * 1000 )) ;;
    *m) echo $(( ${1%m} * 1000000 )) ;;
    *) return 1 ;;
  esac
}

size_label() { # 100k -> 100k, 1m -> 1M
  case "$1" in *m) echo "${1%m}M" ;; *) echo "$1" ;; esac
}

gen_key() { # content hash of the generator, the toolchain and its parameters
  # shellcheck disable=SC2153  # GO_VERSION is set by lib.sh's find_go
  go_module_key "$BENCH_DIR/gen" "$GO_VERSION base=$BENCH_GEN_BASE age=$BENCH_GEN_AGE"
}

build_gen() { # TMPDIR
  log "building the dump generator"
  go_module_build "$BENCH_DIR/gen" "$1/gen"
}

run_gen() { # N TMPDIR
  log "generating $(printf "%'d" "$1") goroutines (about $((5 + $1 / 13000)) s plus ${BENCH_GEN_AGE} of aging)"
  nice -n 10 "$GEN_BIN" -goroutines "$1" -base "$BENCH_GEN_BASE" -age "$BENCH_GEN_AGE" \
    -out "$2" 2> >(sed 's/^/    /' >&2)
}

ensure_inputs() {
  local key
  key="$(gen_key)"
  cache_fill "$CACHE/gen-$key" build_gen
  GEN_BIN="$CACHE/gen-$key/gen"
  local size pids=() dirs=()
  for size in $BENCH_SIZES; do
    size_count "$size" >/dev/null || die "BENCH_SIZES: '$size' is not NNk or NNm"
    INPUT_DIR[$size]="$CACHE/inputs-$key-$size"
    if [ ! -f "${INPUT_DIR[$size]}/.complete" ]; then
      # Sizes generate in parallel: most of each run is the aging sleep.
      cache_fill "${INPUT_DIR[$size]}" run_gen "$(size_count "$size")" &
      pids+=($!); dirs+=("$size")
    fi
  done
  local i
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || die "generating the ${dirs[$i]} inputs failed"
  done
  # Inputs of an older generator are gigabytes nobody will read again.
  local old
  for old in "$CACHE"/gen-* "$CACHE"/inputs-*; do
    [ -d "$old" ] || continue
    case "$(basename "$old")" in
      gen-"$key"|inputs-"$key"-*) ;;
      *) log "removing $(basename "$old") (older generator)"; rm -rf "$old" "$old.lock" ;;
    esac
  done
}

# -------------------------------------------------------------------- peers

build_panicparse() { # TMPDIR
  log "building panicparse $PANICPARSE_VERSION from the module proxy"
  # go install pkg@version ignores any go.mod, so run it from a neutral dir.
  (cd "$1" && CGO_ENABLED=0 GOBIN="$1" nice -n 10 "$GO" install -trimpath \
      "github.com/maruel/panicparse/v2@$PANICPARSE_VERSION")
}

copy_pprof() { # TMPDIR
  local src
  src="$(cd "$RUN_TMP" && nice -n 10 "$GO" tool -n pprof)" || return 1
  cp "$src" "$1/pprof"
}

ensure_peers() {
  cache_fill "$CACHE/bin/panicparse-$PANICPARSE_VERSION" build_panicparse
  PANICPARSE="$CACHE/bin/panicparse-$PANICPARSE_VERSION/panicparse"
  # The go command keeps pprof in its build cache, which may be trimmed;
  # a copy keyed by toolchain version stays put.
  cache_fill "$CACHE/bin/pprof-$GO_VERSION" copy_pprof
  PPROF="$CACHE/bin/pprof-$GO_VERSION/pprof"
}

# ------------------------------------------------------------------- checks

CHECKS=()

# check NAME GOT WANT : a result sanity check (see bench_check).
check() { bench_check CHECKS "$@"; }

manifest_get() { jq -r "$2" "${INPUT_DIR[$1]}/manifest.json"; }

# What each tool says it counted, from one extra unmeasured run.
lw_total() { "$LEAKWATCH_BIN" inspect --json "$1" 2>/dev/null | jq -r '.total // empty' 2>/dev/null; }
pp_total() { awk -F: '/^[0-9]+: / { n += $1 } END { print n + 0 }' "$1"; }
pprof_total() { sed -n 's/.* of \([0-9]*\) total.*/\1/p' "$1" | head -n 1; }

check_diff() { # LABEL BASE TARGET "PATTERN +DELTA" TOTAL_DELTA
  "$LEAKWATCH_BIN" diff --json "$2" "$3" >"$RUN_TMP/diff.json" 2>/dev/null
  check "leakwatch diff $1: top stack" \
    "$(jq -r '.stacks[0] | "\(.pattern) +\(.delta)"' "$RUN_TMP/diff.json" 2>/dev/null)" "$4"
  check "leakwatch diff $1: total growth" \
    "$(jq -r '.total_delta // empty' "$RUN_TMP/diff.json" 2>/dev/null)" "$5"
}

# ------------------------------------------------------------------ running

# panicparse keeps every goroutine in memory (about 11x the dump); skip a
# size rather than push a shared machine into swap or the OOM killer.
pp_fits() { # bytes
  local need_kb=$(( $1 * 13 / 1024 + 1048576 )) have_kb
  have_kb="$(mem_available_kb)"
  [ "$have_kb" -ge "$need_kb" ] && return 0
  PP_SKIP_WHY="needs about $(fmt_rss "$need_kb") free, MemAvailable is $(fmt_rss "$have_kb")"
  return 1
}

run_size() { # size
  local size="$1" dir="${INPUT_DIR[$1]}" lbl
  lbl="$(size_label "$size")"
  local t2="$dir/target.debug2.txt" b2="$dir/base.debug2.txt"
  local t1="$dir/target.debug1.txt" tp="$dir/target.pb.gz" bp="$dir/base.pb.gz"
  local t2b b2b tpb bpb t1b
  t2b="$(stat -c %s "$t2")"; b2b="$(stat -c %s "$b2")"; t1b="$(stat -c %s "$t1")"
  tpb="$(stat -c %s "$tp")"; bpb="$(stat -c %s "$bp")"
  local pp=("$PANICPARSE" -aggressive -rebase=false -parse=false)

  log "measuring $lbl (debug=2 $(fmt_bytes "$t2b") + base $(fmt_bytes "$b2b"))"
  warm "$t2" "$b2" "$t1" "$tp" "$bp"

  measure "inspect-$size-debug2-leakwatch" "inspect $lbl debug=2" "$t2b" -- \
    "$LEAKWATCH_BIN" inspect "$t2"
  measure "diff-$size-debug2-leakwatch" "diff $lbl debug=2" "$((b2b + t2b))" -- \
    "$LEAKWATCH_BIN" diff "$b2" "$t2"
  measure "inspect-$size-proto-leakwatch" "inspect $lbl proto" "$tpb" -- \
    "$LEAKWATCH_BIN" inspect "$tp"
  measure "diff-$size-proto-leakwatch" "diff $lbl proto" "$((bpb + tpb))" -- \
    "$LEAKWATCH_BIN" diff "$bp" "$tp"
  measure "inspect-$size-debug1-leakwatch" "inspect $lbl debug=1" "$t1b" -- \
    "$LEAKWATCH_BIN" inspect "$t1"

  measure "inspect-$size-proto-pprof" "pprof -top $lbl" "$tpb" -- \
    "$PPROF" -top "$tp"
  measure "diff-$size-proto-pprof" "pprof -top -diff_base $lbl" "$((bpb + tpb))" -- \
    "$PPROF" -top -diff_base "$bp" "$tp"

  if pp_fits "$t2b"; then
    measure "inspect-$size-debug2-panicparse" "panicparse $lbl target" "$t2b" -- \
      "${pp[@]}" "$t2"
  else
    skip "inspect-$size-debug2-panicparse" "panicparse $lbl target" "$PP_SKIP_WHY"
  fi
  if pp_fits "$b2b"; then
    measure "base-$size-debug2-panicparse" "panicparse $lbl base" "$b2b" -- \
      "${pp[@]}" "$b2"
  else
    skip "base-$size-debug2-panicparse" "panicparse $lbl base" "$PP_SKIP_WHY"
  fi

  # What each tool counted, against what the generator wrote.
  local want wantb
  want="$(manifest_get "$size" .target.goroutines)"
  wantb="$(manifest_get "$size" .base.goroutines)"
  check "leakwatch inspect $lbl debug=2: goroutines" "$(lw_total "$t2")" "$want"
  check "leakwatch inspect $lbl debug=1: goroutines" "$(lw_total "$t1")" "$want"
  check "leakwatch inspect $lbl proto: goroutines" "$(lw_total "$tp")" "$want"
  check "leakwatch inspect $lbl base debug=2: goroutines" "$(lw_total "$b2")" "$wantb"
  check "pprof -top $lbl proto: goroutines" \
    "$(pprof_total "$OUT/parse/inspect-$size-proto-pprof.out")" "$want"
  if result_ok "inspect-$size-debug2-panicparse"; then
    check "panicparse $lbl debug=2: goroutines" \
      "$(pp_total "$OUT/parse/inspect-$size-debug2-panicparse.out")" "$want"
  fi
  # The largest-growing stack is the orders fan-out (chan send); diff must
  # put it first with the generator's exact growth, in both formats.
  local lead
  lead="$(manifest_get "$size" '[.scenarios[] | select(.leaking)] | max_by(.target - .base) |
    "\(.pattern) +\(.target - .base)"')"
  check_diff "$lbl debug=2" "$b2" "$t2" "$lead" "$((want - wantb))"
  check_diff "$lbl proto" "$bp" "$tp" "$lead" "$((want - wantb))"
}

# ------------------------------------------------------------------ report

# CPU time next to wall time: on a shared machine the gap is time spent
# waiting for a core, not work.  Below 0.1 s the 10 ms clock says nothing.
cpu_note() { # ID
  local u s
  u="$(result_get "$1" user_s)"; s="$(result_get "$1" sys_s)"
  awk -v u="$u" -v s="$s" 'BEGIN { if (u + s >= 0.1) printf "cpu %.2f s, ", u + s }'
}

# A rate over a few kB of protobuf says nothing but process start-up.
shown_rate() { # ID
  [ "$(result_get "$1" input_bytes)" -ge 1000000 ] 2>/dev/null && result_get "$1" mb_per_s
}

times_word() { # RATIO BETTER WORSE -> "52x faster" / "3.1x slower"
  awk -v r="$1" -v b="$2" -v w="$3" 'BEGIN {
    if (r == "") { print "n/a"; exit }
    if (r >= 1) { printf (r >= 10 ? "%.0fx %s\n" : "%.1fx %s\n"), r, b; exit }
    i = 1 / r; printf (i >= 10 ? "%.0fx %s\n" : "%.1fx %s\n"), i, w }'
}

# compare NAME LW_ID PEER_ID PEER_NAME [NOTE]
#   One line in the brief's shape, plus a record for the JSON.
COMPARISONS=()
compare() {
  local name="$1" lw="$2" peer="$3" pname="$4" note="${5:-}"
  local lw_w lw_r lw_rate p_w="" p_r="" p_rate="" p_runs="" speed="" mem="" line
  lw_w="$(result_get "$lw" wall_s)"; lw_r="$(result_get "$lw" peak_rss_kb)"
  lw_rate="$(shown_rate "$lw")"
  if [ -z "$lw_w" ]; then
    printf '  %-34s leakwatch did not run\n' "$name:"
    return
  fi
  line="$(printf '%s: leakwatch %s (%s%s RSS)' "$name" "$(fmt_secs "$lw_w")" \
    "${lw_rate:+$(fmt_rate "$lw_rate"), }$(cpu_note "$lw")" "$(fmt_rss "$lw_r")")"
  if [ -n "$peer" ]; then
    p_w="$(result_get "$peer" wall_s)"; p_r="$(result_get "$peer" peak_rss_kb)"
    p_rate="$(shown_rate "$peer")"; p_runs="$(result_get "$peer" runs)"
  fi
  if [ -n "$peer" ] && [ -n "$p_w" ]; then
    speed="$(ratio "$p_w" "$lw_w")"; mem="$(ratio "$p_r" "$lw_r")"
    line+="$(printf '; %s %s (%s%s RSS%s) -> %s, %s' "$pname" \
      "$(fmt_secs "$p_w")" "${p_rate:+$(fmt_rate "$p_rate"), }$(cpu_note "$peer")" "$(fmt_rss "$p_r")" \
      "$([ "$p_runs" -lt "$BENCH_REPS" ] && echo ", $p_runs run")" \
      "$(times_word "$speed" faster slower)" "$(times_word "$mem" "less memory" "more memory")")"
  elif [ -n "$peer" ]; then
    line+="; $pname not measured ($(result_get "$peer" skipped))"
  fi
  echo "  $line"
  [ -n "$note" ] && echo "      ($note)"
  COMPARISONS+=("$(jq -cn --arg name "$name" --arg lw "$lw" --arg peer "$peer" \
    --arg pname "$pname" --arg speed "$speed" --arg mem "$mem" --arg note "$note" \
    '{case: $name, leakwatch: $lw, peer: (if $peer == "" then null else $peer end),
      peer_tool: (if $pname == "" then null else $pname end),
      speedup: (if $speed == "" then null else ($speed | tonumber) end),
      memory_ratio: (if $mem == "" then null else ($mem | tonumber) end),
      note: (if $note == "" then null else $note end)}')")
}

# Panicparse has no diff; its reference for a diff is both parses.
combine_pp() { # size -> records "diff-SIZE-debug2-panicparse"
  local size="$1" a="inspect-$1-debug2-panicparse" b="base-$1-debug2-panicparse"
  if ! result_ok "$a" || ! result_ok "$b"; then
    skip "diff-$size-debug2-panicparse" "panicparse base + target" "a parse was not measured"
    return
  fi
  # Read in full before the record is appended to the same file.
  local rec
  rec=$(jq -cs --arg id "diff-$size-debug2-panicparse" \
    '(map(select(.id == $a or .id == $b))) as $r |
     {id: $id, "label": "panicparse base + target", failed: false, combined_from: [$a, $b],
      command: ($r | map(.command) | join(" ; ")),
      input_bytes: ($r | map(.input_bytes) | add),
      runs: ($r | map(.runs) | min),
      wall_s: ($r | map(.wall_s) | add),
      peak_rss_kb: ($r | map(.peak_rss_kb) | max),
      user_s: ($r | map(.user_s) | add), sys_s: ($r | map(.sys_s) | add)} |
     .mb_per_s = (.input_bytes / .wall_s / 1e6)' \
    --arg a "$a" --arg b "$b" "$RESULTS") || return
  printf '%s\n' "$rec" >>"$RESULTS"
}

TARGETS=()
target() { # NAME MEASURED_TEXT OK(1/0/"") WHAT
  local status
  case "$3" in 1) status=OK ;; 0) status=MISSED ;; *) status="NOT MEASURED" ;; esac
  printf '  %-50s %-34s %s\n' "$1" "$2" "$status"
  TARGETS+=("$(jq -cn --arg n "$1" --arg m "$2" --arg s "$status" --arg w "$4" \
    '{target: $n, measured: $m, status: $s, from: $w}')")
}

report_targets() {
  local big="" size
  for size in $BENCH_SIZES; do big="$size"; done # the last (largest) size
  local lbl id rate w pw r rd
  lbl="$(size_label "$big")"
  id="inspect-$big-debug2-leakwatch"
  rate="$(result_get "$id" mb_per_s)"
  target ">= 1 GB/s parse (inspect $lbl debug=2)" "$(fmt_rate "$rate")" \
    "$([ -n "$rate" ] && awk -v r="$rate" 'BEGIN { print (r >= 1000) ? 1 : 0 }')" "$id"
  w="$(result_get "$id" wall_s)"; pw="$(result_get "inspect-$big-debug2-panicparse" wall_s)"
  if [ -z "$pw" ]; then # fall back to the largest size panicparse ran on
    for size in $BENCH_SIZES; do
      if result_ok "inspect-$size-debug2-panicparse"; then
        w="$(result_get "inspect-$size-debug2-leakwatch" wall_s)"
        pw="$(result_get "inspect-$size-debug2-panicparse" wall_s)"; lbl="$(size_label "$size")"
      fi
    done
  fi
  local sp
  sp="$(ratio "$pw" "$w")"
  target ">= 10x faster than panicparse (inspect $lbl)" "${sp:+$(times_word "$sp" faster slower)}" \
    "$([ -n "$sp" ] && awk -v s="$sp" 'BEGIN { print (s >= 10) ? 1 : 0 }')" "inspect-$big-debug2"
  lbl="$(size_label "$big")"
  r="$(result_get "$id" peak_rss_kb)"; rd="$(result_get "diff-$big-debug2-leakwatch" peak_rss_kb)"
  # 64 MB = 64,000,000 bytes = 62,500 KiB.
  target "< 64 MB peak RSS (inspect $lbl debug=2)" "$(fmt_rss "$r")" \
    "$([ -n "$r" ] && { [ "$r" -lt 62500 ] && echo 1 || echo 0; })" "$id"
  target "< 64 MB peak RSS (diff $lbl debug=2, two dumps)" "$(fmt_rss "$rd")" \
    "$([ -n "$rd" ] && { [ "$rd" -lt 62500 ] && echo 1 || echo 0; })" "diff-$big-debug2-leakwatch"
}

write_json() {
  local inputs="{}" size
  for size in $BENCH_SIZES; do
    inputs="$(jq -c --arg s "$size" --arg d "${INPUT_DIR[$size]}" \
      --slurpfile m "${INPUT_DIR[$size]}/manifest.json" \
      '. + {($s): ($m[0] + {dir: $d})}' <<<"$inputs")"
  done
  jq -n --slurpfile meas "$RESULTS" \
    --argjson inputs "$inputs" \
    --argjson comps "[$(IFS=,; echo "${COMPARISONS[*]}")]" \
    --argjson targets "[$(IFS=,; echo "${TARGETS[*]}")]" \
    --argjson checks "[$(IFS=,; echo "${CHECKS[*]}")]" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --arg lw "$LW_VERSION" --arg go "$GO_VERSION" --arg pp "$PANICPARSE_VERSION" \
    --arg cpu "$CPU_MODEL" --argjson ncpu "$(nproc)" --arg load "$LOAD_START" \
    --argjson reps "$BENCH_REPS" --argjson slow "$BENCH_SLOW_SECONDS" \
    '{section: "parse", date: $date,
      versions: {leakwatch: $lw, go: $go, panicparse: $pp},
      machine: {cpu: $cpu, cpus: $ncpu, loadavg_at_start: $load},
      method: {repetitions: $reps, single_run_above_s: $slow, statistic: "median",
               wall: "EPOCHREALTIME around /usr/bin/time", rss: "/usr/bin/time %M (KiB)",
               rate_unit: "MB/s = 1e6 bytes/s of input"},
      inputs: $inputs, measurements: $meas, comparisons: $comps,
      targets: $targets, checks: $checks}' >"$OUT/parse.json"
}

# -------------------------------------------------------------------- main

# Generates the inputs and builds the peers; measures nothing.
prepare_parse() {
  declare -gA INPUT_DIR=()
  command -v jq >/dev/null || die "jq is required (hack/install-deps.sh installs it)"
  [ -x /usr/bin/time ] || die "/usr/bin/time is required (hack/install-deps.sh installs it)"
  [ -n "${RUN_TMP:-}" ] || bench_begin parse
  find_go
  ensure_inputs
  ensure_peers
}

section_parse() {
  # shellcheck disable=SC2034  # read by lib.sh's result records
  SECTION=parse
  bench_begin parse
  need_leakwatch
  prepare_parse
  LW_VERSION="$(leakwatch_version)"
  CPU_MODEL="$(cpu_model)"
  LOAD_START="$(load_avg)"

  echo "== parse: leakwatch ${LW_VERSION:-?} vs panicparse $PANICPARSE_VERSION and pprof ($GO_VERSION)"
  echo "   $(nproc) CPUs ($CPU_MODEL), load $LOAD_START; median of $BENCH_REPS runs" \
       "(1 run when the first takes > ${BENCH_SLOW_SECONDS}s)"
  local size
  for size in $BENCH_SIZES; do
    echo "   $(size_label "$size"): target $(manifest_get "$size" .target.goroutines) goroutines," \
      "debug=2 $(fmt_bytes "$(stat -c %s "${INPUT_DIR[$size]}/target.debug2.txt")")," \
      "pb.gz $(fmt_bytes "$(stat -c %s "${INPUT_DIR[$size]}/target.pb.gz")");" \
      "base $(manifest_get "$size" .base.goroutines) goroutines," \
      "debug=2 $(fmt_bytes "$(stat -c %s "${INPUT_DIR[$size]}/base.debug2.txt")")"
  done
  echo "   inputs: ${CACHE/#$HOME/~}/inputs-*"
  echo
  echo "checks:"
  for size in $BENCH_SIZES; do
    run_size "$size"
    combine_pp "$size"
  done

  echo
  echo "results:"
  for size in $BENCH_SIZES; do
    local l; l="$(size_label "$size")"
    compare "inspect $l debug=2" "inspect-$size-debug2-leakwatch" \
      "inspect-$size-debug2-panicparse" panicparse
    compare "diff $l debug=2" "diff-$size-debug2-leakwatch" \
      "diff-$size-debug2-panicparse" "panicparse x2" \
      "panicparse has no diff: it parses and buckets base and target, a human compares"
    compare "inspect $l proto" "inspect-$size-proto-leakwatch" "inspect-$size-proto-pprof" "pprof -top"
    compare "diff $l proto" "diff-$size-proto-leakwatch" "diff-$size-proto-pprof" \
      "pprof -top -diff_base"
    compare "inspect $l debug=1" "inspect-$size-debug1-leakwatch" "" ""
  done
  echo
  echo "targets:"
  report_targets
  write_json
  echo
  echo "wrote ${OUT#"$ROOT"/}/parse.json"
}
