#!/usr/bin/env bash
# man/check.sh [TOOL]: the manual page rawdaemon(8) and the shell completions, checked
# against the tool itself.
#  1. The page renders without a single message: `mandoc -T lint -W style` and
#     `groff -man -ww -z` print nothing.
#  2. The options the page documents (its .TP tags that start with an option, one option
#     each) are exactly those `TOOL --help` lists, short and long forms paired alike, each
#     once; and --help's long options are exactly those the parser knows (args.rs, LONG).
#  3. bash: `bash -n`, then a scripted bash that sources bash-completion and
#     completions/rawdaemon.bash, sets COMP_WORDS and COMP_CWORD and calls _rawdaemon:
#     `rawdaemon -` offers exactly --help's options, `rawdaemon --pid` offers --pidfile,
#     and file names, user names and signal names come after -p/-o/-e, -u and --signal.
#  4. zsh: `zsh -n`, then the same completions through a real interactive zsh on a
#     pseudo-terminal (zpty), with completions/_rawdaemon in its fpath.
#  5. As root: the page's EXAMPLES run as written (the text of each example block, cut
#     from the page), in a private mount namespace where /usr/local/bin holds TOOL and a
#     stand-in agent, the user agent exists, and /run, /var/log and /etc/sv are empty:
#     the shell commands, the systemd units (systemd-analyze verify, and the notify
#     variant's command), socket activation, the OpenRC script under openrc-run, the s6
#     service under s6-svscan, the runit service under runsv, and the PID namespace.
#     The Containerfile is not built (no container engine).
# TOOL must be a build with every tool-* feature (a smaller one lists fewer options);
# default target/debug/rawdaemon. Needs mandoc, groff, bash-completion and zsh; the
# examples need busybox, systemd-notify, and where present run systemd-analyze,
# openrc-run, s6 and runit. One line per check; the exit status is 1 if any failed.
# shellcheck disable=SC2317 # the helpers are called through check, within and expect
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
page=man/rawdaemon.8
bash_file=completions/rawdaemon.bash
zsh_dir=completions
bash_completion=/usr/share/bash-completion/bash_completion

failed=0
pass() { printf 'ok: %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    failed=1
}

