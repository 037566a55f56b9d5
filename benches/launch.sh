#!/usr/bin/env bash
# Launch benchmark: rawdaemon next to classic daemonizers, all measured in the same run.
#
#   bash benches/launch.sh        (from the repository root; root needed for the apt step
#                                  and for the timer's process-event connector)
#
#   RAWDAEMON_STATIC=PATH  time this rawdaemon binary instead of building one
#   ROUNDS=N               interleaved rounds per RLIMIT_NOFILE value (default 101)
#
# Every launcher starts the same program, /bin/sleep 1000. benches/timer.c does the timing
# and kills every daemon it starts; this script builds, drives it, counts system calls with
# strace and prints one markdown table with the goals under it.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-101}
PROG=/bin/sleep
B=target/bench              # build outputs: under target/, never in the source tree
mkdir -p "$B"
T=$(mktemp -d)              # pid files and strace logs
trap 'rm -rf "$T"' EXIT

NOTES=()
note() { NOTES+=("$*"); echo "note: $*" >&2; }

# ---- tools: install only what is missing (a fresh machine has no apt index yet) --------
missing=()
command -v strace >/dev/null || missing+=(strace)
command -v musl-gcc >/dev/null || missing+=(musl-tools)
command -v gcc >/dev/null || missing+=(gcc libc6-dev)
if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
        >/dev/null || note "apt-get failed: rows needing ${missing[*]} degrade"
fi
rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1 ||
    note "rustup target add x86_64-unknown-linux-musl failed"

# ---- builds ----------------------------------------------------------------------------
echo "building..." >&2
if [[ -n ${RAWDAEMON_STATIC:-} ]]; then
    RD=$(realpath "$RAWDAEMON_STATIC")
    note "rawdaemon binary from RAWDAEMON_STATIC=$RD"
else
    cargo build -q --release --target x86_64-unknown-linux-musl
    RD=$(realpath target/x86_64-unknown-linux-musl/release/rawdaemon)
fi
# The smallest tool: none of the optional tool-* features (README, "Static builds").
cargo build -q --release --target x86_64-unknown-linux-musl --no-default-features \
    --features libc --target-dir target/lean
RDL=$(realpath target/lean/x86_64-unknown-linux-musl/release/rawdaemon)

# The example daemons are packages of their own, possibly still being written: a missing or
# broken one only costs its row. Building from the repository root picks up its
# .cargo/config.toml (the static-size flags), as their docs expect.
example() { # NAME TARGET -> sets EX to the binary, or empty
    EX=
    local manifest=examples/$1/Cargo.toml
    if [[ ! -f $manifest ]]; then
        note "$1: $manifest not found, row skipped"
    elif cargo build -q --release --target "$2" --manifest-path "$manifest" 2>"$T/$1.log"; then
        EX=$(realpath "examples/$1/target/$2/release/$1")
    else
        note "$1: build failed, row skipped: $(tail -3 "$T/$1.log" | tr '\n' ' ')"
    fi
}
example tiny-musl x86_64-unknown-linux-musl
TM=$EX
example tiny-nolibc x86_64-unknown-linux-gnu
TN=$EX

if command -v musl-gcc >/dev/null; then CC=musl-gcc CLIB=musl; else
    CC=gcc CLIB=glibc
    note "musl-gcc missing: the C peers are linked statically against glibc (larger)"
fi
for p in apue daemon3 waitexec apue_idle; do "$CC" -Os -static -s -o "$B/$p" "benches/$p.c"; done
# The harness needs the kernel's connector headers, which musl-gcc's include path lacks.
gcc -O2 -o "$B/timer" benches/timer.c

