#!/usr/bin/env bash
# hack/fuzz/run.sh SECONDS — builds every libFuzzer target in hack/fuzz
# and runs each for SECONDS, FUZZ_JOBS targets at a time (default 1: one
# after another, on one core).
#
# A target hack/fuzz/fuzz_<area>_<name>.c is compiled with clang
# (-fsanitize=fuzzer,address,undefined) together with the sources of
# pkg/<area>/, of every pkg/ folder those include (followed transitively),
# and of pkg/lw/ — directly, not through the Makefile's library, so a broken
# file elsewhere in the tree cannot stop fuzzing.  A binary newer than all
# of its sources is reused.
#
# Runs shorter than FUZZ_FAST_FROM seconds per target use that ASan+UBSan
# build throughout.  Longer ones use UBSan-only builds, a quarter of the
# time with libFuzzer's comparison tracing and the rest without it (build_target
# says why), and then replay the working corpus and every finding through
# the ASan+UBSan build.  FUZZ_BUILD=asan|fast chooses instead.
#
# Inputs of a target T:
#   hack/fuzz/corpus/T/   seeds, small and committed (where they come from:
#                         hack/fuzz/README.md).  Files named regress-* are
#                         inputs that once crashed; libFuzzer replays every
#                         seed before mutating, so each run re-checks them.
#   hack/fuzz/dict/T.dict the target's dictionary (libFuzzer -dict=).
# The working corpus grows in hack/fuzz/corpus-run/T/ (ignored by git;
# FUZZ_RUN_DIR moves it) and is kept between runs.  Crashing inputs are
# written next to it as T-crash-* (or -leak-, -timeout-, -oom-), and each
# target's summary line as T.summary.  The smoke pass of make test uses a
# run directory of its own, so it neither feeds nor reads a long run's.
#
# Prints per target: executions, executions per second, edges covered and
# crashes; exits non-zero if any target found a crash, a leak or a timeout,
# or did not build.
# Environment: FUZZ_TARGETS (space-separated names, default all),
# FUZZ_MAX_LEN (default 16384, or the target's .options), FUZZ_BUILD (asan or fast),
# FUZZ_FAST_FROM (default 120), FUZZ_JOBS (default 1), FUZZ_RUN_DIR
# (default hack/fuzz/corpus-run), CLANG (default clang).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

SECONDS_PER_TARGET=${1:-60}
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_TARGET" -lt 1 ]; then
  echo "usage: hack/fuzz/run.sh SECONDS" >&2
  exit 1
fi
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
  echo "run.sh: $CLANG not found (install clang and libclang-rt-dev)" >&2
  exit 1
fi
# Every limit the targets set (a line, a chunk, a body) is under 16 KiB,
# so longer inputs only make each execution slower.  A target whose limits
# are lower says so in hack/fuzz/T.options (OSS-Fuzz's format: a
# [libfuzzer] section with max_len = N); FUZZ_MAX_LEN overrides both.
DEFAULT_MAX_LEN=16384
FAST_FROM=${FUZZ_FAST_FROM:-120}
JOBS=${FUZZ_JOBS:-1}
if ! [[ "$JOBS" =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: FUZZ_JOBS is a count of targets run at once, not $JOBS" >&2
  exit 1
fi
if [ -n "${FUZZ_BUILD:-}" ]; then
  MODE=$FUZZ_BUILD
elif [ "$SECONDS_PER_TARGET" -ge "$FAST_FROM" ]; then
  MODE=fast
else
  MODE=asan
fi
case "$MODE" in
  asan|fast) ;;
  *) echo "run.sh: FUZZ_BUILD is asan or fast, not $MODE" >&2; exit 1 ;;
esac
OUT=build/fuzz
RUN=${FUZZ_RUN_DIR:-hack/fuzz/corpus-run}
mkdir -p "$OUT" "$RUN"

# The same libraries, linked the same way, as the Makefile's builds.
./hack/vendor-libs.sh build
PKG_CFLAGS=$(./hack/vendor-libs.sh cflags)
PKG_LIBS=$(./hack/vendor-libs.sh libs)

