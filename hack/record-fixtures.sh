#!/usr/bin/env bash
# record-fixtures.sh — regenerates tests/fixtures/ from live Go processes.
#
# Builds tests/targets (one small program per behaviour) and
# tests/targets/catalog (the runbooks' catalogue as services on real
# libraries, with a bursty healthy background) with several Go releases,
# runs every behaviour on
# 127.0.0.1 (all in parallel), and records a series of goroutine profiles from
# each: /debug/pprof/goroutine in debug=1, debug=2 and proto form plus
# /metrics, a few seconds' worth of a freshly started peer, and — where the
# toolchain has GOEXPERIMENT=goroutineleakprofile — /debug/pprof/goroutineleak.
# Each recording is checked against its expectation (the leak's stack and wait
# reason really grow; the controls stay flat or drain) before anything in
# tests/fixtures/ is replaced.
#
# Usage: hack/record-fixtures.sh
#   About 80 s for tests/targets when the builds are cached (one 63 s
#   recording window, all behaviours and toolchains at once); the catalog's
#   ticker and blocked-select recordings run 3.5 minutes so that blocked
#   minutes appear. The first run also downloads the older toolchains and
#   builds grpc and sqlite with each, a few minutes more.
# Knobs (environment):
#   MODULES             which programs to record: "targets catalog" (default)
#   GO_VERSIONS         toolchains to record tests/targets with; "local" is
#                       the installed go (default: "local go1.22.12 go1.20.14
#                       go1.19.13")
#   BEHAVIORS           subset of tests/targets behaviours (default: all)
#   LEAKPROF_BEHAVIORS  behaviours also recorded with the goroutineleak profile
#   CATALOG_GO_VERSIONS toolchains for the catalog (default "local go1.22.12";
#                       its go.mod floor is 1.22)
#   CATALOG_BEHAVIORS   catalog behaviours recorded with the local toolchain
#   CATALOG_OLD_BEHAVIORS  the subset recorded with the older toolchains
#   CATALOG_LEAKPROF_BEHAVIORS  the subset also recorded with the
#                       goroutineleak profile (a separate process: collecting
#                       that profile changes later dumps)
#   SNAPSHOTS INTERVAL WARMUP PEER_AGE   series shape, in seconds (5 12 3 6);
#                       series_for lengthens it where a behaviour needs more
#   JOBS                concurrent recordings, 0 = all at once (default 0)
#   MIN_GROWTH          goroutines a leak must gain over the series (60)
#   FIXTURES_DIR        write somewhere else than tests/fixtures
#   KEEP_PARTIAL=1      install the recordings that passed their check even
#                       when others failed (then re-record the rest alone)
# Older toolchains come from the Go module proxy via GOTOOLCHAIN; nothing else
# touches the network and every process listens on 127.0.0.1 only.
set -euo pipefail
export LC_ALL=C # sort/join keys must collate identically

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/tests/targets
CATALOG_SRC=$ROOT/tests/targets/catalog
MODULES=${MODULES:-"targets catalog"}
OUT=${FIXTURES_DIR:-$ROOT/tests/fixtures}

# words TEXT: TEXT's words single-spaced on one line, so that a list travels
# in a |-separated record; unlike an unquoted $(echo ...), no globbing.
# commas A B ... : the arguments joined with "," (a manifest's list field).
commas() { local IFS=,; echo "$*"; }
words() { local -a w; read -r -d '' -a w <<<"$1" || true; echo "${w[*]}"; }

GO_VERSIONS=${GO_VERSIONS:-"local go1.22.12 go1.20.14 go1.19.13"}
ALL_BEHAVIORS="chan-send chan-receive select nil-channel waitgroup mutex sleep-loop
  http-body-not-closed grpc-conn-not-closed steady-pool burst plateau"
BEHAVIORS=$(words "${BEHAVIORS:-$ALL_BEHAVIORS}")
# chan-send and waitgroup are caught by the leak profile; mutex is not (the
# mutex stays reachable), which is worth having on record too.
LEAKPROF_BEHAVIORS=${LEAKPROF_BEHAVIORS-"chan-send waitgroup mutex"}
CATALOG_GO_VERSIONS=${CATALOG_GO_VERSIONS:-"local go1.22.12"}
CATALOG_ALL="grpc-conn grpc-stream sql-rows sql-pool sse-write ticker-loop reply-wait cond-wait
  semaphore queue-range two-leaks tenant-leak keepalive-pool grpc-bursts sawtooth conn-scaled"
