# hack/bench/lib.sh — what every benchmark section shares: the cache of
# generated inputs and peer binaries, one way to time a command (median of
# repeated runs, wall clock, peak RSS, CPU), number formatting, and result
# records that run.sh turns into tables and JSON.
#
# Sourced by hack/bench/run.sh; sections (hack/bench/sections/*.sh) call
# these helpers and never time anything on their own, so every figure in a
# report is measured the same way.
#
# Not for: deciding what to measure (sections), or building leakwatch
# (make does that before `make bench` calls run.sh).
# shellcheck shell=bash  # sourced, never run on its own

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/../.." && pwd)"
# shellcheck disable=SC2034  # used by the sections run.sh sources
CACHE="${LEAKWATCH_CACHE:-$HOME/.cache/leakwatch}/bench"
OUT="${BENCH_OUT:-$BENCH_DIR/out}"
LEAKWATCH_BIN="${LEAKWATCH_BIN:-$ROOT/${BUILD:-build}/leakwatch}"
BENCH_REPS="${BENCH_REPS:-3}"
# A command whose first run takes longer than this is not repeated: its
# single run is reported as such.  Keeps a warm `make bench` well under ten
# minutes when a peer needs minutes per run.
BENCH_SLOW_SECONDS="${BENCH_SLOW_SECONDS:-45}"
# Measured commands run at this niceness.  0 by default: the figures are
# meant to say how fast a tool is, not how fast it is while yielding to
# other work.  Generation and builds are always niced.
BENCH_NICE="${BENCH_NICE:-0}"

export LC_ALL=C # decimal points in EPOCHREALTIME and printf

log()  { echo "bench: $*" >&2; }
die()  { echo "bench: error: $*" >&2; exit 2; }

# ------------------------------------------------------------------ go & cache

find_go() {
  [ -n "${GO:-}" ] && return 0
  if command -v go >/dev/null 2>&1; then
    GO="$(command -v go)"
  elif [ -x /usr/local/go/bin/go ]; then
    GO=/usr/local/go/bin/go
  else
    die "no Go toolchain found (need go on PATH or in /usr/local/go)"
  fi
  # The bench modules are standalone: no go.work, no caller GOFLAGS.
  export GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
  # shellcheck disable=SC2034  # used by the sections run.sh sources
  GO_VERSION="$("$GO" env GOVERSION)"
}

# go_module_key DIR LINE : a 12-hex content hash of the Go module in DIR
# (its .go files, go.mod and go.sum) and LINE (toolchain and parameters),
# naming a cache entry built from it.
go_module_key() {
  (
    cd "$1" || exit
    find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | sort |
      while read -r f; do echo "== $f"; cat "$f"; done
    echo "$2"
  ) | sha256sum | cut -c1-12
}

# go_module_build DIR OUT : a static build of the Go module in DIR, at low
# priority (the machine is shared with what is measured).
go_module_build() {
  (cd "$1" && CGO_ENABLED=0 nice -n 10 "$GO" build -trimpath -o "$2" .)
}

# cache_fill DIR BUILDER [ARGS...]
#   Fills cache entry DIR by calling BUILDER ARGS... TMPDIR, under a lock per
#   entry, then renames TMPDIR to DIR: interrupted or concurrent runs never
#   leave a half-built entry, and a complete one is never rebuilt.
cache_fill() {
  local dir="$1"; shift
  [ -f "$dir/.complete" ] && return 0
  mkdir -p "$(dirname "$dir")"
  local lockfd
  exec {lockfd}>"$dir.lock"
  if ! flock -n "$lockfd"; then
    log "waiting for another run filling $(basename "$dir")"
    flock "$lockfd"
  fi
  if [ -f "$dir/.complete" ]; then
    exec {lockfd}>&-
    return 0
  fi
  rm -rf "$dir" "$dir".tmp.*
  local tmp
  tmp="$(mktemp -d "$dir.tmp.XXXXXX")"
  if ! "$@" "$tmp"; then
    rm -rf "$tmp"
    exec {lockfd}>&-
    die "could not build $(basename "$dir")"
  fi
  touch "$tmp/.complete"
  chmod 0755 "$tmp"
  mv -T "$tmp" "$dir"
  exec {lockfd}>&-
}

