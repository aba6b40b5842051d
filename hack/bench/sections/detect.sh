# detect: time to detect a leak, leakwatch's window vs the runbooks' Prometheus rule
#
# The same goroutine-count series, sampled every 15 s, played to two
# detectors by hack/bench/detect.c (built by make next to leakwatch, as
# bench/detect):
#
#   leakwatch    the controller's cheap-sample window with its default
#                thresholds, fed every sample (15s) and every other sample
#                (30s, the controller's default --interval); an alarm is the
#                window's suspect flag rising, which starts full captures.
#                The Event needs those captures to span --finding-min-span
#                (120 s by default), so it follows an alarm by at least that.
#   prometheus   `deriv(go_goroutines[10m]) > 1 for 5m`, with deriv as
#                PromQL computes it (least-squares slope per second over the
#                range) and the rule evaluated every 15 s.
#
# Series (each with 20 noise draws, baseline 200 +- 20): a leak of 1/s, a
# leak of 0.2/s, bursts of 600 that drain, a ramp that plateaus, flat.
# Reported per series and detector: the median time from the leak's start
# to the first alarm (with how many draws alarmed at all) and the false
# alarms, summed over the draws.  The simulation takes well under a second;
# nothing here needs a cluster.
#
# Targets (reported, never asserted): leakwatch at 15 s alarms on both
# leaks and sooner than the rule, with no more false alarms on the burst
# and the flat control.  The ramp is shown, not targeted: while it climbs
# no detector can tell it from a leak.
#
# Not for: the live time from a leaking pod's start to its Event (live.sh,
# the controller on the local cluster).
# shellcheck shell=bash  # sourced, never run on its own

section_detect() {
  # shellcheck disable=SC2034  # read by lib.sh's result records
  SECTION=detect
  bench_begin detect
  need_leakwatch
  local prog
  prog="$(dirname "$LEAKWATCH_BIN")/bench/detect"
  [ -x "$prog" ] || die "$prog not found: run make first"
  echo "== detect: leakwatch $(leakwatch_version) window vs" \
    "deriv(go_goroutines[10m]) > 1 for 5m, one sample every 15 s"
  if ! "$prog" --json "$OUT/detect/series.json"; then
    FAILURES=$((FAILURES + 1))
    echo "bench: FAILED: $prog" >&2
    return 0
  fi
  local f="$OUT/detect/series.json" lw_first rule_first lw_false rule_false verdict
  # The two leaks: who alarms first.  Every other series: false alarms.
  lw_first="$(jq '[.series[] | select(.leak) | .leakwatch.median_first_alarm_s] | max' "$f")"
  rule_first="$(jq '[.series[] | select(.leak) | .prometheus.median_first_alarm_s // 1e9] | max' "$f")"
  lw_false="$(jq '[.series[] | select(.name == "burst-drain" or .name == "flat") | .leakwatch.false_alarms] | add' "$f")"
  rule_false="$(jq '[.series[] | select(.name == "burst-drain" or .name == "flat") | .prometheus.false_alarms] | add' "$f")"
  verdict=met
  if [ "$lw_first" = null ] || [ "$lw_first" -ge "${rule_first%.*}" ] || [ "$lw_false" -gt "$rule_false" ]; then
    verdict=MISSED
  fi
  printf '  target %-57s %s\n' "leakwatch alarms first on both leaks, no more false alarms" \
    "$verdict (burst and flat: $lw_false vs $rule_false)"
  jq --arg v "$(leakwatch_version)" --arg cpu "$(cpu_model)" --arg verdict "$verdict" \
    '{section: "detect", leakwatch_version: $v, cpu: $cpu, target: $verdict} + .' \
    "$f" >"$OUT/detect.json"
  echo "wrote ${OUT#"$ROOT"/}/detect.json"
}
