# hack/lib.sh — what the command scripts of hack/ (cluster.sh, image.sh,
# tools.sh) share: log and error lines that name the script, and a usage
# text taken from the script's own header comment (from line 2 down to its
# `set -euo pipefail` line).
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