# ------------------------------------------------------------------- measuring

# Each measurement appends one JSON object to $RESULTS (newline-delimited);
# sections read them back with result_get.
RESULTS=""
FAILURES=0

bench_begin() { # section name
  # Per-command output of an earlier run would only mislead.
  rm -rf "${OUT:?}/$1"
  mkdir -p "$OUT/$1"
  RESULTS="$OUT/.$1.results.jsonl"
  : >"$RESULTS"
  if [ -z "${RUN_TMP:-}" ]; then
    RUN_TMP="$(mktemp -d "${TMPDIR:-/tmp}/lwbench.XXXXXX")"
    trap 'rm -rf "$RUN_TMP"' EXIT
  fi
}

median() { # numbers... -> the median (upper median for even counts)
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int(NR / 2) + 1] }'
}

# warm FILE... : reads inputs once so every tool starts with them in the page
# cache, rather than the first tool paying for the disk.
warm() { cat "$@" >/dev/null; }

# measure ID LABEL BYTES -- CMD...
#   Runs CMD up to BENCH_REPS times (once if the first run is slower than
#   BENCH_SLOW_SECONDS), stdout to $OUT/<section>/ID.out, and records the
#   median wall time (microsecond clock), peak RSS, user and system CPU.
#   BYTES is the input size the throughput is computed from (0: none).
#   Returns non-zero, and counts a failure, when CMD exits non-zero.
measure() {
  local id="$1" label="$2" bytes="$3"; shift 4
  local outdir="$OUT/${SECTION:-misc}"
  mkdir -p "$outdir"
  local walls=() rsss=() users=() syss=() i t0 t1 rc line wall rss user sys
  for ((i = 1; i <= BENCH_REPS; i++)); do
    t0=$EPOCHREALTIME
    nice -n "$BENCH_NICE" /usr/bin/time -o "$RUN_TMP/time" -f '%M %U %S' \
      "$@" >"$outdir/$id.out" 2>"$outdir/$id.err"
    rc=$?
    t1=$EPOCHREALTIME
    if [ "$rc" -ne 0 ]; then
      FAILURES=$((FAILURES + 1))
      echo "bench: FAILED (exit $rc): $*" >&2
      grep -v '^Command exited with non-zero status' "$outdir/$id.err" | tail -n 5 | sed 's/^/    /' >&2
      jq -cn --arg id "$id" --arg lbl "$label" --arg cmd "$*" --argjson rc "$rc" \
        '{id: $id, "label": $lbl, command: $cmd, failed: true, exit_status: $rc}' >>"$RESULTS"
      return 1
    fi
    line="$(tail -n 1 "$RUN_TMP/time")"
    read -r rss user sys <<<"$line"
    wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')"
    walls+=("$wall"); rsss+=("$rss"); users+=("$user"); syss+=("$sys")
    if [ "$i" -eq 1 ] && awk -v w="$wall" -v s="$BENCH_SLOW_SECONDS" 'BEGIN { exit !(w > s) }'; then
      break
    fi
  done
  local mw mr mu ms
  mw="$(median "${walls[@]}")"; mr="$(median "${rsss[@]}")"
  mu="$(median "${users[@]}")"; ms="$(median "${syss[@]}")"
  jq -cn --arg id "$id" --arg lbl "$label" --arg cmd "$*" \
    --argjson bytes "$bytes" --argjson wall "$mw" --argjson rss "$mr" \
    --argjson user "$mu" --argjson sys "$ms" \
    --argjson walls "[$(IFS=,; echo "${walls[*]}")]" \
    --argjson rsss "[$(IFS=,; echo "${rsss[*]}")]" \
    '{id: $id, "label": $lbl, command: $cmd, failed: false, input_bytes: $bytes,
      runs: ($walls | length), wall_s: $wall, peak_rss_kb: $rss,
      user_s: $user, sys_s: $sys, runs_wall_s: $walls, runs_peak_rss_kb: $rsss,
      mb_per_s: (if $bytes > 0 and $wall > 0 then ($bytes / $wall / 1e6) else null end)}' >>"$RESULTS"
}