# The pkg/ folders an area needs: itself, lw, and whatever its files
# include, followed until nothing new appears.
areas_for() {
  local todo=("$1" lw) seen=" " a inc
  while [ ${#todo[@]} -gt 0 ]; do
    a=${todo[0]}
    todo=("${todo[@]:1}")
    case "$seen" in *" $a "*) continue ;; esac
    [ -d "pkg/$a" ] || continue
    seen="$seen$a "
    while read -r inc; do
      todo+=("$inc")
    done < <(grep -ho '#include "[a-z]*/' pkg/"$a"/*.[ch] 2>/dev/null |
             sed 's/#include "//; s/\///' | sort -u)
  done
  echo "$seen"
}

targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  for f in hack/fuzz/fuzz_*.c; do
    [ -f "$f" ] && targets+=("$(basename "$f" .c)")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "run.sh: no fuzz targets in hack/fuzz" >&2
  exit 1
fi

# Builds what a target runs: the ASan+UBSan binary always (the smoke and
# the replay), and for long runs the two UBSan-only ones: "fast" keeps
# libFuzzer's comparison tracing (-fsanitize=fuzzer traces every compare,
# so mutations learn the constants the parser checks), "flat" drops it and
# runs about four times faster.  Prints nothing and returns 0 when all are
# newer than their sources.
build_target() {
  local t=$1 src="hack/fuzz/$1.c" area a kind bin san extra
  area=${t#fuzz_}
  area=${area%%_*}
  local srcs=() dirs=()
  for a in $(areas_for "$area"); do
    srcs+=(pkg/"$a"/*.c)
    dirs+=("pkg/$a")
  done
  local kinds=(asan)
  [ "$MODE" = fast ] && kinds+=(fast flat)
  for kind in "${kinds[@]}"; do
    extra=""
    case $kind in
      asan) bin="$OUT/$t" san=fuzzer,address,undefined ;;
      fast) bin="$OUT/$t.fast" san=fuzzer,undefined ;;
      flat) bin="$OUT/$t.flat" san=fuzzer,undefined extra=-fno-sanitize-coverage=trace-cmp ;;
    esac
    if [ -x "$bin" ] && [ -z "$(find "$src" hack/fuzz/*.h "${dirs[@]}" \
          -name '*.[ch]' -newer "$bin" 2>/dev/null | head -n 1)" ]; then
      continue
    fi
    echo "== $t: building ($kind)"
    # shellcheck disable=SC2086
    "$CLANG" -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
        -fsanitize=$san $extra -fno-sanitize-recover=undefined \
        -Ipkg $PKG_CFLAGS -o "$bin" "$src" "${srcs[@]}" $PKG_LIBS -lpthread -lm ||
      return 1
  done
}

# The input size cap of target t.
max_len_of() {
  local n=""
  if [ -n "${FUZZ_MAX_LEN:-}" ]; then
    n=$FUZZ_MAX_LEN
  elif [ -f "hack/fuzz/$1.options" ]; then
    n=$(sed -nE 's/^[[:space:]]*max_len[[:space:]]*=[[:space:]]*([0-9]+)[[:space:]]*$/\1/p' \
          "hack/fuzz/$1.options" | tail -n 1)
  fi
  echo "${n:-$DEFAULT_MAX_LEN}"
}

# One libFuzzer run of bin on the target's corpus for secs seconds; sets
# run_execs, run_rate, run_cov and returns libFuzzer's exit status.
fuzz_once() {
  local t=$1 bin=$2 secs=$3 log=$4
  # -reload=0: only one process fuzzes a corpus, so rereading it for other
  # processes' finds (every 10 s by default) is time lost to mutation.
  nice "./$bin" "$RUN/$t" -dict="hack/fuzz/dict/$t.dict" -max_total_time="$secs" \
    -max_len="$(max_len_of "$t")" -timeout=20 -rss_limit_mb=2048 -reload=0 \
    -print_final_stats=1 -artifact_prefix="$RUN/$t-" >"$log" 2>&1
  local rc=$?
  # -a: libFuzzer echoes input bytes (dictionary entries) into the log,
  # and grep would otherwise call it binary and print nothing.
  run_execs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  run_rate=$(grep -aoE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  run_cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+')
  return $rc
}

# Fuzzes one built target and writes its summary line to $RUN/$t.summary
# (and the word FAILED to $RUN/$t.failed when it found something).
fuzz_target() {
  local t=$1 asan_bin="$OUT/$1" corpus="$RUN/$1"
  mkdir -p "$corpus"
  if [ -d "hack/fuzz/corpus/$t" ]; then
    cp -n hack/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  fi
  # One log per run: a smoke run (tests/cli/fuzz_smoke.sh) while a long
  # run goes on must not overwrite the long run's figures.
  local log
  log="$OUT/$t.$(date +%Y%m%d-%H%M%S).$$.log"
  local before
  before=$(find "$RUN" -maxdepth 1 -name "$t-*" -type f | wc -l)
  : >"$log.start"
  rm -f "$RUN/$t.failed"
  local rc execs rate cov phases=""
  if [ "$MODE" = fast ]; then
    # A quarter of the time with comparison tracing, which finds the
    # constants and grows the corpus; the rest without it, mutating that
    # corpus up to four times as fast.  A target's executions are both
    # phases'.
    local guided=$(( SECONDS_PER_TARGET / 4 ))
    local flat=$(( SECONDS_PER_TARGET - guided ))
    echo "== $t: fuzzing for ${SECONDS_PER_TARGET}s (${guided}s compare-guided, ${flat}s flat; log $log)"
    fuzz_once "$t" "$OUT/$t.fast" "$guided" "$log"
    rc=$?
    local e1=${run_execs:-0} c1=${run_cov:-?}
    if [ $rc -eq 0 ]; then
      fuzz_once "$t" "$OUT/$t.flat" "$flat" "${log%.log}.flat.log"
      rc=$?
    else
      run_execs=0
    fi
    execs=$(( e1 + ${run_execs:-0} ))
    rate=$(( execs / SECONDS_PER_TARGET ))
    # Edges are counted by the compare-guided build (the flat one has
    # fewer counters and its own numbering), so that phase's figure is
    # the target's.
    cov=$c1
    phases=" ($e1 compare-guided + ${run_execs:-0} flat)"
  else
    echo "== $t: fuzzing for ${SECONDS_PER_TARGET}s, $MODE build (log $log)"
    fuzz_once "$t" "$asan_bin" "$SECONDS_PER_TARGET" "$log"
    rc=$?
    execs=$run_execs rate=$run_rate cov=$run_cov
  fi
  local crashes=$(( $(find "$RUN" -maxdepth 1 -name "$t-*" -type f | wc -l) - before ))
  local replay=""
  if [ "$MODE" = fast ]; then
    # The ASan replay: -runs=0 runs each input of the corpus once; the
    # findings are passed as files (libFuzzer runs each and stops at the
    # first that fails).
    local rlog="${log%.log}.asan-replay.log" found rrc
    mapfile -t found < <(find "$RUN" -maxdepth 1 -name "$t-*" -type f -newer "$log.start")
    nice "./$asan_bin" "$corpus" -runs=0 -max_len="$(max_len_of "$t")" -timeout=20 \
      -rss_limit_mb=2048 -artifact_prefix="$RUN/$t-asan-" >"$rlog" 2>&1
    rrc=$?
    if [ $rrc -eq 0 ] && [ ${#found[@]} -gt 0 ]; then
      nice "./$asan_bin" "${found[@]}" -timeout=20 -rss_limit_mb=2048 >>"$rlog" 2>&1
      rrc=$?
    fi
    replay=", ASan replay of the corpus: $([ $rrc -eq 0 ] && echo clean || echo "FAILED, see $rlog")"
    [ $rrc -ne 0 ] && [ $rc -eq 0 ] && rc=$rrc
  fi
  rm -f "$log.start"
  local files
  files=$(find "$corpus" -type f | wc -l)
  local line="$t: ${execs:-?} execs$phases, ${rate:-?} exec/s, ${cov:-?} edges, $crashes crashes, corpus $files files$replay"
  if [ $rc -ne 0 ]; then
    echo FAILED >"$RUN/$t.failed"
    echo "$line: FAILED (exit $rc), see $log" >"$RUN/$t.summary"
    grep -aE 'ERROR|invariant failed|SUMMARY|Test unit written' "$log" "${log%.log}.flat.log" 2>/dev/null | head -n 8
  else
    echo "$line" >"$RUN/$t.summary"
  fi
}

failed=()
summary=()
runnable=()
for t in "${targets[@]}"; do
  if [ ! -f "hack/fuzz/$t.c" ] || [ ! -f "hack/fuzz/dict/$t.dict" ]; then
    failed+=("$t (missing hack/fuzz/$t.c or hack/fuzz/dict/$t.dict)")
    summary+=("$t: not run: every target needs its source and a dictionary")
  elif ! build_target "$t"; then
    failed+=("$t (build)")
    summary+=("$t: build failed")
  else
    runnable+=("$t")
  fi
done

# FUZZ_JOBS targets at once, each on its own core.
for t in "${runnable[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
    wait -n
  done
  rm -f "$RUN/$t.summary"
  fuzz_target "$t" &
done
wait
for t in "${runnable[@]}"; do
  if [ -f "$RUN/$t.summary" ]; then
    summary+=("$(cat "$RUN/$t.summary")")
  else
    summary+=("$t: no result (the run was interrupted)")
    failed+=("$t")
  fi
  [ -f "$RUN/$t.failed" ] && failed+=("$t")
done

echo "== fuzz summary (${SECONDS_PER_TARGET}s per target, $MODE build, $JOBS at a time)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failing targets: ${failed[*]}"
  exit 1
fi
