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
# TOOL must be a build with every tool-* feature (a smaller one lists fewer options);
# default target/debug/rawdaemon. Needs mandoc, groff, bash-completion and zsh.
# One line per check; the exit status is 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
tool=${1:-target/debug/rawdaemon}
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
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for need in mandoc:mandoc groff:groff zsh:zsh; do
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

exit "$failed"
