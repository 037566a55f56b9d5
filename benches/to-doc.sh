#!/usr/bin/env bash
# Puts the tables and the goals of a benchmark run into docs/benchmark.md, so that they are
# the script's output there and never edited by hand:
#
#   bash benches/launch.sh | tee /tmp/bench.out && bash benches/to-doc.sh /tmp/bench.out
#
# A table is a run of lines starting with `|`, known by its first cell (`| launcher |`,
# `| build |`, `| tiny-nolibc |`, `| module |`); the goals are the line starting with
# `Goals (` and the `- ` lines under it. Each replaces the block of docs/benchmark.md known
# the same way; the doc's prose around them stays.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: benches/to-doc.sh OUTPUT-OF-LAUNCH.SH}
doc=docs/benchmark.md
awk '
    # the key of a block: a table by its first cell, the goals by their first words
    function key(line,   k) {
        if (line ~ /^Goals \(/) return "Goals ("
        if (line ~ /^\|/) { k = line; sub(/^\|[^|]*\|/, "", k); return substr(line, 1, length(line) - length(k)) }
        return ""
    }
    function member(line, k) { return k == "Goals (" ? line ~ /^- / : line ~ /^\|/ }
    FNR == NR {   # the run: collect its blocks
        if (cur != "" && member($0, cur)) { block[cur] = block[cur] "\n" $0; next }
        cur = ""
        k = key($0)
        if (k != "" && !(k in block)) { cur = k; block[k] = $0; order[++n] = k }
        next
    }
    skip != "" && member($0, skip) { next }
    { skip = "" }
    (k = key($0)) != "" && (k in block) && !(k in done) {
        print block[k]; done[k] = 1; skip = k; next
    }
    { print }
    END {
        for (i = 1; i <= n; i++)
            if (!(order[i] in done)) printf "%s: no block \"%s\" to replace\n", FILENAME, order[i] > "/dev/stderr"
        if (!n) { print "no table or goals in the run" > "/dev/stderr"; exit 1 }
    }
' "$out" "$doc" >"$doc.new"
mv "$doc.new" "$doc"
echo "$doc: tables and goals replaced from $out"