CATALOG_BEHAVIORS=$(words "${CATALOG_BEHAVIORS:-$CATALOG_ALL}")
# Older Go: the library-owned stacks (grpc, database/sql) and the label
# dialect (debug=1 only before go1.26); fewer files.
CATALOG_OLD="grpc-conn grpc-stream sql-rows tenant-leak"
CATALOG_OLD_BEHAVIORS=$(words "${CATALOG_OLD_BEHAVIORS-$CATALOG_OLD}")
# queue-range is caught by the detector; sql-rows and cond-wait are not
# (database/sql's context and the Cond stay reachable).
CATALOG_LEAKPROF="queue-range sql-rows cond-wait"
# Older toolchains record a shorter series (snapshots, interval), to keep the
# fixtures small.
CATALOG_OLD_SERIES=${CATALOG_OLD_SERIES:-"3 20"}
CATALOG_LEAKPROF_BEHAVIORS=$(words "${CATALOG_LEAKPROF_BEHAVIORS-$CATALOG_LEAKPROF}")
SNAPSHOTS=${SNAPSHOTS:-5}
INTERVAL=${INTERVAL:-12}
WARMUP=${WARMUP:-3}
PEER_AGE=${PEER_AGE:-6}
JOBS=${JOBS:-0}
MIN_GROWTH=${MIN_GROWTH:-60} # a leak recording must grow at least this much

# ---------------------------------------------------------------------------
# What each behaviour is expected to show. Rates are tuned so a leak grows by
# about 100 goroutines over the series: an unmistakable trend, yet debug=2
# dumps stay small. -max-leak only guards against a runaway process.

# flags_for BEHAVIOR -> target flags
flags_for() {
  case $1 in
    chan-send) echo "-rate 1 -max-leak 600" ;;               # 2 per request
    chan-receive | select | nil-channel | waitgroup | mutex | sleep-loop)
      echo "-rate 2 -max-leak 600" ;;                        # 1 per request
    http-body-not-closed) echo "-rate 0.7 -max-leak 600" ;;  # 3 per request
    grpc-conn-not-closed) echo "-rate 0.25 -max-leak 600" ;; # 8 per request
    steady-pool) echo "-rate 20 -workers 8" ;;
    # Catalog services (tests/targets/catalog), bursty background on.
    grpc-conn) echo "-rate 0.5 -max-leak 1000" ;;             # 5 per request
    sse-write) echo "-rate 1.5 -max-leak 1000" ;;             # 2 per request
    ticker-loop | reply-wait) echo "-rate 0.5 -max-leak 1000" ;; # long series
    grpc-stream | sql-rows | cond-wait | semaphore | queue-range | two-leaks)
      echo "-rate 2 -max-leak 1000" ;;
    # A 16-connection pool, full after 8 s: the series sees the queue grow.
    sql-pool) echo "-rate 2 -max-leak 1000 -max-conns 16" ;;
    tenant-leak) echo "-rate 6 -max-leak 1000" ;;             # 1 in 3 leaks (acme)
    keepalive-pool) echo "-rate 5" ;;
    grpc-bursts) echo "-rate 3" ;;
    sawtooth) echo "-rate 1" ;;
    conn-scaled) echo "-rate 4" ;;                             # 100 viewers in ~25 s
    # Bursts at 10 s, 34 s, …: snapshots 2 and 4 land mid-burst, 1, 3 and 5
    # (and the peer) on the baseline.
    burst) echo "-rate 10 -burst-delay 10s -burst-every 24s -burst-size 120" ;;
    plateau) echo "-rate 5 -streams 100 -ramp 30s" ;;
    *) echo "unknown behaviour $1" >&2; return 1 ;;
  esac
}

# env_for BEHAVIOR -> VAR=value words for the target's environment
env_for() {
  case $1 in
    # go1.26 prints pprof labels in debug=2 headers only with this setting.
    tenant-leak) echo "GODEBUG=tracebacklabels=1" ;;
  esac
}

# static_pattern_for BEHAVIOR -> what the stack alone says, when the expected
# pattern needs behaviour over time (ids, blocked minutes) to be told
static_pattern_for() {
  case $1 in
    ticker-loop) echo select ;;
  esac
}

# series_for BEHAVIOR -> "snapshots interval warmup peer_age" (seconds)
series_for() {
  case $1 in
    # A ticker loop never shows "N minutes" (it wakes every tick) while a
    # genuinely blocked select does: both need captures past 3 minutes.
    ticker-loop | reply-wait) echo "5 50 8 6" ;;
    # The catalog's background needs a few seconds to reach its level
    # (first burst after 3-9 s).
    grpc-* | sql-rows | sql-pool | sse-write | cond-wait | semaphore | queue-range | two-leaks | \
      tenant-leak | keepalive-pool | sawtooth | conn-scaled) echo "$SNAPSHOTS $INTERVAL 8 $PEER_AGE" ;;
    *) echo "$SNAPSHOTS $INTERVAL $WARMUP $PEER_AGE" ;;
  esac
}