# run_examples TOOL WORK: part 5, inside a private mount namespace, as root.
run_examples() {
    local tool=$1 work=$2 out=$2/examples
    local root=$work/root rc b pid
    # agent must reach $out (mktemp -d made WORK 0700).
    chmod 755 "$work"
    mkdir -p "$root/bin" "$out"
    chmod 1777 "$out"
    cp "$tool" "$root/bin/rawdaemon"
    # The stand-in for /usr/local/bin/agent: it records how it runs, says it is ready the
    # way an example asks (sd_notify, the s6 descriptor 3), and serves 127.0.0.1:8080; given
    # a socket by socket activation, it keeps it.
    cat >"$root/bin/agent" <<EOF_AGENT
#!/bin/sh
echo "\$\$ \$(id -u) \$*" >>$out/agent.log
if [ -n "\${LISTEN_FDS-}" ]; then
    echo "\$LISTEN_PID \$\$ \$LISTEN_FDS" >$out/listen
    exec sleep 600
fi
[ -z "\${NOTIFY_SOCKET-}" ] || systemd-notify --ready
[ ! -e /proc/\$\$/fd/3 ] || echo >&3
echo "agent serving"
exec busybox httpd -f -p 127.0.0.1:8080 -h $out
EOF_AGENT
    chmod 755 "$root/bin/agent"
    local uid=64999
    { cat /etc/passwd; echo "agent:x:$uid:$uid:agent:/nonexistent:/usr/sbin/nologin"; } >"$root/passwd"
    { cat /etc/group; echo "agent:x:$uid:"; } >"$root/group"
    mount --bind "$root/bin" /usr/local/bin
    mount --bind "$root/passwd" /etc/passwd
    mount --bind "$root/group" /etc/group
    mount -t tmpfs none /run
    mount -t tmpfs none /var/log
    local sv=/etc/sv
    if [ -d /etc/sv ]; then mount -t tmpfs none /etc/sv; else sv=$work/sv; fi
    export PATH=/usr/local/bin:$PATH
    if (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then
        fail "examples: something listens on 127.0.0.1:8080 already"
        return
    fi

    # block SECTION N: the Nth example block of the EXAMPLES subsection SECTION, unescaped.
    block() {
        awk -v want="$1" -v n="$2" '
            /^\.S[HS] / { sec = substr($0, 5); k = 0 }
            /^\.EX/ { if (sec == want) k++; on = (sec == want && k == n); next }
            /^\.EE/ { on = 0; next }
            on' "$top/$page" | sed -e 's/\\-/-/g' -e 's/\\e/\\/g'
    }
    # gone PID: the process has exited (a zombie counts: init here reaps late).
    gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
    # within SECONDS COMMAND...: COMMAND succeeds within SECONDS (polled every 0.1 s).
    within() {
        local n=$(($1 * 10))
        shift
        until "$@"; do
            n=$((n - 1))
            [ "$n" -gt 0 ] || return 1
            sleep 0.1
        done
    }
    serving() { (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; }
    # finish PID: the exit status of the background job PID, killed if it has not ended
    # within 10 s.
    finish() {
        within 10 gone "$1" || kill -KILL "$1" 2>/dev/null || true
        wait "$1"
    }
    uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }
    last_agent() { tail -n 1 "$out/agent.log" | cut -d' ' -f1; }
    # check WHAT CONDITION...: one line, ok or FAIL.
    check() {
        local what=$1
        shift
        if "$@"; then pass "example $what"; else fail "example $what"; fi
    }

    # From a shell 1: start, status, signal, stop.
    b=$(block "From a shell" 1)
    rc=0
    sh -c "$(sed -n 1,2p <<<"$b")" || rc=$?
    pid=$(cat /run/agent.pid 2>/dev/null || echo none)
    check "From a shell 1: start (status $rc) runs agent as agent" \
        test "$rc" = 0 -a -e "/proc/$pid" -a "$(uid_of "$pid" 2>/dev/null)" = $uid
    check "From a shell 1: --status prints $pid" test "$(sh -c "$(sed -n 3p <<<"$b")")" = "$pid"
    check "From a shell 1: --signal HUP" sh -c "$(sed -n 4p <<<"$b")"
    check "From a shell 1: --stop" sh -c "$(sed -n 5p <<<"$b")"
    check "From a shell 1: agent gone" within 5 gone "$pid"

    # From a shell 2: the restart, twice (nothing running, then running), serving each time.
    b=$(block "From a shell" 2)
    check "From a shell 2: restart with nothing running" sh -c "$b"
    pid=$(cat /run/agent.pid)
    check "From a shell 2: restart of a running agent" sh -c "$b"
    check "From a shell 2: the old agent is gone, the new one serves" gone "$pid"
    check "From a shell 2: the new agent serves" serving
    rawdaemon --stop -p /run/agent.pid >/dev/null || true

    # From a shell 3: -R, a capability, logs that rotate and stamp.
    b=$(block "From a shell" 3)
    check "From a shell 3: start" sh -c "$b"
    pid=$(cat /run/agent.pid)
    within 5 serving || true
    local child
    child=$(last_agent)
    check "From a shell 3: agent runs as agent with exactly cap_net_bind_service" \
        test "$(uid_of "$child")" = $uid -a \
        "$(awk '/^CapAmb:/ { print $2 }' "/proc/$child/status")" = 0000000000000400 -a \
        "$(awk '/^CapEff:/ { print $2 }' "/proc/$child/status")" = 0000000000000400
    check "From a shell 3: stamped lines in /var/log/agent.log" within 5 \
        grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{15}Z agent serving$' /var/log/agent.log
    check "From a shell 3: --stop" rawdaemon --stop -p /run/agent.pid
    check "From a shell 3: supervisor gone" within 5 gone "$pid"
    check "From a shell 3: agent gone" within 5 gone "$child"

    # systemd: the unit, and the notify variant (its lines in place of Type=, PIDFile= and
    # ExecStart=), verified; the variant's command run (its own sd_notify socket).
    mkdir -p "$work/units"
    block systemd 1 >"$work/units/agent.service"
    { sed -n '1,/^\[Service\]/p' "$work/units/agent.service"; block systemd 2; sed -e '1,/^\[Service\]/d' -e '/^Type=/d' -e '/^PIDFile=/d' -e '/^ExecStart=/d' "$work/units/agent.service"; } >"$work/units/agent-notify.service"
    if command -v systemd-analyze >/dev/null; then
        check "systemd 1 and 2: systemd-analyze verify" env SYSTEMD_LOG_LEVEL=err \
            systemd-analyze verify --man=false "$work/units/agent.service" "$work/units/agent-notify.service"
    else
        echo "not run: systemd 1 and 2 (no systemd-analyze)"
    fi
    check "systemd 2: --notify-await start returns once agent sent READY=1" \
        sh -c "$(block systemd 2 | sed -n 's/^ExecStart=//p') 2>/dev/null"
    check "systemd 2: agent serves" within 5 serving
    pid=$(last_agent)
    kill "$pid" 2>/dev/null || true
    within 5 gone "$pid" || true

    # systemd 3: socket activation; a connection starts it, agent gets the socket.
    rm -f "$out/listen"
    sh -c "$(block systemd 3)" >/dev/null 2>&1 &
    local bg=$!
    within 5 serving || true
    rc=0
    finish "$bg" || rc=$?
    within 5 test -s "$out/listen" || true
    pid=$(cat /run/agent.pid 2>/dev/null || echo none)
    check "systemd 3: socket activation (status $rc): LISTEN_PID is agent's pid $pid, one socket" \
        test "$rc" = 0 -a "$(cat "$out/listen" 2>/dev/null)" = "$pid $pid 1"
    rawdaemon --stop -p /run/agent.pid >/dev/null || true

    # OpenRC.
    if [ -x /sbin/openrc-run ]; then
        local d
        for d in started starting stopping inactive failed exclusive daemons options scheduled \
            wasinactive hotplugged tmp; do mkdir -p "/run/openrc/$d"; done
        echo default >/run/openrc/softlevel
        mkdir -p "$work/init.d"
        block OpenRC 1 >"$work/init.d/agent"
        chmod 755 "$work/init.d/agent"
        check "OpenRC: start" sh -c "$work/init.d/agent start >/dev/null 2>&1"
        pid=$(cat /run/agent.pid 2>/dev/null || echo none)
        check "OpenRC: status" sh -c "$work/init.d/agent status 2>&1 | grep -q 'status: started'"
        check "OpenRC: reload" sh -c "$work/init.d/agent reload >/dev/null 2>&1"
        check "OpenRC: stop" sh -c "$work/init.d/agent stop >/dev/null 2>&1"
        check "OpenRC: agent gone" within 5 gone "$pid"
    else
        echo "not run: OpenRC (no openrc-run)"
    fi

    # s6: notification-fd 3, ready once agent wrote its line.
    if command -v s6-svscan >/dev/null; then
        mkdir -p /run/service/agent
        block s6 1 >/run/service/agent/run
        chmod 755 /run/service/agent/run
        echo 3 >/run/service/agent/notification-fd
        s6-svscan /run/service >/dev/null 2>&1 &
        bg=$!
        within 5 test -e /run/service/agent/supervise/status || true
        check "s6: s6-svwait -U returns once agent is ready" s6-svwait -U -t 10000 /run/service/agent
        pid=$(last_agent)
        check "s6: agent runs as agent" test "$(uid_of "$pid")" = $uid
        kill -TERM "$bg" 2>/dev/null || true
        finish "$bg" || true
        check "s6: agent gone with s6-svscan" within 5 gone "$pid"
    else
        echo "not run: s6 (no s6-svscan)"
    fi

    # runit.
    if command -v runsv >/dev/null; then
        mkdir -p "$sv/agent"
        block runit 1 >"$sv/agent/run"
        chmod 755 "$sv/agent/run"
        runsv "$sv/agent" >/dev/null 2>&1 &
        bg=$!
        within 5 serving || true
        pid=$(last_agent)
        check "runit: runsv's child is agent, as agent" \
            test "$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" = "$bg" -a \
            "$(uid_of "$pid" 2>/dev/null)" = $uid
        check "runit: sv stop" sh -c "sv stop $sv/agent | grep -q '^ok: down'"
        check "runit: agent gone" within 5 gone "$pid"
        sv exit "$sv/agent" >/dev/null || true
        finish "$bg" || true
    else
        echo "not run: runit (no runsv)"
    fi

    # A container: the Containerfile needs an engine; the PID namespace runs.
    echo "not run: A container 1 (the Containerfile: no container engine here)"
    sh -c "$(block "A container" 2)" >/dev/null 2>&1 &
    bg=$!
    within 5 serving || true
    # PID 1 of the new namespace, below the job (sh, unshare), and its child, agent.
    local one=$bg n
    for n in 1 2 3; do
        grep -qE '^NSpid:.*[[:space:]]1$' "/proc/$one/status" 2>/dev/null && break
        one=$(pgrep -P "$one" | head -n 1) || true
    done
    pid=$(pgrep -P "$one" | head -n 1) || true
    check "A container 2: the tool is PID 1 of the namespace, agent (as agent) its child" \
        test "$(cat "/proc/$one/comm" 2>/dev/null)" = rawdaemon -a "$(uid_of "$pid" 2>/dev/null)" = $uid
    kill -TERM "$one" 2>/dev/null || true
    rc=0
    finish "$bg" || rc=$?
    check "A container 2: SIGTERM ends it with status 0 (status $rc)" test "$rc" = 0
    check "A container 2: agent gone" within 5 gone "$pid"
}

# Part 5 runs here, in the private mount namespace: `check.sh --examples TOOL WORK`.
if [ "${1-}" = --examples ]; then
    run_examples "$2" "$3"
    exit "$failed"
fi

tool=${1:-target/debug/rawdaemon}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for need in mandoc:mandoc groff:groff-base zsh:zsh; do
    command -v "${need%%:*}" >/dev/null || {
        echo "${need%%:*} is not installed (Debian package ${need#*:})"
        exit 1
    }
done
[ -r "$bash_completion" ] || {
    echo "$bash_completion is missing (Debian package bash-completion)"
    exit 1
}
"$tool" --version >/dev/null || {
    echo "cannot run $tool"
    exit 1
}
case $("$tool" --version) in *without*)
    echo "$tool is not a full build: $("$tool" --version)"
    exit 1
    ;;
