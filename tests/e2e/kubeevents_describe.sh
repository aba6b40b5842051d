#!/usr/bin/env bash
# kubeevents_describe.sh — Events recorded through pkg/kube/kube_events on
# the real local control plane: the Event shows in `kubectl describe pod`
# with leakwatch as its source, a repeat bumps count on the same Event
# instead of adding one, another message is another Event, an Event that
# disappeared (deleted like the apiserver's TTL would) is created again on
# the next repeat, the spam filter stops a flood at the burst, and the
# driver exits cleanly (under valgrind when it is installed).
#
# Uses its own namespace and deletes it; leaves the cluster running.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/e2e/lib.sh"

NS="lw-kevents-$$"
DPID=""

# The driver reads commands from fifos: close them first, or it waits on.
stop_drivers() {
  exec 3>&- 4>&- 2>/dev/null
  [ -z "$DPID" ] || { kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
  [ -z "${SPID:-}" ] || { kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; }
}

e2e_driver kubeevents_record
E2E_K_ARGS=(--request-timeout=20s)
e2e_start "$NS"
e2e_on_exit stop_drivers

# ask FD OUTFILE COMMAND...: sends one command to a driver and prints its
# answer (the next line that is not a LOG line).
ask() {
  local fd=$1 outf=$2; shift 2
  local before
  before=$(grep -vc '^LOG ' "$outf")
  echo "$*" >&"$fd"
  local deadline=$((SECONDS + 60))
  until [ "$(grep -vc '^LOG ' "$outf")" -gt "$before" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "TIMEOUT"; return 1; }
    sleep 0.1
  done
  grep -v '^LOG ' "$outf" | sed -n "$((before + 1))p"
}

events_of() { # pod reason -> "count name" lines
  k -n "$NS" get events --field-selector "involvedObject.name=$1,reason=$2" \
    -o 'jsonpath={range .items[*]}{.count} {.metadata.name} {.message}{"\n"}{end}'
}

k create namespace "$NS" >/dev/null
for p in target flood; do
  e2e_pause_pod "$p" | k -n "$NS" apply -f - >/dev/null
done
check "pods target and flood exist" quiet k -n "$NS" get pod target flood
UID_TARGET="$(k -n "$NS" get pod target -o 'jsonpath={.metadata.uid}')"

VG=()
if valgrind_usable "$DRIVER"; then VG=("${LW_VALGRIND[@]}" --log-file="$TMP/valgrind.log"); fi
mkfifo "$TMP/in" "$TMP/in2"
# The drivers open their output only once a writer opens their fifo; ask
# must find the file there before that.
: >"$TMP/out"
: >"$TMP/out2"
"${VG[@]}" "$DRIVER" --kubeconfig "$KUBECONFIG" --instance e2e-recorder \
  <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
DPID=$!
exec 3>"$TMP/in"

MSG="goroutines grew 120 -> 4920 in 30m (160/min); dominant stack: main.worker chan-send at worker.go:42"
ans="$(ask 3 "$TMP/out" record "$NS" target Warning GoroutineLeak "$MSG")"
check "record answers QUEUED (got: $ans)" [ "$ans" = QUEUED ]
ans="$(ask 3 "$TMP/out" flush)"
check "flush (got: $ans)" [ "$ans" = "FLUSHED ok" ]

desc="$(k -n "$NS" describe pod target 2>&1)"
if grep -A20 '^Events:' <<<"$desc" | grep -q "Warning  *GoroutineLeak .*leakwatch .*chan-send at worker.go:42"; then
  ok "kubectl describe pod shows the Warning GoroutineLeak Event from leakwatch"
else
  nok "kubectl describe pod shows the Warning GoroutineLeak Event from leakwatch"
  grep -A20 '^Events:' <<<"$desc" | sed 's/^/       /'
fi
ev="$(k -n "$NS" get events --field-selector involvedObject.name=target,reason=GoroutineLeak -o json)"
field() { python3 -c 'import json,sys; d=json.load(sys.stdin)["items"][0]; print(eval(sys.argv[1]))' "$1" <<<"$ev"; }
check "involvedObject.uid is the pod's uid" [ "$(field 'd["involvedObject"]["uid"]')" = "$UID_TARGET" ]
check "involvedObject kind/namespace" [ "$(field 'd["involvedObject"]["kind"]+"/"+d["involvedObject"]["namespace"]')" = "Pod/$NS" ]
check "source.component and reportingComponent are leakwatch" \
  [ "$(field 'd["source"]["component"]+","+d["reportingComponent"]')" = "leakwatch,leakwatch" ]
check "reportingInstance is the recorder's" [ "$(field 'd["reportingInstance"]')" = e2e-recorder ]

# A repeat bumps count on the same Event.
ask 3 "$TMP/out" record "$NS" target Warning GoroutineLeak "$MSG" >/dev/null
ask 3 "$TMP/out" flush >/dev/null
lines="$(events_of target GoroutineLeak)"
check "a repeat leaves one Event ($(grep -c . <<<"$lines"))" [ "$(grep -c . <<<"$lines")" = 1 ]
check "...with count 2 (got: $(cut -d' ' -f1 <<<"$lines"))" [ "$(cut -d' ' -f1 <<<"$lines")" = 2 ]
FIRST_NAME="$(cut -d' ' -f2 <<<"$lines")"
ask 3 "$TMP/out" record "$NS" target Warning GoroutineLeak "$MSG" >/dev/null
ask 3 "$TMP/out" flush >/dev/null
check "a third time: count 3" [ "$(events_of target GoroutineLeak | cut -d' ' -f1)" = 3 ]
if k -n "$NS" describe pod target | grep -A20 '^Events:' | grep -q "x3 over"; then
  ok "kubectl describe shows (x3 over ...)"
else
  nok "kubectl describe shows (x3 over ...)"
  k -n "$NS" describe pod target | grep -A20 '^Events:' | sed 's/^/       /'
fi

# Another message is another Event.
ask 3 "$TMP/out" record "$NS" target Normal LeakContainment "restarted target (1 of 3 allowed)" >/dev/null
ask 3 "$TMP/out" flush >/dev/null
check "another reason/message is a separate Event" \
  [ "$(events_of target LeakContainment | grep -c .)" = 1 ]

# The Event goes away (as the apiserver's event TTL would do): the next
# repeat's PATCH gets 404 and the Event is created again.
check "delete Event $FIRST_NAME" quiet k -n "$NS" delete event "$FIRST_NAME"
ask 3 "$TMP/out" record "$NS" target Warning GoroutineLeak "$MSG" >/dev/null
ask 3 "$TMP/out" flush >/dev/null
lines="$(events_of target GoroutineLeak)"
check "the Event was created again (one Event, count 1: got '$(cut -d' ' -f1,2 <<<"$lines")')" \
  bash -c "[ \"\$(grep -c . <<<'$lines')\" = 1 ] && [ \"\$(cut -d' ' -f1 <<<'$lines')\" = 1 ]"
ans="$(ask 3 "$TMP/out" stats)"
echo "       $ans"
check "stats: 2 created, 2 patched, 1 recreated, 0 failed" \
  grep -q 'created=2 patched=2 recreated=1 .* failed=0 ' <<<"$ans"

# Spam filter: burst 3 for one object, the 4th is dropped before queueing.
"$DRIVER" --kubeconfig "$KUBECONFIG" --instance e2e-flood --spam-burst 3 \
  <"$TMP/in2" >"$TMP/out2" 2>"$TMP/err2" &
SPID=$!
exec 4>"$TMP/in2"
answers=""
for i in 1 2 3 4 5; do
  answers+="$(ask 4 "$TMP/out2" record "$NS" flood Warning GoroutineLeak "flood $i") "
done
check "spam filter: 3 queued then dropped (got: $answers)" \
  [ "$answers" = "QUEUED QUEUED QUEUED SPAM SPAM " ]
ask 4 "$TMP/out2" flush >/dev/null
check "exactly 3 Events about flood" [ "$(events_of flood GoroutineLeak | grep -c .)" = 3 ]
exec 4>&-
wait "$SPID"; SPID=""

exec 3>&-
wait "$DPID"; rc=$?; DPID=""
check "driver exits 0 after end of input (valgrind clean when present: rc $rc)" [ "$rc" = 0 ]
check "driver said BYE" grep -q '^BYE$' "$TMP/out"
[ -s "$TMP/valgrind.log" ] && sed 's/^/       /' "$TMP/valgrind.log" | head -30
check "no failures logged" bash -c "! grep -q '^LOG ' '$TMP/out'"
grep '^LOG ' "$TMP/out" | head -5 | sed 's/^/       /'

finish