# ---- the rows --------------------------------------------------------------------------
# KIND exec: the launcher starts $PROG; self: the binary is the daemon and reports ready
# itself; idle: the daemon cannot report ready, so only size, syscalls and RSS are measured.
KEYS=()
declare -A NAME KIND BIN CMD
row() { # KEY KIND NAME BINARY CMD...
    local key=$1
    KEYS+=("$key") KIND[$key]=$2 NAME[$key]=$3 BIN[$key]=$4
    shift 4
    CMD[$key]=$(printf '%q ' "$@")
}
row rd exec "rawdaemon (static musl)" "$RD" "$RD" $PROG 1000
row rdp exec "rawdaemon -p pidfile" "$RD" "$RD" -p "$T/rd.pid" $PROG 1000
row rdl exec "rawdaemon, smallest build (no tool-* features)" "$RDL" "$RDL" $PROG 1000
row apue exec "APUE close loop (C, $CLIB static)" "$B/apue" "$B/apue" $PROG 1000
row d3 exec "libc daemon(3) (C, $CLIB static)" "$B/daemon3" "$B/daemon3" $PROG 1000
row we exec "C launcher waiting for the exec, nothing else ($CLIB static)" "$B/waitexec" "$B/waitexec" $PROG 1000
if SETSID=$(command -v setsid); then
    row setsid exec "util-linux setsid -f" "$SETSID" "$SETSID" -f $PROG 1000
else note "setsid not found: row skipped"; fi
if [[ -x /sbin/start-stop-daemon ]]; then
    row ssd exec "start-stop-daemon --background" /sbin/start-stop-daemon \
        /sbin/start-stop-daemon --start --background --exec $PROG -- 1000
else note "/sbin/start-stop-daemon not found: row skipped"; fi
if [[ -n $TM ]]; then row tm self "tiny-musl example daemon" "$TM" "$TM" "$T/tm.pid" 1000; fi
if [[ -n $TN ]]; then row tn self "tiny-nolibc example daemon" "$TN" "$TN" "$T/tn.pid" 1000; fi
row apueidle idle "APUE recipe idling itself (C, $CLIB static)" "$B/apue_idle" "$B/apue_idle" 1000
dynamic() { [[ $1 == "$SETSID" || $1 == /sbin/start-stop-daemon ]]; }

# Processes that could be ours, so that those already running can be told apart at the end.
ours() {
    ps -eo pid=,ppid=,stat=,comm= |
        awk '$4 ~ /^(sleep|rawdaemon|apue|apue_idle|daemon3|waitexec|tiny-musl|tiny-nolibc|setsid|start-stop-daem)$/'
}
BEFORE=$(ours | awk '{ print $1 }')

# start-stop-daemon --exec refuses to start while any $PROG runs on the machine.
if pgrep -x sleep >/dev/null; then
    note "other 'sleep' processes are running: start-stop-daemon will refuse to start (failed runs)"
fi

# ---- timing: interleaved rounds, both limits in every round ---------------------------------------
H=$(ulimit -Hn)
[[ $H == unlimited ]] && H=$(cat /proc/sys/fs/nr_open)
LIMITS=(1024 "$H")
echo "hard RLIMIT_NOFILE (ulimit -Hn): $H" >&2

bench_args=()
for k in "${KEYS[@]}"; do
    [[ ${KIND[$k]} == idle ]] && continue
    eval "c=(${CMD[$k]})"
    bench_args+=("$k" "${KIND[$k]}" "${c[@]}" ---)
done
declare -A EXIT EXEC READY SC RSS
echo "timing: $ROUNDS rounds, each launcher once per round at each limit, interleaved..." >&2
"$B/timer" bench "$(IFS=,; echo "${LIMITS[*]}")" "$ROUNDS" "${bench_args[@]}" >"$T/bench"
DETECT=$(sed -n 's/^# //p' "$T/bench")
while read -r k L e x r failed hung; do
    [[ $k == '#' ]] && continue
    EXIT[$k,$L]=$e EXEC[$k,$L]=$x READY[$k,$L]=$r
    if [[ -n $hung ]]; then note "${NAME[$k]} @$L: launcher still running after 2 s, row dropped"
    elif ((failed)); then note "${NAME[$k]} @$L: $failed of $ROUNDS runs failed (non-zero exit or no exec)"; fi
done <"$T/bench"