# expect_for BEHAVIOR GO_MINOR -> "verdict|pattern|top function|wait reason|growing stacks|leaks|labels"
# leaks: "pattern@function,..." when one process holds several independent
# leaks (each must be its own finding); labels: "key=value" of the label
# the leak's growth is concentrated in.
# The top function is the innermost frame outside the blocking machinery
# (runtime, sync, time, internal/..., net, io, bufio, x/net/http2 framing).
# Growing stacks ("function [wait reason]", comma-separated) are listed when a
# leak strands several kinds of goroutine per request; else just the top one.
expect_for() {
  local b=$1 minor=$2 sema_mutex=semacquire sema_wg=semacquire
  # Dedicated wait reasons replaced "semacquire": Mutex in 1.20, WaitGroup in 1.24.
  if ((minor >= 20)); then sema_mutex="sync.Mutex.Lock"; fi
  if ((minor >= 24)); then sema_wg="sync.WaitGroup.Wait"; fi
  local grpc=google.golang.org/grpc/internal
  case $b in
    chan-send) echo "leak|chan-send|main.(*fetcher).gather.func1|chan send|" ;;
    chan-receive) echo "leak|chan-receive|main.(*indexer).consume|chan receive|" ;;
    select) echo "leak|select|main.(*dispatcher).awaitReply|select|" ;;
    nil-channel) echo "leak|nil-channel|main.(*sessionManager).expireOnDone|chan receive (nil chan)|" ;;
    waitgroup) echo "leak|waitgroup|main.(*batcher).awaitAll|$sema_wg|" ;;
    mutex) echo "leak|mutex|main.(*configCache).lookup|$sema_mutex|" ;;
    sleep-loop) echo "leak|sleep-loop|main.(*poller).pollUntilReady|sleep|" ;;
    http-body-not-closed)
      echo "leak|http-body-not-closed|net/http.(*persistConn).readLoop|select|$(
        commas 'net/http.(*persistConn).readLoop [select]' \
          'net/http.(*persistConn).writeLoop [select]' \
          'net/http.(*connReader).Read [IO wait]')" ;;
    grpc-conn-not-closed)
      echo "leak|grpc-conn-not-closed|$grpc/grpcsync.(*CallbackSerializer).run|select|$(
        commas "$grpc/grpcsync.(*CallbackSerializer).run [select]" \
          "$grpc/transport.(*http2Client).reader [IO wait]" \
          "$grpc/transport.(*controlBuffer).get [select]" \
          "$grpc/transport.(*http2Server).HandleStreams [IO wait]" \
          "$grpc/transport.(*http2Server).keepalive [select]")" ;;
    steady-pool) echo "no-leak||main.(*workerPool).worker|chan receive|" ;;
    burst) echo "no-leak||main.(*burster).slowRequest|sleep|" ;;
    plateau) echo "no-leak||main.(*hub).serveStream|select|" ;;
    grpc-conn)
      echo "leak|grpc-conn-not-closed|$grpc/grpcsync.(*CallbackSerializer).run|select|$(
        commas "$grpc/grpcsync.(*CallbackSerializer).run [select]" \
          "$grpc/transport.(*http2Client).reader [IO wait]" \
          "$grpc/transport.(*controlBuffer).get [select]")" ;;
    grpc-stream) echo "leak|grpc-stream-not-cancelled|google.golang.org/grpc.newClientStreamWithParams.func4|select|" ;;
    sql-rows) echo "leak|sql-rows-not-closed|database/sql.(*Rows).awaitDone|select|" ;;
    # Past the pool's size the rows stop growing and the callers queued
    # for a connection grow instead: same cause, same fix.
    sql-pool) echo "leak|sql-rows-not-closed|main.(*orderHistory).lastOrderTotal|select|" ;;
    sse-write)
      echo "leak|network-io|main.(*newsFeed).serveEvents|IO wait|$(
        commas 'main.(*newsFeed).serveEvents [IO wait]' \
          'net/http.(*connReader).backgroundRead [IO wait]')" ;;
    ticker-loop) echo "leak|sleep-loop|main.(*quoteRefresher).keepFresh|select|" ;;
    reply-wait) echo "leak|select|main.(*rpcMux).call|select|" ;;
    cond-wait) echo "leak|cond|main.(*replicaLog).appendAndWait|sync.Cond.Wait|" ;;
    semaphore) echo "leak|semaphore|main.(*exportService).export|select|" ;;
    queue-range) echo "leak|chan-receive|main.(*searchIndexer).consume|chan receive|" ;;
    two-leaks)
      echo "leak|sql-rows-not-closed|database/sql.(*Rows).awaitDone|select|$(
        commas 'database/sql.(*Rows).awaitDone [select]' \
          'main.(*replicaLog).appendAndWait [sync.Cond.Wait]')|$(
        commas 'sql-rows-not-closed@database/sql.(*Rows).awaitDone' \
          'cond@main.(*replicaLog).appendAndWait')" ;;
    tenant-leak) echo "leak|chan-receive|main.(*usageMeter).flush|chan receive|||tenant=acme" ;;
    keepalive-pool) echo "no-leak||net/http.(*persistConn).readLoop|IO wait|" ;;
    grpc-bursts) echo "no-leak||main.(*feedSampler).sample|select|" ;;
    sawtooth) echo "no-leak||main.(*nightlyBatch).reconcile|chan receive|" ;;
    conn-scaled) echo "no-leak||main.(*dashboardHub).push|select|" ;;
    *) return 1 ;;
  esac
}