esac

# --- 1. The page renders cleanly ----------------------------------------------------
rc=0
out=$(mandoc -T lint -W style "$page" 2>&1) || rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then pass "mandoc -T lint -W style $page: no message"; else
    fail "mandoc -T lint -W style $page (status $rc):"$'\n'"$out"
fi
rc=0
out=$(groff -man -ww -z "$page" 2>&1) || rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then pass "groff -man -ww -z $page: no warning"; else
    fail "groff -man -ww -z $page (status $rc):"$'\n'"$out"
fi

# --- 2. The page's options are --help's ---------------------------------------------
# One line per option, "-p --pidfile" or "--stop". In --help an option starts a line
# indented by 2 to 6 spaces (its description's lines by more).
pairs() {
    sed -nE -e 's/^(-[A-Za-z]), (--[a-z][a-z-]*).*/\1 \2/p' -e 't' \
        -e 's/^(--[a-z][a-z-]*).*/\1/p'
}
"$tool" --help | sed -nE 's/^ {2,6}(-)/\1/p' | pairs | sort >"$work/help"
# The page: the line after each .TP, roff escapes removed (\- is -, \fB and the other
# font changes go, a leading .B too).
awk '/^\.TP/ { tag = 1; next } tag { tag = 0; print }' "$page" |
    sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/^\.B //' | pairs | sort >"$work/page"
