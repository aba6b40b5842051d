#!/usr/bin/env bash
# units.sh — one grammar for sizes and durations across commands: what a
# suffix means (k = 10^3, Ki = 2^10, as in Kubernetes), that capture, the
# offline commands and the controller accept and refuse the same values, and
# that a refusal is one line naming the option and the value.
# Not for: every corner of the grammar (tests/unit/test_lw_units.c).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FIX=$LW_ROOT/tests/fixtures/go1.26.8/grpc-conn-not-closed/05.debug2.txt
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lw-units.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

if [ ! -f "$FIX" ]; then
  skip_missing "fixture $FIX"
  finish
  exit
fi

# inspect's --max-input refusal states the limit in bytes: what the suffix
# meant.
limit_of() { # size -> the byte count inspect reports
  lw inspect --max-input "$1" "$FIX" >/dev/null 2>"$TMP/err"
  sed -n 's/.*input exceeds \([0-9]*\) bytes.*/\1/p' "$TMP/err"
}
for pair in 10K=10000 10k=10000 10kB=10000 10KB=10000 10Ki=10240 \
            10KiB=10240 0.05M=50000 0.05Mi=52429 12345=12345 12345B=12345; do
  v=${pair%%=*} want=${pair#*=}
  got=$(limit_of "$v")
  if [ "$got" = "$want" ]; then ok "--max-input $v is $want bytes"
  else nok "--max-input $v: $got bytes, want $want ($(cat "$TMP/err"))"; fi
done

# accepted SIZE|DURATION VALUE: 0 when every command takes it.  capture
# goes on to its kubeconfig (exit 2), the controller to its cross-field
# checks (--window 1 is refused after every flag parsed).
capture_takes() { # option value
  lw capture pod/x --kubeconfig "$TMP/none" "$1" "$2" >/dev/null 2>"$TMP/cerr"
  [ $? = 2 ] && grep kubeconfig "$TMP/cerr" >/dev/null
}
controller_takes() { # option value
  lw controller "$1" "$2" --window 1 >/dev/null 2>"$TMP/kerr"
  grep -- '--window: 1 is out of range' "$TMP/kerr" >/dev/null
}
one_line_naming() { # file option value
  [ "$(grep -c . "$1")" = 1 ] && grep -F -- "$2" "$1" | grep -F -- "$3" >/dev/null
}

for v in 64M 64MB 64Mi 64MiB 1.5Gi 268435456 64k 64K 2G 1T 129e6; do
  if capture_takes --max-bytes "$v" && controller_takes --max-capture-bytes "$v"; then
    ok "size $v: capture and controller both accept it"
  else
    nok "size $v: capture: $(cat "$TMP/cerr"); controller: $(cat "$TMP/kerr")"
  fi
done
for v in 64m 64mi 64gb 12XB -1 "" " 1" 0x10 1.2.3 99999999999999999999Gi; do
  if ! capture_takes --max-bytes "$v" && one_line_naming "$TMP/cerr" --max-bytes "'$v'" &&
     ! controller_takes --max-capture-bytes "$v" &&
     one_line_naming "$TMP/kerr" --max-capture-bytes "\"$v\""; then
    ok "size '$v': capture and controller both refuse it, naming option and value"
  else
    nok "size '$v': capture: $(cat "$TMP/cerr"); controller: $(cat "$TMP/kerr")"
  fi
done
for v in 30s 2m 1h30m 500ms 45 1.5 1m30s; do
  if capture_takes --timeout "$v" && controller_takes --capture-timeout "$v"; then
    ok "duration $v: capture and controller both accept it"
  else
    nok "duration $v: capture: $(cat "$TMP/cerr"); controller: $(cat "$TMP/kerr")"
  fi
done
for v in soon 1h30 5d -3s 30sec "" 3000000h; do
  if ! capture_takes --timeout "$v" && one_line_naming "$TMP/cerr" --timeout "'$v'" &&
     ! controller_takes --capture-timeout "$v" &&
     one_line_naming "$TMP/kerr" --capture-timeout "\"$v\""; then
    ok "duration '$v': capture and controller both refuse it, naming option and value"
  else
    nok "duration '$v': capture: $(cat "$TMP/cerr"); controller: $(cat "$TMP/kerr")"
  fi
done

# analyze's --interval is a duration too.
lw analyze --interval 1m30x "$FIX" "$FIX" >/dev/null 2>"$TMP/err"
check "analyze --interval 1m30x is refused naming option and value" \
  one_line_naming "$TMP/err" --interval "'1m30x'"

# Every --help that takes a size says what M and Mi mean.
says_m_and_mi() { grep -F "64M is 64,000,000 bytes, 64Mi is 67,108,864" "$1" >/dev/null; }
for c in capture inspect diff analyze controller; do
  lw "$c" --help >"$TMP/help" 2>&1
  check "$c --help says 64M is 64,000,000 bytes and 64Mi 67,108,864" \
    says_m_and_mi "$TMP/help"
done
finish
