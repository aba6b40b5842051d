# hack/lib.sh — what the command scripts of hack/ (cluster.sh, image.sh,
# tools.sh, vendor-libs.sh) share: log and error lines that name the
# script, a usage text taken from the script's own header comment (from
# line 2 down to its `set -euo pipefail` line), and the machine's Debian
# mirror.
#
# Not for: the benchmarks (hack/bench/lib.sh) or the demo (hack/demo/lib.sh),
# whose lines and exit codes differ; nor anything that starts or builds.
# shellcheck shell=bash  # sourced, never run on its own

# The script that sourced this file, as its lines name it.
HACK_SCRIPT="$(basename "${BASH_SOURCE[1]}")"
HACK_SCRIPT_PATH="${BASH_SOURCE[1]}"

log() { echo "$HACK_SCRIPT: $*" >&2; }
die() { echo "$HACK_SCRIPT: error: $*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "$HACK_SCRIPT_PATH" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# host_mirror SUITE: the machine's own Debian mirror for SUITE, read from
# its apt sources (deb822 .sources files or sources.list), so what the
# scripts fetch comes from where this machine already gets its packages.
# Empty when the sources do not name one.
host_mirror() {
  local suite="$1" f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk -v s="$suite" '
      /^URIs:/ { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) found = 1 }
      /^$/ { if (found && u != "") { print u; done = 1; exit } found = 0; u = "" }
      END { if (!done && found && u != "") print u }' "$f")"
    [ -z "$uri" ] || { echo "$uri"; return; }
  done
  [ -f /etc/apt/sources.list ] &&
    awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }' /etc/apt/sources.list
}
