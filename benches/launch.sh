#!/usr/bin/env bash
# Launch benchmark: the rawdaemon tool next to classic daemonizers, all measured in one run,
# with the goals of the tool with no C library under the tables.
#
#   bash benches/launch.sh        (from the repository root; root needed for the apt step
#                                  and for the timer's process-event connector)
#
#   RAWDAEMON_STATIC=PATH  time this rawdaemon binary instead of the one built here
#   RAWDAEMON_BASE=PATH    time a second rawdaemon binary side by side, as "rawdaemon (base)"
#                          (a build of an older commit, or of the fork path against the vfork
#                          path): both in the same interleaved rounds, quiet and contended
#   ROUNDS=N               interleaved rounds per RLIMIT_NOFILE value (default 101)
#   CONTENTION=0           skip the second set of rounds, run with one busy loop per CPU
#
# Every launcher starts the same program, /bin/sleep 1000. benches/timer.c does the timing
# and kills every daemon it starts; this script builds, drives it, counts system calls with
# strace, measures what each optional part of the tool and of the no-libc example costs in
# size, and prints markdown tables with the goals under them.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-101}
CONTENTION=${CONTENTION:-1}
PROG=/bin/sleep
B=target/bench              # build outputs: under target/, never in the source tree
mkdir -p "$B"
T=$(mktemp -d)              # pid files and strace logs
BUSY=()                     # the busy loops of the contended rounds, killed by pid
stop_busy() {
    if ((${#BUSY[@]})); then
        kill "${BUSY[@]}" 2>/dev/null || true
        wait "${BUSY[@]}" 2>/dev/null || true
    fi
    BUSY=()
}
trap 'stop_busy; rm -rf "$T"' EXIT

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
# Only the musl example needs the musl target now: the tool has no C library.
rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1 ||
    note "rustup target add x86_64-unknown-linux-musl failed"

# ---- builds ----------------------------------------------------------------------------
echo "building..." >&2
# The tool as shipped: every tool-* feature, no C library, static, built as
# docs/static-builds.md says (at the root, with the library: the library's default libc feature then unifies
# into the tool's build, which moves its size by a few bytes against `-p rawdaemon-tool`).
cargo build -q --release
FULL=$(realpath target/release/rawdaemon)
if [[ -n ${RAWDAEMON_STATIC:-} ]]; then
    RD=$(realpath "$RAWDAEMON_STATIC")
    note "rawdaemon binary from RAWDAEMON_STATIC=$RD"
else
    RD=$FULL
fi
RDB=
if [[ -n ${RAWDAEMON_BASE:-} ]]; then
    RDB=$(realpath "$RAWDAEMON_BASE")
    note "rawdaemon (base) binary from RAWDAEMON_BASE=$RDB"
fi

# What each optional part costs: the smallest tool (no tool-* feature), then the smallest
# with one feature at a time. One target directory for all of them, each binary copied out.
FEATURES=(tool-control tool-notify tool-privileges tool-ready tool-respawn tool-syslog tool-limits tool-rotate)
mkdir -p "$B/parts"
lean() { # FEATURE... -> builds the smallest tool with them, stripped and (for its symbols) not
    local f=(--no-default-features)
    (($#)) && f+=(--features "$(IFS=,; echo "$*")")
    cargo build -q --release -p rawdaemon-tool "${f[@]}" --target-dir target/lean &&
        CARGO_PROFILE_RELEASE_STRIP=false cargo build -q --release -p rawdaemon-tool "${f[@]}" \
            --target-dir target/lean-symbols
}
# Code by module. GROUP is an awk function: the module of a demangled function name, down to
# the first type or the function itself, at most three modules below the crate; a function
# at a crate's root is its own group (the tool's main). LTO inlines freely, so a module's
# figure is the code that stayed out of line in it.
GROUP='
function group(name,   p, n, i, g, whole, last) {
    if (name ~ /^core::ptr::drop_in_place<rawdaemon::/) name = substr(name, 26)
    if (name ~ /^</) { name = substr(name, 2); sub(/^impl /, "", name); sub(/ (as|for) .*/, "", name); whole = 1 }
    if (match(name, /::<impl /)) { name = substr(name, 1, RSTART - 1); whole = 1 }
    sub(/[<>({ ].*/, "", name); sub(/::$/, "", name)
    n = split(name, p, "::")
    if (n <= 1) return "(no module: memory functions, _start)"
    if (p[1] != "rawdaemon") return p[1]
    if (n == 2 && !whole) return name
    g = p[1]; last = whole ? n : n - 1
    for (i = 2; i <= last && i <= 4 && p[i] !~ /^[A-Z]/; i++) g = g "::" p[i]
    return g
}'
modules() { # UNSTRIPPED_BINARY -> "MODULE<tab>BYTES" lines, sorted by module
    nm -S -C -t d "$1" | awk -F'\t' "$GROUP"'
        { split($0, f, " ") }
        f[3] ~ /^[tTwW]$/ {
            name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
            sum[group(name)] += f[2]
        }
        END { for (g in sum) printf "%s\t%d\n", g, sum[g] }' | sort -t $'\t' -k1,1
}
declare -A PART GROWTH
for f in "" "${FEATURES[@]}"; do
    name=${f:-smallest}
    if lean ${f:+"$f"}; then
        cp target/lean/release/rawdaemon "$B/parts/$name"
        modules target/lean-symbols/release/rawdaemon >"$B/parts/$name.modules"
        PART[$name]=$(stat -c %s "$B/parts/$name")
    else note "smallest tool${f:+ + $f}: build failed"; fi
done
# Where each feature's bytes go: the modules that grew most over the smallest build.
for f in "${FEATURES[@]}"; do
    [[ -f $B/parts/$f.modules && -f $B/parts/smallest.modules ]] || continue
    GROWTH[$f]=$(join -t $'\t' -a 2 -e 0 -o 0,1.2,2.2 "$B/parts/smallest.modules" "$B/parts/$f.modules" |
        awk -F'\t' '$3 - $2 >= 500 { printf "%d\t%s\n", $3 - $2, $1 }' | sort -rn | head -5 |
        awk -F'\t' '{ printf "%s%s +%d", (NR > 1 ? ", " : ""), $2, $1 }')
done
RDL=$(realpath "$B/parts/smallest")

# The example daemons are packages of their own: a missing or broken one only costs its row.
# Building from the repository root picks up its .cargo/config.toml (the musl example's
# static-size flags), as their docs expect.
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

# What the no-libc example's parts cost. Variants: a copy of the example under target/ (at
# the same depth as examples/NAME, so that its path to the library still holds) with one
# change to its main.rs; the example itself is never changed.
# Sizes do not add up: LTO inlines and folds differently in each variant.
declare -A VSIZE
VARIANTS=(shipped nopid nothreads keepdir nothing)
declare -A VDESC=(
    [shipped]="as shipped (pid file, thread check, chdir /, umask 0)"
    [nopid]="without the pid file"
    [nothreads]="without the thread check (skip_thread_check)"
    [keepdir]="chdir and umask left as they are (no_chdir, keep_umask)"
    [nothing]="none of the four: no pid file, no thread check, no chdir, no umask"
)
declare -A VSED=(
    [shipped]=''
    [nopid]='s/\.pid_file(pid_file);/;/'
    [nothreads]='s/\.pid_file(pid_file);/.pid_file(pid_file).skip_thread_check();/'
    [keepdir]='s/\.pid_file(pid_file);/.pid_file(pid_file).no_chdir().keep_umask();/'
    [nothing]='s/\.pid_file(pid_file);/.skip_thread_check().no_chdir().keep_umask();/'
)
if [[ -n $TN ]]; then
    for v in "${VARIANTS[@]}"; do
        d=target/tiny-nolibc-$v
        rm -rf "$d" && mkdir -p "$d"
        # everything but its build output (the template carries its own link files)
        for f in examples/tiny-nolibc/*; do [[ $f == */target ]] || cp -r "$f" "$d/"; done
        sed -i "${VSED[$v]}" "$d/src/main.rs"
        if [[ $v != shipped ]] && cmp -s examples/tiny-nolibc/src/main.rs "$d/src/main.rs"; then
            note "tiny-nolibc variant '$v': its change no longer applies to main.rs, skipped"
        elif cargo build -q --release --manifest-path "$d/Cargo.toml" --target-dir "$B/exv" 2>"$T/v.log"; then
            VSIZE[$v]=$(stat -c %s "$B/exv/release/tiny-nolibc")
        else
            note "tiny-nolibc variant '$v': build failed: $(grep -m1 error "$T/v.log" || true)"
        fi
    done
    # The shipped example unstripped, for its symbols' sizes.
    CARGO_PROFILE_RELEASE_STRIP=false cargo build -q --release \
        --manifest-path examples/tiny-nolibc/Cargo.toml --target-dir "$B/nm-nolibc" ||
        note "tiny-nolibc: unstripped build failed, no symbol sizes"
fi

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
row rd exec "rawdaemon (no libc, every option)" "$RD" "$RD" $PROG 1000
row rdp exec "rawdaemon -p pidfile" "$RD" "$RD" -p "$T/rd.pid" $PROG 1000
if [[ -n $RDB ]]; then
    row rdb exec "rawdaemon (base)" "$RDB" "$RDB" $PROG 1000
    row rdbp exec "rawdaemon (base) -p pidfile" "$RDB" "$RDB" -p "$T/rdb.pid" $PROG 1000
fi
row rdl exec "rawdaemon, smallest build (no tool-* features)" "$RDL" "$RDL" $PROG 1000
row d3 exec "libc daemon(3) + execvp (C, $CLIB static; closes nothing)" "$B/daemon3" "$B/daemon3" $PROG 1000
row we exec "C launcher waiting for the exec, nothing else ($CLIB static)" "$B/waitexec" "$B/waitexec" $PROG 1000
row apue exec "APUE close loop (C, $CLIB static)" "$B/apue" "$B/apue" $PROG 1000
if SETSID=$(command -v setsid); then
    row setsid exec "util-linux setsid -f" "$SETSID" "$SETSID" -f $PROG 1000
else note "setsid not found: row skipped"; fi
if [[ -x /sbin/start-stop-daemon ]]; then
    # --pidfile (a file nobody writes): only that file's process counts as already running,
    # not any $PROG on the machine.
    row ssd exec "start-stop-daemon --background" /sbin/start-stop-daemon \
        /sbin/start-stop-daemon --start --background --pidfile "$T/ssd.pid" --exec $PROG -- 1000
else note "/sbin/start-stop-daemon not found: row skipped"; fi
if [[ -n $TM ]]; then row tm self "tiny-musl example daemon" "$TM" "$TM" "$T/tm.pid" 1000; fi
if [[ -n $TN ]]; then row tn self "tiny-nolibc example daemon" "$TN" "$TN" "$T/tn.pid" 1000; fi
row apueidle idle "APUE recipe idling itself (C, $CLIB static)" "$B/apue_idle" "$B/apue_idle" 1000
dynamic() { [[ $1 == "${SETSID:-}" || $1 == /sbin/start-stop-daemon ]]; }
# The daemons are killed after each run and leave their pid files: the timer removes them, so
# that every launch is a first start (a stale file takes more calls to check and replace).
export TIMER_UNLINK="$T/rd.pid:$T/rdb.pid:$T/tm.pid:$T/tn.pid:$T/ssd.pid"
# The rows timed again under contention: the launchers the goals compare.
CONTENDED=(rd rdp rdb rdbp rdl d3 we setsid)

# Processes that could be ours, so that those already running can be told apart at the end.
ours() {
    ps -eo pid=,ppid=,stat=,comm= |
        awk '$4 ~ /^(sleep|rawdaemon|apue|apue_idle|daemon3|waitexec|tiny-musl|tiny-nolibc|setsid|start-stop-daem)$/'
}
BEFORE=$(ours | awk '{ print $1 }')


# ---- timing: interleaved rounds, both limits in every round ---------------------------------------
H=$(ulimit -Hn)
[[ $H == unlimited ]] && H=$(cat /proc/sys/fs/nr_open)
LIMITS=(1024 "$H")
LO=${LIMITS[0]} HI=${LIMITS[1]}
echo "hard RLIMIT_NOFILE (ulimit -Hn): $H" >&2

declare -A EXIT EXEC READY Q1 Q3 SC SCX RSS
timed() { # SUFFIX LIMITS KEY... : runs the timer over these rows, fills EXIT/EXEC/READY[key,limit+SUFFIX]
    local sfx=$1 limits=$2 args=() k c
    shift 2
    for k in "$@"; do
        [[ -n ${KIND[$k]:-} && ${KIND[$k]} != idle ]] || continue
        eval "c=(${CMD[$k]})"
        args+=("$k" "${KIND[$k]}" "${c[@]}" ---)
    done
    "$B/timer" bench "$limits" "$ROUNDS" "${args[@]}" >"$T/bench$sfx"
    DETECT=$(sed -n 's/^# //p' "$T/bench$sfx")
    while read -r k L e x r failed q1 q3 hung; do
        [[ $k == '#' ]] && continue
        EXIT[$k,$L$sfx]=$e EXEC[$k,$L$sfx]=$x READY[$k,$L$sfx]=$r Q1[$k,$L$sfx]=$q1 Q3[$k,$L$sfx]=$q3
        if [[ -n $hung ]]; then note "${NAME[$k]} @$L$sfx: launcher still running after 2 s, row dropped"
        elif ((failed)); then note "${NAME[$k]} @$L$sfx: $failed of $ROUNDS runs failed (non-zero exit or no exec)"; fi
    done <"$T/bench$sfx"
}
START=$(date +%s) LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "timing: $ROUNDS rounds, each launcher once per round at each limit, interleaved..." >&2
timed "" "$(IFS=,; echo "${LIMITS[*]}")" "${KEYS[@]}"
QUIET=$(($(date +%s) - START))
NCPU=$(nproc)
if ((CONTENTION)); then
    echo "timing under contention: one busy loop per CPU ($NCPU), $ROUNDS rounds @$LO..." >&2
    for ((i = 0; i < NCPU; i++)); do
        (while :; do :; done) &
        BUSY+=($!)
    done
    timed " busy" "$LO" "${CONTENDED[@]}"
    stop_busy
fi
TIMED=$(($(date +%s) - START)) LOADEND=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- system calls ----------------------------------------------------------------------
# Counted: every system call line of every process (launcher, intermediates, daemon), from the
# launcher's own execve, up to
#   to exit:  and including the launcher's exit_group (the goal's definition);
#   to ready: the later of that and the daemon's final successful execve of $PROG;
# the program's own calls after its execve never count. For daemons that idle themselves: up
# to, not including, their first sleep call. An interrupted call printed as "unfinished" +
# "resumed" counts once, where it started; signals and exit notices are not calls.
count() { # STRACE_LOG KIND -> "TO_EXIT TO_READY"
    awk -v kind="$2" -v prog="$PROG" '
        FNR == NR {   # pass 1: the launcher, its exit line, the daemon and where it became ready
            if (FNR == 1) launcher = $1
            if ($1 == launcher && $2 ~ /^exit(_group)?\(/ && !out) out = FNR
            if ($2 ~ /^execve\(/) {
                split($0, q, "\"")
                if (/<unfinished/) pend[$1] = q[2]
                else if (/ = 0$/ && q[2] == prog && $1 != launcher) { d = $1; cut = FNR }
            } else if ($2 == "<..." && $3 == "execve" && / = 0$/ && pend[$1] == prog && $1 != launcher) {
                d = $1; cut = FNR
            } else if (kind != "exec" && d == "" && $2 ~ /^(clock_)?nanosleep\(/) {
                d = $1; cut = FNR - 1
            }
            next
        }
        $2 == "<..." || $2 ~ /^(---|\+\+\+)/ { next }
        $1 == d && FNR > cut { next }
        { n++; if (FNR <= out) x++ }
        END { print (out ? x + 0 : "?"), (d == "" ? "?" : n + 0) }' "$1" "$1"
}
if STRACE=$(command -v strace); then
    echo "counting system calls..." >&2
    for k in "${KEYS[@]}"; do
        eval "c=(${CMD[$k]})"
        for L in "${LIMITS[@]}"; do
            log=$T/strace.$k.$L
            if "$B/timer" run "$L" "$STRACE" -f -qq -o "$log" "${c[@]}" >/dev/null; then
                read -r nx nr < <(count "$log" "${KIND[$k]}")
                SCX[$k,$L]=$nx SC[$k,$L]=$nr
            else
                SC[$k,$L]="?" SCX[$k,$L]="?"
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

# ---- the launch table ------------------------------------------------------------------
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else printf "—" }'; }
us() { awk -v a="${1:-}" 'BEGIN { if (a > 0) printf "%.0f", a; else printf "—" }'; }
bytes() { if [[ -n ${1:-} ]]; then sed -E ':a;s/^([-+]?[0-9]+)([0-9]{3})/\1,\2/;ta' <<<"$1"; else echo —; fi; }
BUSYSFX=" busy"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $NCPU CPUs: RLIMIT_NOFILE $LO and $HI (the hard limit,"
echo "ulimit -Hn); $ROUNDS rounds, every launcher at both limits in each round, order rotating;"
echo "medians in µs from starting the launcher. exit: the launcher has exited. exec'd: the"
echo "daemon has completed its execve of $PROG. ready: both (tiny-*: their launcher exits only"
echo "once the daemon is ready). Times from: $DETECT."
echo "÷ daemon(3), ÷ setsid: ready time over theirs at the same limit (busy: in the contended"
echo "rounds, one busy loop per CPU, @$LO)."
echo
echo "| launcher | size (bytes) | syscalls to exit @$LO / @$HI | to ready @$LO / @$HI | exit @$LO | exec'd @$LO | ready @$LO | ÷ daemon(3) | ÷ setsid | ready @$HI | ÷ daemon(3) | ÷ setsid | ready, busy | ÷ daemon(3), busy | idle RSS |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for k in "${KEYS[@]}"; do
    size=$(bytes "$(stat -Lc %s "${BIN[$k]}")")
    if dynamic "${BIN[$k]}"; then size="$size (dynamic)"; fi
    rss=${RSS[$k]:-"— (sleep's)"}
    cells=("$(us "${EXIT[$k,$LO]:-}")" "$(us "${EXEC[$k,$LO]:-}")")
    for L in "$LO" "$HI"; do
        cells+=("$(us "${READY[$k,$L]:-}")" "$(ratio "${READY[$k,$L]:-}" "${READY[d3,$L]:-}")"
            "$(ratio "${READY[$k,$L]:-}" "${READY[setsid,$L]:-}")")
    done
    cells+=("$(us "${READY[$k,$LO$BUSYSFX]:-}")" "$(ratio "${READY[$k,$LO$BUSYSFX]:-}" "${READY[d3,$LO$BUSYSFX]:-}")")
    printf '| %s | %s | %s / %s | %s / %s |' "${NAME[$k]}" "$size" "${SCX[$k,$LO]:-—}" "${SCX[$k,$HI]:-—}" \
        "${SC[$k,$LO]:-—}" "${SC[$k,$HI]:-—}"
    printf ' %s |' "${cells[@]}" "$rss"
    echo
done
echo
echo "Syscalls counted: every process, from the launcher's execve up to and including its exit"
echo "(to exit), or up to the later of that and the daemon's final successful execve of $PROG"
echo "(to ready); for tiny-*/APUE-idle, up to their first sleep call. $PROG's own calls after its"
echo "execve are not counted. -p and the tiny-* daemons' pid files: $T/NAME.pid, on"
echo "$(df -T "$T" | awk 'NR == 2 { print $2 }') (each directory level of the path is an openat, a newfstatat and a close)."
echo "Size: the stripped binary (setsid and start-stop-daemon: the installed dynamic binary,"
echo "shared libraries not included)."

# ---- sizes: what each part costs -------------------------------------------------------
SMALL=$(stat -c %s "$RDL") FULLSZ=$(stat -c %s "$FULL")
over() { if [[ -n ${1:-} ]]; then bytes "$(printf '%+d' $(($1 - $2)))"; else echo —; fi; }
echo
echo "The tool's parts (stripped x86_64 builds of this tree; each feature alone on the smallest):"
echo
echo "| build | size (bytes) | over the smallest | where it grew most (code by module, unstripped build) |"
echo "|---|---:|---:|---|"
echo "| smallest: \`--no-default-features\` | $(bytes "$SMALL") | — | |"
for f in "${FEATURES[@]}"; do
    echo "| smallest + \`$f\` | $(bytes "${PART[$f]:-}") | $(over "${PART[$f]:-}" "$SMALL") | ${GROWTH[$f]:-} |"
done
echo "| every option (default features) | $(bytes "$FULLSZ") | $(over "$FULLSZ" "$SMALL") | |"
if [[ -n $RDB ]]; then
    b=$(stat -c %s "$RDB")
    echo "| rawdaemon (base), $RDB | $(bytes "$b") | $(over "$b" "$SMALL") | |"
fi
if [[ $RD != "$FULL" ]]; then
    r=$(stat -c %s "$RD")
    echo "| timed rawdaemon, $RD | $(bytes "$r") | $(over "$r" "$SMALL") | |"
fi
sum=0
for f in "${FEATURES[@]}"; do [[ -n ${PART[$f]:-} ]] && sum=$((sum + PART[$f] - SMALL)); done
echo
echo "The features' costs one at a time add up to $(bytes "$sum") B; all of them together add $(over "$FULLSZ" "$SMALL") B"
echo "(what several features pull in, e.g. the library's supervisor and log sinks, counts once"
echo "there). Module names: rawdaemon::main is the tool's own main with what LTO inlined into"
echo "it; the other rawdaemon:: modules are the library's, or the tool's where the names meet."

if [[ -n $TN ]]; then
    TNS=$(stat -c %s "$TN")
    echo
    echo "The no-libc example's parts: variants of examples/tiny-nolibc with one builder call changed"
    echo "(built from a copy under target/; not additive, LTO folds each differently):"
    echo
    echo "| tiny-nolibc | size (bytes) | over the shipped |"
    echo "|---|---:|---:|"
    for v in "${VARIANTS[@]}"; do
        d=—
        [[ $v != shipped ]] && d=$(over "${VSIZE[$v]:-}" "${VSIZE[shipped]:-$TNS}")
        echo "| ${VDESC[$v]} | $(bytes "${VSIZE[$v]:-}") | $d |"
    done
    U=$B/nm-nolibc/release/tiny-nolibc
    if [[ -f $U ]]; then
        text=$(size -A "$U" | awk '$1 == ".text" { print $2 }')
        echo
        echo "Its code by module (symbols of an unstripped build of the shipped example, one .text"
        echo "section of $(bytes "$text") B in a $(bytes "$TNS") B file; functions LTO inlined count in their caller):"
        echo
        echo "| module | bytes | biggest functions |"
        echo "|---|---:|---|"
        nm -S -C -t d --size-sort "$U" | awk -v text="$text" "$GROUP"'
            { split($0, f, " ") }
            f[3] ~ /^[tTwW]$/ {
                sz = f[2] + 0; name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
                g = group(name)
                if (g == "tiny_nolibc") g = "tiny_nolibc (entry: the example, with what LTO inlined)"
                base = name; sub(/[<>({ ].*/, "", base); sub(/::$/, "", base)
                sum[g] += sz; all += sz
                short = base; sub(/^.*::/, "", short)
                if (name ~ /^core::ptr::drop_in_place</) {
                    short = substr(name, 26); sub(/[<>].*/, "", short); sub(/^.*::/, "", short)
                    short = "drop of " short   # no angle brackets: markdown takes them for HTML
                }
                # nm lists them smallest first: the biggest go in front, four at most
                if (sz >= 100 && nt[g]++ < 64) top[g] = short " " sz (top[g] == "" ? "" : ", ") top[g]
            }
            END {
                for (g in sum) {
                    n = split(top[g], t, ", "); l = t[1]
                    for (i = 2; i <= n && i <= 4; i++) l = l ", " t[i]
                    printf "%d\t%s\t%s\n", sum[g], g, l
                }
                printf "%d\t%s\t\n", text - all, "no symbol (constants, strings, alignment)"
            }' | sort -rn | while IFS=$'\t' read -r n g top; do echo "| $g | $(bytes "$n") | $top |"; done
    fi
fi

# ---- the close loop's cost, and the goals ----------------------------------------------
calc() { awk "BEGIN { $1 }"; }
num() { [[ ${1:-} =~ ^[0-9.]+$ ]] && echo "$1" || echo -1; }
A1=$(num "${READY[apue,$LO]:-}") A2=$(num "${READY[apue,$HI]:-}")
R1=$(num "${READY[rd,$LO]:-}") R2=$(num "${READY[rd,$HI]:-}")
D1=$(num "${READY[d3,$LO]:-}") D2=$(num "${READY[d3,$HI]:-}")
S1=$(num "${READY[setsid,$LO]:-}") S2=$(num "${READY[setsid,$HI]:-}")
RB=$(num "${READY[rd,$LO$BUSYSFX]:-}") DB=$(num "${READY[d3,$LO$BUSYSFX]:-}")
echo
calc "if ($A1 > 0 && $A2 > 0 && $HI > $LO && $R2 > 0) {
    ns = ($A2 - $A1) * 1000 / ($HI - $LO); x = $A1 + ns * (1048576 - $LO) / 1000
    printf \"APUE close loop: %.1f ns per descriptor ((%.0f - %.0f) µs / (%d - %d)); extrapolated to\n\", ns, $A2, $A1, $HI, $LO
    printf \"RLIMIT_NOFILE 1,048,576: APUE %.0f µs vs rawdaemon %.0f µs (close_range is one call at any limit) = %.0fx.\n\", x, $R2, x / $R2
  } else print \"APUE close-loop cost: not computable (missing figures)\""

verdict() { if [[ $1 == 1 ]]; then echo PASS; else echo MISS; fi; }
le() { calc "print (($1) > 0 && ($1) <= $2)"; }       # 1 if 0 < VALUE <= LIMIT
both() { calc "print ($1 > 0 && $2 > 0 && $3 > 0 && $4 > 0 && $1 <= $5 * $2 && $3 <= $5 * $4)"; }
TMS=$( [[ -n $TN ]] && stat -c %s "$TN" || echo -1)
scx() { local a=${SCX[$1,$LO]:-?} b=${SCX[$1,$HI]:-?}; [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]] && ((a <= $2 && b <= $2)) && echo 1 || echo 0; }
echo
echo "Goals (the tool as shipped unless named; sizes stripped):"
echo "- $(verdict "$(le "$SMALL" 24576)") size, smallest tool ≤ 24 KiB (24,576 B): $(bytes "$SMALL") B"
RDS=$(stat -c %s "$RD")
echo "- $(verdict "$(le "$RDS" 63656)") size, every option ≤ 63,656 B (the old musl tool): $(bytes "$RDS") B"
echo "- $(verdict "$(le "$TMS" 6144)") size, tiny-nolibc ≤ 6 KiB (6,144 B; aim 4 KiB): $(bytes "$TMS") B"
echo "- $(verdict "$(scx rdp 24)") syscalls execve to exit with -p ≤ 24: ${SCX[rdp,$LO]:-?} @$LO, ${SCX[rdp,$HI]:-?} @$HI (to ready: ${SC[rdp,$LO]:-?})"
echo "- $(verdict "$(scx rd 18)") syscalls execve to exit without -p ≤ 18: ${SCX[rd,$LO]:-?} @$LO, ${SCX[rd,$HI]:-?} @$HI (to ready: ${SC[rd,$LO]:-?})"
aim=$(calc "print ($R1 > 0 && $D1 > 0 && $R2 > 0 && $D2 > 0 && $R1 <= 0.9 * $D1 && $R2 <= 0.9 * $D2) ? \"aim 0.9x met\" : \"aim 0.9x not met\"")
echo "- $(verdict "$(both "$R1" "$D1" "$R2" "$D2" 1.0)") ready ≤ 1.0x daemon(3)+execvp at both limits, quiet: $(ratio "$R1" "$D1") @$LO, $(ratio "$R2" "$D2") @$HI ($aim; -p: $(ratio "${READY[rdp,$LO]:-}" "$D1"), smallest: $(ratio "${READY[rdl,$LO]:-}" "$D1") @$LO)"
echo "- $(verdict "$(both "$R1" "$S1" "$R2" "$S2" 0.6)") ready ≤ 0.6x setsid -f at both limits, quiet: $(ratio "$R1" "$S1") @$LO, $(ratio "$R2" "$S2") @$HI"
if ((CONTENTION)); then
    echo "- $(verdict "$(calc "print ($RB > 0 && $DB > 0 && $RB <= $DB)")") ready ≤ 1.0x daemon(3)+execvp under contention (one busy loop per CPU, @$LO; reported): $(ratio "$RB" "$DB") ($(us "$RB") vs $(us "$DB") µs; quiet $(ratio "$R1" "$D1"))"
fi
if [[ -n $RDB ]]; then
    rb=" busy"
    echo "- rawdaemon over rawdaemon (base), ready: quiet $(ratio "$R1" "${READY[rdb,$LO]:-}") @$LO, $(ratio "$R2" "${READY[rdb,$HI]:-}") @$HI;" \
        "-p $(ratio "${READY[rdp,$LO]:-}" "${READY[rdbp,$LO]:-}") @$LO; contended $(ratio "$RB" "${READY[rdb,$LO$rb]:-}")," \
        "-p $(ratio "${READY[rdp,$LO$rb]:-}" "${READY[rdbp,$LO$rb]:-}")"
fi
echo
spread() { # KEY LIMIT[SUFFIX] -> "median µs (quartiles Q1-Q3, ±N %)"
    awk -v m="${READY[$1,$2]:-}" -v a="${Q1[$1,$2]:-}" -v b="${Q3[$1,$2]:-}" 'BEGIN {
        if (m > 0 && a > 0) printf "%.0f (%.0f-%.0f, ±%.0f %%)", m, a, b, 50 * (b - a) / m; else printf "—" }'
}
echo "Noise: ready medians in µs with their quartiles (± half the interquartile range over the"
echo "median): rawdaemon $(spread rd "$LO"), daemon(3) $(spread d3 "$LO"), setsid -f $(spread setsid "$LO") @$LO;"
if ((CONTENTION)); then
    echo "busy: rawdaemon $(spread rd "$LO$BUSYSFX"), daemon(3) $(spread d3 "$LO$BUSYSFX")."
fi
echo "Timing took ${TIMED} s (quiet rounds ${QUIET} s); load average (1, 5, 15 min) when it"
echo "began: $LOAD, when it ended: $LOADEND (this run's own launches and busy loops count in it)."

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
    echo "Processes of these names started during this run and still there (pid ppid stat comm; the"
    echo "timer reaps every orphan of a launch, so one of ours would be a child of init, ppid 1; others"
    echo "belong to other work on this machine):"
    echo "$left"
else
    echo "No process started by this run is left."
fi