# ---------------------------------------------------------------------------
log() { printf '%s record-fixtures: %s\n' "$(date +%T)" "$*" >&2; }
now_ms() { date +%s%3N; }

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/record-fixtures.XXXXXX")
PIDS=$SCRATCH/pids
: >"$PIDS"

cleanup() {
  local pid
  # Targets first (recorded by pid as they start; a pid is only killed while
  # it still runs one of our binaries), then the recorder subshells.
  while read -r pid; do
    if [[ $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true) == "$SCRATCH/bin/"* ]]; then
      kill "$pid" 2>/dev/null || true
    fi
  done <"$PIDS"
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in curl jq awk; do
  command -v "$tool" >/dev/null || { echo "record-fixtures: $tool is required (hack/install-deps.sh)" >&2; exit 1; }
done

# goroot_for VERSION -> a GOROOT without '@' in its path. Toolchains fetched
# through GOTOOLCHAIN live in the module cache (…/toolchain@v0.0.1-go1.19.13…)
# and go1.19 cannot build from a GOROOT spelled like that ("import of unknown
# directory"), so every toolchain is used through a symlink in the scratch
# directory.
goroot_for() {
  local v=$1 real
  if [[ $v == local ]]; then
    real=$(GOTOOLCHAIN=local go env GOROOT)
  else
    real=$(cd "$SRC" && GOTOOLCHAIN=$v go env GOROOT)
  fi
  ln -sfn "$real" "$SCRATCH/goroot-$v"
  echo "$SCRATCH/goroot-$v"
}

# build GOROOT OUTPUT [GOEXPERIMENT] — -trimpath keeps machine paths out of
# the recorded stacks (frames read leakwatch.dev/targets/…, runtime/…).
build() {
  local groot=$1 out=$2 exp=${3:-} src=${4:-$SRC}
  (cd "$src" && GOTOOLCHAIN=local GOROOT=$groot GOEXPERIMENT=$exp GOFLAGS=-buildvcs=false \
    nice "$groot/bin/go" build -trimpath -o "$out" .)
}

BIN=$SCRATCH/bin
STAGE=$SCRATCH/fixtures
mkdir -p "$BIN" "$STAGE"

# Each entry: "fixture-dir-name|binary|behaviours|leakprof(0/1)|go-minor[|series override]"
RUNS=()
[[ " $MODULES " == *" targets "* ]] || GO_VERSIONS=""
for v in $GO_VERSIONS; do
  groot=$(goroot_for "$v")
  gover=$(GOTOOLCHAIN=local GOROOT=$groot "$groot/bin/go" version | awk '{print $3}')
  minor=$(echo "$gover" | sed -E 's/^go1\.([0-9]+).*/\1/')
  log "building with $gover"
  build "$groot" "$BIN/targets-$gover"
  RUNS+=("$gover|$BIN/targets-$gover|$BEHAVIORS|0|$minor")
  if [[ $v == local && -n $LEAKPROF_BEHAVIORS ]]; then
    if [[ -f $groot/src/internal/goexperiment/exp_goroutineleakprofile_on.go ]]; then
      log "building with $gover GOEXPERIMENT=goroutineleakprofile"
      build "$groot" "$BIN/targets-$gover-leakprof" goroutineleakprofile
      RUNS+=("$gover-goroutineleakprofile|$BIN/targets-$gover-leakprof|$LEAKPROF_BEHAVIORS|1|$minor")
    else
      log "$gover has no goroutineleakprofile experiment; skipping goroutineleak recordings"
    fi
  fi
done