# ---- system calls from start to ready --------------------------------------------------
# Counted: every syscall line of every process (launcher, intermediates, daemon) up to and
# including the daemon's final successful execve of $PROG; the program's own calls after it
# are not. For daemons that idle themselves: up to, not including, their first sleep call.
# An interrupted call printed as "unfinished" + "resumed" counts once; signals and exit
# notices are not calls.
count() { # STRACE_LOG KIND
    awk -v kind="$2" -v prog="$PROG" '
        FNR == NR {   # pass 1: which pid is the daemon, and on which line it became ready
            if ($2 ~ /^execve\(/) {
                split($0, q, "\"")
                if (/<unfinished/) pend[$1] = q[2]
                else if (/ = 0$/ && q[2] == prog) { d = $1; cut = FNR }
            } else if ($2 == "<..." && $3 == "execve" && / = 0$/ && pend[$1] == prog) {
                d = $1; cut = FNR
            } else if (kind != "exec" && d == "" && $2 ~ /^(clock_)?nanosleep\(/) {
                d = $1; cut = FNR - 1
            }
            next
        }
        $2 == "<..." || $2 ~ /^(---|\+\+\+)/ { next }
        $1 == d && FNR > cut { next }
        { n++ }
        END { print (d == "" ? "?" : n + 0) }' "$1" "$1"
}
if STRACE=$(command -v strace); then
    echo "counting system calls..." >&2
    for k in "${KEYS[@]}"; do
        eval "c=(${CMD[$k]})"
        for L in "${LIMITS[@]}"; do
            log=$T/strace.$k.$L
            if "$B/timer" run "$L" "$STRACE" -f -qq -o "$log" "${c[@]}" >/dev/null; then
                SC[$k,$L]=$(count "$log" "${KIND[$k]}")
            else
                SC[$k,$L]="?"
                note "${NAME[$k]} @$L: daemon never went idle under strace"
            fi
        done
    done
else note "strace missing: no system call counts"; fi

# ---- idle RSS of the daemons that are their own program --------------------------------
for k in "${KEYS[@]}"; do
    [[ ${KIND[$k]} == exec ]] && continue
    eval "c=(${CMD[$k]})"
    out=$("$B/timer" run 1024 "${c[@]}") || true
    read -r _ _ kb <<<"$out" || true
    RSS[$k]=${kb:+$kb kB}
done

# ---- the table -------------------------------------------------------------------------
LO=${LIMITS[0]} HI=${LIMITS[1]}
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else printf "—" }'; }
us() { awk -v a="${1:-}" 'BEGIN { if (a > 0) printf "%.0f", a; else printf "—" }'; }
echo
echo "RLIMIT_NOFILE $LO and $HI (the hard limit, ulimit -Hn); $ROUNDS rounds, every launcher at both limits in each"
echo "round, order rotating; medians in µs"
echo "from starting the launcher. exit: the launcher has exited. exec'd: the daemon has completed its"
echo "execve of $PROG. ready: both (tiny-*: their launcher exits only once the daemon is ready)."
echo "Times from: $DETECT. ÷ setsid: ready time over setsid -f's ready time."
echo
echo "| launcher | size (bytes) | syscalls to ready @$LO / @$HI | exit @$LO | exec'd @$LO | ready @$LO | ÷ setsid @$LO | exit @$HI | exec'd @$HI | ready @$HI | ÷ setsid @$HI | idle RSS |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for k in "${KEYS[@]}"; do
    size=$(stat -Lc %s "${BIN[$k]}")
    if dynamic "${BIN[$k]}"; then size="$size (dynamic)"; fi
    rss=${RSS[$k]:-"— (sleep's)"}
    cells=()
    for L in "$LO" "$HI"; do
        cells+=("$(us "${EXIT[$k,$L]:-}")" "$(us "${EXEC[$k,$L]:-}")" "$(us "${READY[$k,$L]:-}")"
            "$(ratio "${READY[$k,$L]:-}" "${READY[setsid,$L]:-}")")
    done
    printf '| %s | %s | %s / %s |' "${NAME[$k]}" "$size" "${SC[$k,$LO]:-—}" "${SC[$k,$HI]:-—}"
    printf ' %s |' "${cells[@]}" "$rss"
    echo
done
echo
echo "Syscalls counted: every process from the launcher's start up to and including the daemon's"
echo "final successful execve of $PROG (for tiny-*/APUE-idle: up to their first sleep call); $PROG's"
echo "own calls after its execve are not counted. Size: the stripped launcher binary (setsid and"
echo "start-stop-daemon: the installed dynamic binary, shared libraries not included)."

# ---- the close loop's cost, and the goals ----------------------------------------------
calc() { awk "BEGIN { $1 }"; }
A1=${READY[apue,$LO]:--1} A2=${READY[apue,$HI]:--1} R1=${READY[rd,$LO]:--1} R2=${READY[rd,$HI]:--1}
S1=${READY[setsid,$LO]:--1} S2=${READY[setsid,$HI]:--1}
echo
calc "if ($A1 > 0 && $A2 > 0 && $HI > $LO && $R2 > 0) {
    ns = ($A2 - $A1) * 1000 / ($HI - $LO); x = $A1 + ns * (1048576 - $LO) / 1000
    printf \"APUE close loop: %.1f ns per descriptor ((%.0f - %.0f) µs / (%d - %d)); extrapolated to\n\", ns, $A2, $A1, $HI, $LO
    printf \"RLIMIT_NOFILE 1,048,576: APUE %.0f µs vs rawdaemon %.0f µs (close_range is one call at any limit) = %.0fx.\n\", x, $R2, x / $R2
  } else print \"APUE close-loop cost: not computable (missing figures)\""

