#!/usr/bin/env bash
# Puts the launcher table of a benchmark run into docs/benchmark.md, so that the table there
# is the script's output and never edited by hand:
#
#   bash benches/launch.sh | tee /tmp/bench.out && bash benches/to-doc.sh /tmp/bench.out
#
# The table is the run of lines starting with `|` whose first line starts with
# `| launcher |`; it replaces the table of docs/benchmark.md that starts the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: benches/to-doc.sh OUTPUT-OF-LAUNCH.SH}
doc=docs/benchmark.md
table=$(awk '/^\| launcher \|/ { on = 1 } on && /^\|/ { print; next } on { exit }' "$out")
[ -n "$table" ] || { echo "$out has no table starting with '| launcher |'"; exit 1; }
grep -q '^| launcher |' "$doc" || { echo "$doc has no table starting with '| launcher |'"; exit 1; }
TABLE="$table" awk '
    /^\| launcher \|/ && !done { print ENVIRON["TABLE"]; skip = 1; done = 1; next }
    skip && /^\|/ { next }
    { skip = 0; print }
' "$doc" >"$doc.new"
mv "$doc.new" "$doc"
echo "$doc: table replaced ($(echo "$table" | wc -l) lines)"