# The catalog: its fixture directories are named catalog-<go version>.
[[ " $MODULES " == *" catalog "* ]] || CATALOG_GO_VERSIONS=""
for v in $CATALOG_GO_VERSIONS; do
  groot=$(goroot_for "$v")
  gover=$(GOTOOLCHAIN=local GOROOT=$groot "$groot/bin/go" version | awk '{print $3}')
  minor=$(echo "$gover" | sed -E 's/^go1\.([0-9]+).*/\1/')
  behaviors=$CATALOG_BEHAVIORS
  [[ $v == local ]] || behaviors=$CATALOG_OLD_BEHAVIORS
  [[ -n $behaviors ]] || continue
  log "building the catalog with $gover"
  build "$groot" "$BIN/catalog-$gover" "" "$CATALOG_SRC"
  series=""
  [[ $v == local ]] || series=$CATALOG_OLD_SERIES
  RUNS+=("catalog-$gover|$BIN/catalog-$gover|$behaviors|0|$minor|$series")
  if [[ $v == local && -n $CATALOG_LEAKPROF_BEHAVIORS &&
    -f $groot/src/internal/goexperiment/exp_goroutineleakprofile_on.go ]]; then
    log "building the catalog with $gover GOEXPERIMENT=goroutineleakprofile"
    build "$groot" "$BIN/catalog-$gover-leakprof" goroutineleakprofile "$CATALOG_SRC"
    RUNS+=("catalog-$gover-goroutineleakprofile|$BIN/catalog-$gover-leakprof|$CATALOG_LEAKPROF_BEHAVIORS|1|$minor")
  fi
done

# ---------------------------------------------------------------------------
# start_target BINARY BEHAVIOR LOGPREFIX -> "pid addr started_ms"
start_target() {
  local bin=$1 b=$2 lp=$3 started pid addr i
  started=$(now_ms)
  # shellcheck disable=SC2046 # flags are word lists by design
  env $(env_for "$b") "$bin" -behavior "$b" -listen 127.0.0.1:0 $(flags_for "$b") >"$lp.out" 2>"$lp.err" &
  pid=$!
  echo "$pid" >>"$PIDS"
  for ((i = 0; i < 100; i++)); do
    addr=$(sed -n 's/^listening on \(127\.0\.0\.1:[0-9]*\)$/\1/p' "$lp.out" 2>/dev/null || true)
    [[ -n $addr ]] && break
    sleep 0.1
  done
  [[ -n $addr ]] || { echo "record-fixtures: $b did not start: $(cat "$lp.err")" >&2; return 1; }
  echo "$pid $addr $started"
}

fetch() { # ADDR PATH FILE
  curl --silent --show-error --fail --noproxy '*' --max-time 30 -o "$3" "http://$1$2"
}

# capture ADDR PREFIX LEAKPROF -> "captured_ms go_goroutines"
# /metrics first so go_goroutines and the dumps describe the same moment; the
# goroutineleak profile last because collecting it marks leaked goroutines,
# which later goroutine dumps of the same process then show as "(leaked)".
capture() {
  local addr=$1 p=$2 leakprof=$3 t n
  t=$(now_ms)
  fetch "$addr" /metrics "$p.metrics.txt"
  fetch "$addr" "/debug/pprof/goroutine?debug=1" "$p.debug1.txt"
  fetch "$addr" "/debug/pprof/goroutine?debug=2" "$p.debug2.txt"
  fetch "$addr" /debug/pprof/goroutine "$p.pb.gz"
  if [[ $leakprof == 1 ]]; then
    fetch "$addr" "/debug/pprof/goroutineleak?debug=1" "$p.goroutineleak.debug1.txt"
    fetch "$addr" "/debug/pprof/goroutineleak?debug=2" "$p.goroutineleak.debug2.txt"
    fetch "$addr" /debug/pprof/goroutineleak "$p.goroutineleak.pb.gz"
  fi
  n=$(awk '$1 == "go_goroutines" { print $2 }' "$p.metrics.txt")
  echo "$t $n"
}

sleep_until_ms() {
  local d=$(($1 - $(now_ms)))
  ((d > 0)) && sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
  return 0
}