# skip ID LABEL WHY : records a measurement that was deliberately not run.
skip() {
  log "skipped $2: $3"
  jq -cn --arg id "$1" --arg lbl "$2" --arg why "$3" \
    '{id: $id, "label": $lbl, failed: false, skipped: $why}' >>"$RESULTS"
}

# result_get ID FIELD : a field of a recorded measurement ("" if absent).
result_get() {
  jq -r --arg id "$1" --arg f "$2" \
    'select(.id == $id) | .[$f] // empty' "$RESULTS" | tail -n 1
}

result_ok() { # ID : measured and succeeded
  [ -n "$(result_get "$1" wall_s)" ]
}

mem_available_kb() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }

# bench_check ARRAY NAME GOT WANT : a result sanity check, appended to the
# section's ARRAY as a JSON record and printed; a mismatch is reported
# loudly (a tool that skips input would otherwise look fast) but is not a
# failure to run.
bench_check() {
  local -n checks_=$1
  shift
  local status=ok
  [ "$2" = "$3" ] || status=WRONG
  checks_+=("$(jq -cn --arg n "$1" --arg got "$2" --arg want "$3" --arg s "$status" \
    '{check: $n, got: $got, want: $want, status: $s}')")
  if [ "$status" = ok ]; then
    printf '  check %-58s %s\n' "$1" "ok ($2)"
  else
    printf '  check %-58s WRONG: got %s, want %s\n' "$1" "${2:-nothing}" "$3"
  fi
}

# bench_target ARRAY NAME MEASURED_TEXT RATIO OK(1/0/"") FROM: prints one
# target's line and appends its JSON to the array named ARRAY.
bench_target() {
  local -n targets_=$1
  shift
  local status
  case "$4" in 1) status=OK ;; 0) status=MISSED ;; *) status="NOT MEASURED" ;; esac
  printf '  %-46s %-40s %-14s %s\n' "$1" "$2" "${3:+${3}x target}" "$status"
  targets_+=("$(jq -cn --arg n "$1" --arg m "$2" --arg r "$3" --arg s "$status" --arg w "$5" \
    '{target: $n, measured: $m, ratio_to_target: (if $r == "" then null else ($r | tonumber) end),
      status: $s, from: $w}')")
}

# What a section's report says it ran on: the leakwatch under test (which
# must be built), its version without the "leakwatch " prefix, the CPU and
# the load average.
need_leakwatch() {
  [ -x "$LEAKWATCH_BIN" ] || die "$LEAKWATCH_BIN not found: run make first"
}
leakwatch_version() {
  local v
  v="$("$LEAKWATCH_BIN" version 2>/dev/null | head -n 1)"
  echo "${v#leakwatch }"
}
cpu_model() { sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1; }
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

# ------------------------------------------------------------ cluster & traps

bench_now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

bench_fail() { # WHAT : a process the benchmark runs did not run
  FAILURES=$((FAILURES + 1))
  echo "bench: FAILED: $*" >&2
}