verdict() { if [[ $1 == 1 ]]; then echo PASS; else echo MISS; fi; }
sc1=${SC[rd,$LO]:-?} sc2=${SC[rd,$HI]:-?}
g1=$([[ $sc1 =~ ^[0-9]+$ && $sc2 =~ ^[0-9]+$ ]] && ((sc1 < 30 && sc2 < 30)) && echo 1 || echo 0)
g2=$(calc "print ($R1 > 0 && $S1 > 0 && $R2 > 0 && $S2 > 0 && $R1 <= 1.25 * $S1 && $R2 <= 1.25 * $S2)")
g3=$(calc "print ($R1 > 0 && $A1 > 0 && $A1 - $R1 > 0 && ($A2 - $R2) > ($A1 - $R1))")
echo
echo "Goals (rawdaemon row, ready times):"
echo "- $(verdict "$g1") fewer than 30 syscalls start to ready: $sc1 @$LO, $sc2 @$HI"
echo "- $(verdict "$g2") within 1.25x of setsid -f at both limits: $(ratio "$R1" "$S1") @$LO, $(ratio "$R2" "$S2") @$HI"
X1=${EXEC[rd,$LO]:--1} X2=${EXEC[rd,$HI]:--1}
margin() { calc "if ($1 > 0 && $2 > 0) printf \"%.0f µs\", $1 - $2; else printf \"—\""; }
echo "- $(verdict "$g3") ahead of the APUE loop by a margin that grows with the limit:" \
    "$(margin "$A1" "$R1") @$LO, $(margin "$A2" "$R2") @$HI (by the daemon's exec'd time:" \
    "$(margin "$A1" "$X1") @$LO, $(margin "$A2" "$X2") @$HI; rawdaemon's launcher exits after" \
    "its daemon's exec, APUE's long before)"

if ((${#NOTES[@]})); then
    echo
    echo "Notes:"
    printf -- '- %s\n' "${NOTES[@]}"
fi

# The timer kills what it starts; say so if anything new is still there.
left=$(ours | awk -v before="$BEFORE" '
    BEGIN { n = split(before, b); for (i = 1; i <= n; i++) old[b[i]] = 1 }
    !($1 in old)')
echo
if [[ -n $left ]]; then
    echo "Started during this run and still there (pid ppid stat comm):"
    echo "$left"
else
    echo "No process started by this run is left."
fi
