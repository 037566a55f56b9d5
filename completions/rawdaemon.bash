# bash completion for rawdaemon(8)                          -*- shell-script -*-
#
# Needs bash-completion (_init_completion, _filedir, _usergroup, _command_offset). Install
# as /usr/share/bash-completion/completions/rawdaemon, which bash-completion loads the first
# time rawdaemon is completed, or source it after bash-completion. man/check.sh checks that
# it offers exactly the options `rawdaemon --help` lists.
# shellcheck disable=SC2207 # COMPREPLY=($(compgen ...)), as bash-completion does: no word has a blank

_rawdaemon()
{
    local cur prev words cword split
    # --pidfile=PATH and USER:GROUP stay one word each.
    _init_completion -s -n : || return

    # PROGRAM is the first word that is neither an option nor an option's value, or the one
    # after `--`; its arguments are PROGRAM's to complete.
    local i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --)
                ((i++))
                break
                ;;
            # A value attached: --pidfile=PATH, -pPATH.
            --*=* | -[!-]?*) ;;
            -h | -V | -f | -R | --help | --version | --foreground | --respawn | --stop | \
                --status | --no-new-privs | --notify-await | --log-timestamps | --oknodo) ;;
            # Any other option takes the next word.
            -?*) ((i++)) ;;
            *) break ;;
        esac
    done
    if ((i < cword)); then
        _command_offset $i
        return
    fi

    # The value of the option before (i is past cword), or after its `=`.
    if ((i > cword)) || $split; then
        case $prev in
            -p | --pidfile | -o | --stdout | -e | --stderr | --log-socket)
                _filedir
                ;;
            -c | --chdir | -r | --chroot)
                _filedir -d
                ;;
            -u | --user)
                _usergroup
                ;;
            -s | --signal)
                COMPREPLY=($(compgen -W 'HUP INT QUIT KILL USR1 USR2 ALRM TERM CONT STOP
                    WINCH PWR' -- "$cur"))
                ;;
            --syslog | --kmsg)
                # TAG.FACILITY: the facilities once the dot is there.
                if [[ $cur == *.* ]]; then
                    COMPREPLY=($(compgen -P "${cur%.*}." -W 'kern user mail daemon auth
                        syslog lpr news uucp cron authpriv ftp local0 local1 local2 local3
                        local4 local5 local6 local7' -- "${cur##*.}"))
                fi
                ;;
            --rlimit)
                COMPREPLY=($(compgen -S = -W 'nofile nproc core as fsize memlock stack cpu
                    data rss locks sigpending msgqueue nice rtprio rttime' -- "$cur"))
                compopt -o nospace
                ;;
            --ionice)
                COMPREPLY=($(compgen -W 'idle best-effort real-time' -- "$cur"))
                ;;
            --procsched)
                COMPREPLY=($(compgen -W 'other fifo rr batch idle' -- "$cur"))
                ;;
            --ready-when)
                COMPREPLY=($(compgen -W 'tcp: unix: path:' -- "$cur"))
                compopt -o nospace
                ;;
            # A number, a size, a name, a list: nothing to offer.
        esac
        return
    fi

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '-p --pidfile -c --chdir -m --umask -o --stdout -e --stderr
            -k --keep-fd -E --env -f --foreground -u --user -r --chroot -R --respawn
            --max-restarts --restart-period --syslog --kmsg --log-socket --capabilities
            --no-new-privs --secbits --rlimit --nicelevel --ionice --procsched
            --oom-score-adj --log-max-size --log-keep --log-timestamps --ready-fd
            --notify-await --watchdog --ready-when --notify-timeout -h --help -V --version
            --stop -s --signal -t --timeout --retry --oknodo --status' -- "$cur"))
        return
    fi

    # PROGRAM itself: a command.
    _command_offset $i
} &&
    complete -F _rawdaemon rawdaemon

# ex: filetype=sh