# bench_stop_child PID: a child of this shell stopped with TERM (KILL after
# 20 s) and reaped; BENCH_RC is its exit status, or "timeout" when it had
# to be killed (a graceful stop is part of the controller's contract).
# shellcheck disable=SC2034  # BENCH_RC is read by the caller
bench_stop_child() {
  local i
  kill -TERM "$1" 2>/dev/null
  for ((i = 0; i < 200; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    BENCH_RC=timeout
  else
    wait "$1"; BENCH_RC=$?
  fi
}

bench_stop_pid() { # PID [SECONDS] : TERM, then KILL after SECONDS
  local pid="$1" t="${2:-10}" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < t * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
}

# bench_cluster_up: the local cluster (hack/cluster.sh) started or found,
# KUBECONFIG exported and BENCH_KUBECTL set; 1 when it did not start.  Not
# in a subshell: what it sets would be lost.
bench_cluster_up() {
  local up
  up="$("$ROOT/hack/cluster.sh" up)" || return 1
  eval "$up"
  export KUBECONFIG
  # shellcheck disable=SC2034  # read by the sections
  BENCH_KUBECTL="$("$ROOT/hack/tools.sh" path kubectl)"
}

# bench_traps_push CLEANUP: until bench_traps_pop, CLEANUP runs on any exit
# (then the EXIT trap found here), and INT and TERM exit through it, so
# nothing a section started outlives a failed or interrupted run.
BENCH_SAVED_EXIT="" BENCH_SAVED_INT="" BENCH_SAVED_TERM=""
bench_traps_push() {
  local cleanup=$1
  eval "set -- $(trap -p EXIT)"; BENCH_SAVED_EXIT="${3:-}"
  eval "set -- $(trap -p INT)"; BENCH_SAVED_INT="${3:-}"
  eval "set -- $(trap -p TERM)"; BENCH_SAVED_TERM="${3:-}"
  # shellcheck disable=SC2064  # CLEANUP is named now; the saved trap is read at exit
  trap "$cleanup; eval \"\$BENCH_SAVED_EXIT\"" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# bench_traps_pop: the traps bench_traps_push found, back (after the section
# ran its CLEANUP itself).
bench_traps_pop() {
  trap - INT TERM
  # shellcheck disable=SC2064  # restores the caller's traps, saved as text
  {
    [ -n "$BENCH_SAVED_INT" ] && trap "$BENCH_SAVED_INT" INT
    [ -n "$BENCH_SAVED_TERM" ] && trap "$BENCH_SAVED_TERM" TERM
    if [ -n "$BENCH_SAVED_EXIT" ]; then trap "$BENCH_SAVED_EXIT" EXIT; else trap - EXIT; fi
  }
}

# ------------------------------------------------------------------ formatting

fmt_secs() { # seconds -> "0.123 s" / "12.3 s"
  awk -v s="$1" 'BEGIN {
    if (s == "") { print "-"; exit }
    if (s < 0.01) printf "%.2f ms\n", s * 1000
    else if (s < 1) printf "%.3f s\n", s
    else if (s < 100) printf "%.2f s\n", s
    else printf "%.0f s\n", s }'
}

fmt_bytes() { # bytes -> "113 MB" / "1.13 GB" (decimal units)
  awk -v b="$1" 'BEGIN {
    if (b == "") { print "-"; exit }
    if (b >= 1e9) printf "%.2f GB\n", b / 1e9
    else if (b >= 1e6) printf "%.0f MB\n", b / 1e6
    else if (b >= 1e3) printf "%.1f kB\n", b / 1e3
    else printf "%d B\n", b }'
}

fmt_rss() { # KiB (as /usr/bin/time reports) -> "41 MB" / "1.2 GB"
  awk -v k="$1" 'BEGIN {
    if (k == "") { print "-"; exit }
    b = k * 1024
    if (b >= 1e9) printf "%.2f GB\n", b / 1e9
    else printf "%.1f MB\n", b / 1e6 }'
}

fmt_rate() { # bytes/s as MB/s -> "1.08 GB/s" / "12.1 MB/s"
  awk -v r="$1" 'BEGIN {
    if (r == "" || r == "null") { print "-"; exit }
    if (r >= 1000) printf "%.2f GB/s\n", r / 1000
    else printf "%.1f MB/s\n", r }'
}

ratio() { # a b -> a/b to 4 significant digits, "" when either is missing
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "" || b == "" || b == 0) exit
    printf "%.4g\n", a / b }'
}