# stacks DEBUG2_FILE -> lines "count<TAB>function<TAB>file:line<TAB>wait reason"
# grouping goroutines by the frame leakwatch names: the innermost one outside
# the standard library and the blocking machinery when there is one (an SSE
# handler, not net/http's writer), else the innermost outside the machinery.
stacks() {
  awk '
    function flush() {
      if (reason != "") {
        if (fn == "") { fn = fb; loc = fbloc }
        key = fn "\t" loc "\t" reason; n[key]++
      }
      reason = ""; fn = ""; loc = ""; fb = ""; fbloc = ""; want = 0; wantfb = 0
    }
    /^goroutine [0-9]+ / {
      flush()
      r = $0; sub(/^[^[]*\[/, "", r); sub(/\]:$/, "", r)
      sub(/, [0-9]+ minutes/, "", r); sub(/, locked to thread/, "", r)
      sub(/ \(leaked\)/, "", r); sub(/ \(scan\)/, "", r); sub(/ labels:\{.*\}$/, "", r)
      reason = r; next
    }
    reason == "" { next }
    /^\t/ {
      if (want) { loc = $1; want = 0 }
      if (wantfb) { fbloc = $1; wantfb = 0 }
      next
    }
    /^created by / || /^$/ { if (/^$/) flush(); next }
    fn == "" {
      f = $0; sub(/\([^()]*\)$/, "", f)
      machinery = f ~ /^(runtime|sync|time|net|io|bufio|golang\.org\/x\/net\/http2|golang\.org\/x\/sync)[.\/]|^internal\// && f !~ /^net\/http\./
      # standard library: no dot in the first path element (main aside)
      if (index(f, "/")) { elem = substr(f, 1, index(f, "/") - 1); stdlib = elem !~ /\./ }
      else stdlib = f !~ /^main\./
      if (!machinery && fb == "") { fb = f; wantfb = 1 }
      if (!machinery && !stdlib) { fn = f; want = 1 }
    }
    END { flush(); for (k in n) print n[k] "\t" k }
  ' "$1" | sort -t$'\t' -k1,1nr
}

# record RUN_DIR BINARY BEHAVIOR LEAKPROF MINOR [SERIES]
# SERIES ("snapshots interval") overrides series_for's count and interval.
record() {
  local dir=$1 bin=$2 b=$3 leakprof=$4 minor=$5 override=${6:-}
  local lp
  lp=$SCRATCH/log-$(basename "$dir")-$b
  local pid addr t0 ppid paddr pstart ptime pcount i p due
  local -a times counts
  # The series shape may differ per behaviour; shadow the globals.
  local series
  series=$(series_for "$b")
  local SNAPSHOTS INTERVAL WARMUP PEER_AGE
  read -r SNAPSHOTS INTERVAL WARMUP PEER_AGE <<<"$series"
  [[ -z $override ]] || read -r SNAPSHOTS INTERVAL <<<"$override"
  mkdir -p "$dir/$b"
  read -r pid addr t0 < <(start_target "$bin" "$b" "$lp")
  [[ -n ${pid:-} ]] || return 1
  for ((i = 1; i <= SNAPSHOTS; i++)); do
    due=$((t0 + (WARMUP + (i - 1) * INTERVAL) * 1000))
    if ((i == SNAPSHOTS)); then
      # The peer: same behaviour, started late, a few seconds old when seen.
      sleep_until_ms $((due - PEER_AGE * 1000))
      read -r ppid paddr pstart < <(start_target "$bin" "$b" "$lp-peer")
      [[ -n ${ppid:-} ]] || return 1
    fi
    sleep_until_ms "$due"
    p=$(printf '%s/%s/%02d' "$dir" "$b" "$i")
    read -r "times[i]" "counts[i]" < <(capture "$addr" "$p" "$leakprof")
  done
  read -r ptime pcount < <(capture "$paddr" "$dir/$b/peer" "$leakprof")
  kill "$pid" "$ppid" 2>/dev/null || true

  # Manifest.
  IFS='|' read -r verdict pattern top reason growing leaks labels < <(expect_for "$b" "$minor")
  local snaps
  snaps=$SCRATCH/snaps-$(basename "$dir")-$b
  : >"$snaps"
  for ((i = 1; i <= SNAPSHOTS; i++)); do
    p=$(printf '%02d' "$i")
    local leaktotal=null
    if [[ $leakprof == 1 ]]; then
      leaktotal=$(sed -n 's/^goroutineleak profile: total \([0-9]*\)$/\1/p' "$dir/$b/$p.goroutineleak.debug1.txt")
    fi
    jq -n --argjson i "$i" --argjson t "${times[i]}" --argjson n "${counts[i]}" --arg p "$p" \
      --argjson lp "$leakprof" --argjson lt "$leaktotal" '{index: $i, captured_at_unix_ms: $t, go_goroutines: $n}
      + (if $lp == 1 then {goroutineleak_total: $lt} else {} end) + {
        files: ({debug1: "\($p).debug1.txt", debug2: "\($p).debug2.txt", proto: "\($p).pb.gz",
                 metrics: "\($p).metrics.txt"}
                + (if $lp == 1 then {goroutineleak_debug1: "\($p).goroutineleak.debug1.txt",
                   goroutineleak_debug2: "\($p).goroutineleak.debug2.txt",
                   goroutineleak_proto: "\($p).goroutineleak.pb.gz"} else {} end))}' >>"$snaps"
  done
  # What actually grew between the first and last snapshot, per stack.
  local first last obs
  first=$(printf '%s/%s/01.debug2.txt' "$dir" "$b")
  last=$(printf '%s/%s/%02d.debug2.txt' "$dir" "$b" "$SNAPSHOTS")
  obs=$(join -t$'\t' -a2 -e0 -o 0,1.2,2.2 \
    <(stacks "$first" | awk -F'\t' '{print $2" @ "$3" ["$4"]\t"$1}' | sort -t$'\t' -k1,1) \
    <(stacks "$last" | awk -F'\t' '{print $2" @ "$3" ["$4"]\t"$1}' | sort -t$'\t' -k1,1) |
    awk -F'\t' '{print $3 - $2 "\t" $1}' | sort -t$'\t' -k1,1nr -k2,2 | head -1)
  local ogrowth=${obs%%$'\t'*} okey=${obs#*$'\t'}
  local ofn=${okey%% @ *} rest=${okey#* @ }
  local oloc=${rest%% \[*} oreason=${rest#* \[}
  oreason=${oreason%]}

  local plt=null
  if [[ $leakprof == 1 ]]; then
    plt=$(sed -n 's/^goroutineleak profile: total \([0-9]*\)$/\1/p' "$dir/$b/peer.goroutineleak.debug1.txt")
  fi
  jq -n \
    --arg gover "$(basename "$dir" | sed 's/-goroutineleakprofile$//')" \
    --argjson leakprof "$leakprof" --arg b "$b" --arg verdict "$verdict" --arg pattern "$pattern" \
    --arg top "$top" --arg reason "$reason" --arg growing "$growing" \
    --arg flags "$(flags_for "$b")" --arg env "$(env_for "$b")" \
    --arg prog "$(basename "$bin" | sed 's/-go1.*$//')" --arg leaks "$leaks" --arg labels "$labels" \
    --arg spat "$(static_pattern_for "$b")" \
    --argjson pstart "$pstart" --argjson ptime "$ptime" --argjson pcount "$pcount" --argjson plt "$plt" \
    --arg ofn "$ofn" --arg oloc "$oloc" --arg oreason "$oreason" --argjson ogrowth "$ogrowth" \
    --slurpfile snaps "$snaps" '{
      go_version: $gover,
      goexperiment: (if $leakprof == 1 then "goroutineleakprofile" else "" end),
      behavior: $b,
      expected_verdict: $verdict,
      expected_pattern: (if $pattern == "" then null else $pattern end),
      expected_top_function: $top,
      expected_wait_reason: $reason,
      expected_growing_stacks: ((if $growing == "" then "\($top) [\($reason)]" else $growing end)
        | split(",") | map(capture("^(?<function>.*) \\[(?<wait_reason>.*)\\]$"))),
      expected_static_pattern: (if $spat == "" then null else $spat end),
      expected_leaks: (if $leaks == "" then null else ($leaks | split(",")
        | map(capture("^(?<pattern>[^@]*)@(?<function>.*)$"))) end),
      expected_labels: (if $labels == "" then null else ($labels | split(",")
        | map(capture("^(?<key>[^=]*)=(?<value>.*)$")) | map({(.key): .value}) | add) end),
      observed_max_growth: {function: $ofn, location: $oloc, wait_reason: $oreason, goroutines: $ogrowth},
      target: ({command: "\($prog) -behavior \($b) -listen 127.0.0.1:0 \($flags)", build_flags: "-trimpath"}
               + (if $env == "" then {} else {env: $env} end)),
      snapshots: $snaps,
      peer: ({started_at_unix_ms: $pstart, captured_at_unix_ms: $ptime, go_goroutines: $pcount}
             + (if $leakprof == 1 then {goroutineleak_total: $plt} else {} end) + {
              files: ({debug1: "peer.debug1.txt", debug2: "peer.debug2.txt", proto: "peer.pb.gz",
                       metrics: "peer.metrics.txt"}
                      + (if $leakprof == 1 then {goroutineleak_debug1: "peer.goroutineleak.debug1.txt",
                         goroutineleak_debug2: "peer.goroutineleak.debug2.txt",
                         goroutineleak_proto: "peer.goroutineleak.pb.gz"} else {} end))})
    }' >"$dir/$b/MANIFEST.json"

  # Self-check: the recording must show what the manifest claims.
  local c1=${counts[1]} cn=${counts[SNAPSHOTS]} lo=${counts[1]} hi=${counts[1]} ok=1 why=""
  for ((i = 2; i <= SNAPSHOTS; i++)); do
    ((counts[i] < lo)) && lo=${counts[i]}
    ((counts[i] > hi)) && hi=${counts[i]}
  done
  case $verdict in
    leak)
      # Over a bursty background (the catalog) the total moves by tens of
      # goroutines either way: the leaking stack itself must grow.
      if [[ $bin == */catalog-* ]]; then
        if ((ogrowth < MIN_GROWTH)); then ok=0; why="the leaking stack grew only $ogrowth goroutines"; fi
      elif ((cn - c1 < MIN_GROWTH)); then ok=0; why="grew only $((cn - c1)) goroutines"; fi
      if [[ ",${growing:-$top [$reason]}," != *",$ofn [$oreason],"* ]]; then
        ok=0; why="$why; fastest growing stack is $ofn [$oreason], expected $top [$reason]"
      fi ;;
    no-leak)
      case $b in
        steady-pool) ((hi - lo <= 10)) || { ok=0; why="not flat ($lo..$hi)"; } ;;
        burst) ((cn <= lo + 10 && hi - lo >= 50)) || { ok=0; why="no drained bursts ($lo..$hi, last $cn)"; } ;;
        plateau) ((hi - lo >= 50 && cn - counts[SNAPSHOTS - 1] <= 3)) || { ok=0; why="no ramp then plateau"; } ;;
        # Catalog controls: the bursty background swings the total by up
        # to ~150 goroutines (40 requests, their connections' two loops).
        keepalive-pool | grpc-bursts)
          ((cn - counts[2] <= 150)) || { ok=0; why="grew ($lo..$hi, last $cn)"; } ;;
        sawtooth) ((hi - lo >= 100)) || { ok=0; why="no sawtooth ($lo..$hi)"; } ;;
        conn-scaled)
          local dl=$((cn - counts[SNAPSHOTS - 1]))
          ((hi - lo >= 100 && dl <= 150 && dl >= -150)) || { ok=0; why="no rise then hold ($lo..$hi, last two ${counts[SNAPSHOTS - 1]} $cn)"; } ;;
      esac ;;
  esac
  local summary
  summary=$(printf '%s' "${counts[*]}" | tr ' ' ',')
  if ((ok)); then
    log "ok   $(basename "$dir")/$b goroutines $summary; top growth $ogrowth x $ofn ($oloc) [$oreason]"
    touch "$SCRATCH/ok-$(basename "$dir")-$b"
  else
    log "FAIL $(basename "$dir")/$b goroutines $summary: ${why#; }"
    return 1
  fi
}