count=$(wc -l <"$work/help")
if [ "$count" -lt 40 ]; then
    fail "--help lists only $count options: is $tool a full build?"
fi
if dup=$(uniq -d "$work/page") && [ -n "$dup" ]; then
    fail "$page documents an option twice: $dup"
fi
if diff -u --label "$tool --help" --label "$page" "$work/help" "$work/page" >"$work/diff"; then
    pass "$page documents exactly the $count options of --help"
else
    fail "the options of $page are not those of --help ('-' only in --help, '+' only in the page):"$'\n'"$(tail -n +3 "$work/diff")"
fi
# The parser's table of long options.
sed -nE 's/^ *\(b"([a-z-]+)", .*/--\1/p' tool/src/args.rs | sort >"$work/parser"
tr ' ' '\n' <"$work/help" | grep -- '^--' | sort >"$work/help-long"
if diff -u --label tool/src/args.rs --label "$tool --help" "$work/parser" "$work/help-long" >"$work/diff"; then
    pass "--help lists every long option the parser knows"
else
    fail "--help and the parser's long options differ:"$'\n'"$(tail -n +3 "$work/diff")"
fi
# Every option word, one per line, for the completions.
tr ' ' '\n' <"$work/help" | sort >"$work/words"

# --- 3. bash ------------------------------------------------------------------------
if bash -n "$bash_file"; then pass "bash -n $bash_file"; else fail "bash -n $bash_file"; fi
# complete_bash WORD...: what _rawdaemon offers for the command line WORD... (the last
# word is the one being completed), one per line.
complete_bash() {
    bash --norc --noprofile -c '
        . "$1"
        . "$2"
        shift 2
        compopt() { :; } # valid only while readline completes
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        _rawdaemon rawdaemon "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' bash "$bash_completion" "$top/$bash_file" "$@"
}
# complete_zsh WORD...: the same through an interactive `zsh -f` on a pseudo-terminal
# (zpty), which types WORD... and a TAB; compadd is wrapped to write each match offered.
cat >"$work/capture.zsh" <<'EOF_ZSH'
zmodload zsh/zpty || exit 2
fdir=$1 out=$2 line=$3
: >|$out
zpty z zsh -f -i
zpty -w z "PS1=''; RPS1=''; fpath=(${(q)fdir} \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-grouped false; bindkey '^I' complete-word"
zpty -w z "compadd() { if (( \${@[(I)-(O|A|D)]} )); then builtin compadd \"\$@\"; return; fi; local -a hits; builtin compadd -O hits \"\$@\"; (( \$#hits )) && print -rl -- \$hits >>${(q)out}; builtin compadd \"\$@\"; }"
# Once the completion has ended, a last line says so.
zpty -w z "comppostfuncs=(capture-done); capture-done() { print -r -- '-- done --' >>${(q)out}; }"
zpty -w -n z "$line"$'\t'
integer n=0
while (( n++ < 100 )) && ! grep -qx -- '-- done --' $out; do sleep 0.1; done
zpty -d z
EOF_ZSH
complete_zsh() {
    zsh -f "$work/capture.zsh" "$top/$zsh_dir" "$work/zsh-out" "$*"
    grep -vx -- '-- done --' "$work/zsh-out" | sort -u
}
# expect SHELL WANTED WORD...: the completion of WORD... offers WANTED.
expect() {
    local shell=$1 wanted=$2
    shift 2
    if (cd "$work" && "complete_$shell" "$@") | grep -qxF -- "$wanted"; then
        pass "$shell: '$*<TAB>' offers $wanted"
    else
        fail "$shell: '$*<TAB>' does not offer $wanted, only: $(cd "$work" && "complete_$shell" "$@" | tr '\n' ' ')"
    fi
}
# options SHELL: the completion of `rawdaemon -` is exactly --help's options.
options() {
    "complete_$1" rawdaemon - | grep -E -- '^(-[A-Za-z]|--[a-z][a-z-]*)$' | sort -u >"$work/$1"
    if diff -u --label "$tool --help" --label "$1 completion" "$work/words" "$work/$1" >"$work/diff"; then
        pass "$1: 'rawdaemon -<TAB>' offers exactly the $(wc -l <"$work/words") options of --help"
    else
        fail "$1: 'rawdaemon -<TAB>' is not --help's options ('-' only in --help, '+' only in the completion):"$'\n'"$(tail -n +3 "$work/diff")"
    fi
}
# File names are completed in $work.
touch "$work/agent.pid" "$work/agent.log"
for shell in bash zsh; do
    if [ "$shell" = zsh ]; then
        if zsh -n "$zsh_dir/_rawdaemon"; then pass "zsh -n $zsh_dir/_rawdaemon"; else
            fail "zsh -n $zsh_dir/_rawdaemon"
        fi
    fi
    options "$shell"
    expect "$shell" --pidfile rawdaemon --pid
    expect "$shell" agent.pid rawdaemon -p agent.
    expect "$shell" agent.log rawdaemon -o agent.l
    expect "$shell" agent.log rawdaemon --stderr agent.l
    expect "$shell" root rawdaemon -u roo
    expect "$shell" HUP rawdaemon --signal HU
    expect "$shell" TERM rawdaemon --stop -p /run/agent.pid -s TE
done

# --- 5. The examples ----------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
    echo "skip: the page's examples run only as root (a mount namespace, the user agent)"
else
    unshare -m --propagation private bash "$0" --examples "$(realpath "$tool")" "$work" ||
        failed=1
fi

exit "$failed"
