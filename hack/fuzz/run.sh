#!/usr/bin/env bash
# hack/fuzz/run.sh SECONDS — builds every libFuzzer target in hack/fuzz
# and runs each for SECONDS, one after another (one core).
#
# A target hack/fuzz/fuzz_<area>_<name>.c is compiled with clang
# (-fsanitize=fuzzer,address,undefined) together with the sources of
# pkg/<area>/, of every pkg/ folder those include (followed transitively),
# and of pkg/lw/ — directly, not through the Makefile's library, so a broken
# file elsewhere in the tree cannot stop fuzzing.  A binary newer than all
# of its sources is reused.
#
# Inputs of a target T:
#   hack/fuzz/corpus/T/   seeds, small and committed (where they come from:
#                         hack/fuzz/README.md).  Files named regress-* are
#                         inputs that once crashed; libFuzzer replays every
#                         seed before mutating, so each run re-checks them.
#   hack/fuzz/dict/T.dict the target's dictionary (libFuzzer -dict=).
# The working corpus grows in hack/fuzz/corpus-run/T/ (ignored by git) and
# is kept between runs.  Crashing inputs are written next to it as
# hack/fuzz/corpus-run/T-crash-* (or -leak-, -timeout-, -oom-).
#
# Prints per target: executions, executions per second, edges covered and
# crashes; exits non-zero if any target found a crash, a leak or a timeout,
# or did not build.
# Environment: FUZZ_TARGETS (space-separated names, default all),
# FUZZ_MAX_LEN (default 65536), FUZZ_BUILD (asan or fast, see above),
# FUZZ_FAST_FROM (default 120), CLANG (default clang).
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
MAX_LEN=${FUZZ_MAX_LEN:-65536}
FAST_FROM=${FUZZ_FAST_FROM:-120}
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
RUN=hack/fuzz/corpus-run
mkdir -p "$OUT" "$RUN"

PKGS=(libcurl jansson yaml-0.1 openssl zlib libmicrohttpd)
PKG_CFLAGS=$(pkg-config --cflags "${PKGS[@]}" 2>/dev/null || true)
PKG_LIBS=$(pkg-config --libs "${PKGS[@]}" 2>/dev/null || echo "-lz")

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

failed=()
summary=()
for t in "${targets[@]}"; do
  src="hack/fuzz/$t.c"
  area=${t#fuzz_}
  area=${area%%_*}
  srcs=() dirs=()
  for a in $(areas_for "$area"); do
    srcs+=(pkg/"$a"/*.c)
    dirs+=("pkg/$a")
  done
  dict="hack/fuzz/dict/$t.dict"
  if [ ! -f "$src" ] || [ ! -f "$dict" ]; then
    failed+=("$t (missing $src or $dict)")
    summary+=("$t: not run: every target needs its source and a dictionary")
    continue
  fi
  build_failed=0
  for kind in asan $MODE; do
    if [ "$kind" = asan ]; then
      bin="$OUT/$t" san=fuzzer,address,undefined
    else
      bin="$OUT/$t.fast" san=fuzzer,undefined
    fi
    if [ -x "$bin" ] && [ -z "$(find "$src" hack/fuzz/*.h "${dirs[@]}" \
          -name '*.[ch]' -newer "$bin" 2>/dev/null | head -n 1)" ]; then
      continue
    fi
    echo "== $t: building ($kind)"
    # shellcheck disable=SC2086
    if ! "$CLANG" -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
        -fsanitize=$san -fno-sanitize-recover=undefined \
        -Ipkg $PKG_CFLAGS -o "$bin" "$src" "${srcs[@]}" $PKG_LIBS -lpthread -lm; then
      build_failed=1
      break
    fi
  done
  if [ $build_failed -eq 1 ]; then
    failed+=("$t (build)")
    summary+=("$t: build failed")
    continue
  fi
  asan_bin="$OUT/$t"
  bin=$asan_bin
  [ "$MODE" = fast ] && bin="$OUT/$t.fast"
  corpus="$RUN/$t"
  mkdir -p "$corpus"
  if [ -d "hack/fuzz/corpus/$t" ]; then
    cp -n hack/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  fi
  # One log per run: a smoke run (tests/cli/fuzz_smoke.sh) while a long
  # run goes on must not overwrite the long run's figures.
  log="$OUT/$t.$(date +%Y%m%d-%H%M%S).$$.log"
  before=$(find "$RUN" -maxdepth 1 -name "$t-*" -type f | wc -l)
  : >"$log.start"
  echo "== $t: fuzzing for ${SECONDS_PER_TARGET}s, $MODE build (log $log)"
  nice "./$bin" "$corpus" -dict="$dict" -max_total_time="$SECONDS_PER_TARGET" \
    -max_len="$MAX_LEN" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$RUN/$t-" >"$log" 2>&1
  rc=$?
  # -a: libFuzzer echoes input bytes (dictionary entries) into the log,
  # and grep would otherwise call it binary and print nothing.
  execs=$(grep -aoE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  rate=$(grep -aoE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+')
  crashes=$(( $(find "$RUN" -maxdepth 1 -name "$t-*" -type f | wc -l) - before ))
  replay=""
  if [ "$MODE" = fast ]; then
    # The ASan replay: -runs=0 runs each input of the corpus once; the
    # findings are passed as files (libFuzzer runs each and stops at the
    # first that fails).
    rlog="${log%.log}.asan-replay.log"
    mapfile -t found < <(find "$RUN" -maxdepth 1 -name "$t-*" -type f -newer "$log.start")
    nice "./$asan_bin" "$corpus" -runs=0 -max_len="$MAX_LEN" -timeout=20 \
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
  files=$(find "$corpus" -type f | wc -l)
  line="$t: ${execs:-?} execs, ${rate:-?} exec/s, ${cov:-?} edges, $crashes crashes, corpus $files files$replay"
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    summary+=("$line: FAILED (exit $rc), see $log")
    grep -aE 'ERROR|invariant failed|SUMMARY|Test unit written' "$log" | head -n 8
  else
    summary+=("$line")
  fi
done

echo "== fuzz summary (${SECONDS_PER_TARGET}s per target, $MODE build)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failing targets: ${failed[*]}"
  exit 1
fi