# ---------------------------------------------------------------------------
log "recording ${#RUNS[@]} toolchain runs in $SCRATCH (series: $SNAPSHOTS x ${INTERVAL}s)"
start=$(date +%s)
failed=0
running=0
for run in "${RUNS[@]}"; do
  IFS='|' read -r name bin behaviors leakprof minor series <<<"$run"
  for b in $behaviors; do
    if ((JOBS > 0 && running >= JOBS)); then
      wait -n || true
      running=$((running - 1))
    fi
    record "$STAGE/$name" "$bin" "$b" "$leakprof" "$minor" "$series" &
    running=$((running + 1))
  done
done
wait || true
for run in "${RUNS[@]}"; do
  IFS='|' read -r name _ behaviors _ _ _ <<<"$run"
  for b in $behaviors; do
    # Recorders that died on an error (set -e) never got to log a verdict.
    [[ -e $SCRATCH/ok-$name-$b ]] || { log "FAIL $name/$b (see errors above)"; failed=$((failed + 1)); }
  done
done
if ((failed > 0)) && [[ ${KEEP_PARTIAL:-0} != 1 ]]; then
  log "recording failed; tests/fixtures left untouched"
  exit 1
fi

# Replace only the recorded behaviours of the recorded toolchains, so that a
# subset (BEHAVIORS=…) can be re-recorded; hand-written files in
# tests/fixtures (README.md) stay.
mkdir -p "$OUT"
for d in "$STAGE"/*/*/; do
  rel=${d#"$STAGE"/}
  rel=${rel%/}
  [[ -e $SCRATCH/ok-${rel%%/*}-${rel#*/} ]] || continue
  mkdir -p "$OUT/$(dirname "$rel")"
  rm -rf "${OUT:?}/$rel"
  cp -r "$d" "$OUT/$rel"
done
log "done in $(($(date +%s) - start))s: $(du -sh --apparent-size "$OUT" | cut -f1) in $OUT"
if ((failed > 0)); then
  log "$failed recordings failed and were not installed"
  exit 1
fi
