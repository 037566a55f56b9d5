#!/bin/sh
# Runs the LSB init script sysvinit/agent for real, with /bin/sleep as the program and its
# pid file and log under a temporary directory, and start-stop-daemon against a daemon
# that rawdaemon started. Prints one PASS, FAIL or SKIP line per check and a count, and
# exits 1 if any check failed.
#
# Usage: sh examples/init/check.sh [RAWDAEMON]
#   RAWDAEMON  the rawdaemon tool to test; default target/release/rawdaemon of this
#              repository (cargo build --release).
# Linux only. As root, the program also runs as the user nobody (DAEMON_USER). The
# start-stop-daemon checks need Debian's /usr/sbin/start-stop-daemon and are skipped
# without it; the respawn checks run once the tool has --respawn.
#
# The init script reads its settings from the file named by AGENT_DEFAULTS instead of
# /etc/default/agent: nothing outside the temporary directory is written. Every process
# started here runs "/bin/sleep 600.<pid of this script>", which tells it from any other
# process; on exit, each one still alive is killed by pid, and if this script is killed
# first, sleep ends by itself within ten minutes.

set -u
LC_ALL=C
export LC_ALL

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || exit 1
repo=$(CDPATH='' cd -- "$here/../.." && pwd) || exit 1
tool=${1:-$repo/target/release/rawdaemon}
case $tool in
/*) ;;
*) tool=$(pwd)/$tool ;;
esac
init=$here/sysvinit/agent
ssd=/usr/sbin/start-stop-daemon

passed=0
failed=0
skipped=0
pass() {
	passed=$((passed + 1))
	printf 'PASS: %s\n' "$1"
}
# fail NAME [DETAIL]: DETAIL (what the command printed, its status) is shown indented.
fail() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$1"
	if [ $# -gt 1 ] && [ -n "$2" ]; then
		printf '%s\n' "$2" | sed 's/^/      /'
	fi
}
skip() {
	skipped=$((skipped + 1))
	printf 'SKIP: %s\n' "$1"
}

if [ ! -x "$tool" ]; then
	fail "rawdaemon tool: $tool is not an executable file (build it: cargo build --release)"
	exit 1
fi
help=$("$tool" --help 2>&1)
case $help in
*--stop*--status* | *--status*--stop*) ;;
*)
	fail "rawdaemon tool: $tool has no --stop and --status"
	exit 1
	;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rawdaemon-init.XXXXXX") || exit 1
# Readable by all: as nobody, the program must reach the scripts written here.
chmod 755 "$tmp"
secs=600.$$
pidfile=$tmp/run/agent.pid
pids=""

# mine PID: PID is alive and its command line has our sleep argument (the program, a
# wrapper script about to exec it, or a --respawn supervisor).
mine() {
	case $(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") in
	*" $secs "*) return 0 ;;
	esac
	return 1
}
# ours: the pids of the live processes that run "/bin/sleep $secs", one a line. A zombie
# has an empty command line and is not listed.
ours() {
	for dir in /proc/[0-9]*; do
		if [ "$(tr '\0' ' ' 2>/dev/null <"$dir/cmdline")" = "/bin/sleep $secs " ]; then
			printf '%s\n' "${dir#/proc/}"
		fi
	done
}
count() {
	ours | wc -l | tr -d ' '
}
# alive PID: the process exists and is not a zombie. A killed daemon stays a zombie
# until its parent reaps it: init, or whatever PID 1 or subreaper it was reparented to
# (a container's PID 1 may never reap). A zombie has exited: it counts as gone.
alive() {
	[ -n "$1" ] || return 1
	state=$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
remember() {
	pids="$pids $*"
}
# reset: kills what an earlier section left running (only after a failure) and removes
# the pid file, so that one failure does not fail the sections after it.
reset() {
	# Supervisors first, so that none restarts a program after the scan below.
	for pid in $pids; do
		mine "$pid" && kill -s KILL "$pid" 2>/dev/null
	done
	for pid in $(ours); do
		kill -s KILL "$pid" 2>/dev/null
	done
	rm -f "$pidfile"
}
cleanup() {
	reset
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

user=""
if [ "$(id -u)" = 0 ] && id -u nobody >/dev/null 2>&1; then
	user=nobody
fi

# configure FILE [NAME=VALUE]...: a settings file for the init script, the assignments
# after the common ones.
configure() {
	conf=$1
	shift
	{
		printf '%s\n' \
			"RAWDAEMON='$tool'" \
			"DAEMON=/bin/sleep" \
			"DAEMON_ARGS='$secs'" \
			"PIDFILE='$pidfile'" \
			"DAEMON_USER='$user'" \
			"STDOUT_LOG='$tmp/log/agent.log'" \
			"STDERR_LOG='$tmp/log/agent.log'" \
			"STOP_TIMEOUT=5"
		for line; do printf '%s\n' "$line"; done
	} >"$conf"
}
# agent ACTION: runs the init script with the settings file $conf; sets out and rc.
agent() {
	out=$(AGENT_DEFAULTS=$conf "$init" "$1" 2>&1)
	rc=$?
	[ -r "$pidfile" ] && remember "$(cat "$pidfile" 2>/dev/null)"
	return 0
}
said() {
	printf '%s\n(status %s)' "$out" "$rc"
}
pid_in_file() {
	cat "$pidfile" 2>/dev/null
}

echo "# sysvinit/agent with $tool${user:+, as $user}"
configure "$tmp/default"

agent start
if [ "$rc" -eq 0 ]; then pass "start exits 0"; else fail "start exits 0" "$(said)"; fi
pid=$(pid_in_file)

agent status
case $rc:$out in
0:*"$pid"*) pass "status exits 0 after start and names pid $pid" ;;
*) fail "status exits 0 after start and names the pid ${pid:-(no pid file)}" "$(said)" ;;
esac

if [ -n "$pid" ] && alive "$pid" &&
	[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" = "/bin/sleep $secs " ]; then
	pass "the pid file names the running /bin/sleep"
else
	fail "the pid file names the running /bin/sleep" "pid file: ${pid:-(none)}; our processes: $(ours | tr '\n' ' ')"
fi

if [ -n "$user" ]; then
	uid=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
	if [ "$uid" = "$(id -u nobody)" ]; then
		pass "the program runs as nobody (DAEMON_USER)"
	else
		fail "the program runs as nobody (DAEMON_USER)" "uid: ${uid:-(no process)}"
	fi
else
	skip "the program runs as DAEMON_USER (needs root and a user nobody)"
fi

agent start
n=$(count)
if [ "$rc" -eq 0 ] && [ "$n" -eq 1 ] && [ "$(pid_in_file)" = "$pid" ]; then
	pass "a second start exits 0 (LSB: already running) and leaves one process"
else
	fail "a second start exits 0 (LSB: already running) and leaves one process" \
		"$(said); processes: $n; pid file: $(pid_in_file)"
fi

agent stop
if [ "$rc" -eq 0 ]; then pass "stop exits 0"; else fail "stop exits 0" "$(said)"; fi
# rawdaemon --stop returns once the program has exited: nothing to wait for here.
n=$(count)
if ! alive "$pid" && [ "$n" -eq 0 ]; then
	pass "no process is left after stop"
else
	fail "no process is left after stop" "pid $pid alive or $n processes: $(ours | tr '\n' ' ')"
fi
if [ ! -e "$pidfile" ]; then
	pass "stop removed the pid file"
else
	fail "stop removed the pid file" "$(ls -l "$pidfile")"
fi

agent status
if [ "$rc" -eq 3 ]; then pass "status exits 3 after stop"; else fail "status exits 3 after stop" "$(said)"; fi

agent stop
if [ "$rc" -eq 0 ]; then
	pass "a second stop exits 0 (LSB: stopping a stopped service succeeds)"
else
	fail "a second stop exits 0 (LSB: stopping a stopped service succeeds)" "$(said)"
fi
out=$("$tool" --stop -p "$pidfile" 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then
	pass "rawdaemon --stop exits non-zero when nothing runs"
else
	fail "rawdaemon --stop exits non-zero when nothing runs" "$(said)"
fi

echo "# sysvinit/agent: stop timeout, start failures"
reset
# A program that ignores TERM: stop must send KILL after STOP_TIMEOUT (1 s).
# shellcheck disable=SC2016 # $1 is the stubborn script's
printf '%s\n' '#!/bin/sh' "trap '' TERM" 'exec /bin/sleep "$1"' >"$tmp/stubborn"
chmod 755 "$tmp/stubborn"
configure "$tmp/default-stubborn" "DAEMON='$tmp/stubborn'" "STOP_TIMEOUT=1"
agent start
pid=$(pid_in_file)
if [ "$rc" -eq 0 ] && alive "$pid"; then
	began=$(date +%s)
	agent stop
	took=$(($(date +%s) - began))
	if [ "$rc" -eq 0 ] && ! alive "$pid" && [ "$took" -ge 1 ] && [ "$took" -le 4 ]; then
		pass "stop KILLs a program that ignores TERM after STOP_TIMEOUT (${took} s)"
	else
		fail "stop KILLs a program that ignores TERM after STOP_TIMEOUT" \
			"$(said); took ${took} s; pid $pid alive: $(alive "$pid" && echo yes || echo no)"
	fi
else
	fail "start of a program that ignores TERM" "$(said)"
fi

configure "$tmp/default-missing" "DAEMON='$tmp/missing'"
agent start
if [ "$rc" -eq 5 ] && [ ! -e "$pidfile" ]; then
	pass "start of a missing program exits 5 (LSB: not installed), no pid file"
else
	fail "start of a missing program exits 5 (LSB: not installed), no pid file" "$(said)"
fi

configure "$tmp/default-bad" "RAWDAEMON_OPTS='--no-such-option'"
agent start
if [ "$rc" -eq 6 ] && [ "$(count)" -eq 0 ]; then
	pass "start with an option rawdaemon rejects exits 6 (LSB: not configured)"
else
	fail "start with an option rawdaemon rejects exits 6 (LSB: not configured)" "$(said)"
fi

echo "# start-stop-daemon and a daemon started by rawdaemon"
reset
if [ -x "$ssd" ]; then
	configure "$tmp/default"
	out=$("$tool" -p "$pidfile" ${user:+-u "$user"} /bin/sleep "$secs" 2>&1)
	rc=$?
	pid=$(pid_in_file)
	remember "$pid"
	if [ "$rc" -eq 0 ] && alive "$pid"; then
		pass "rawdaemon -p PIDFILE /bin/sleep: started pid $pid"
	else
		fail "rawdaemon -p PIDFILE /bin/sleep" "$(said)"
	fi

	out=$("$ssd" --status --pidfile "$pidfile" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "start-stop-daemon --status --pidfile exits 0 (running)"
	else
		fail "start-stop-daemon --status --pidfile exits 0 (running)" "$(said)"
	fi

	out=$("$ssd" --stop --pidfile "$pidfile" --retry 5 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && ! alive "$pid" && [ "$(count)" -eq 0 ]; then
		pass "start-stop-daemon --stop --pidfile --retry 5 exits 0 and the program is gone"
	else
		fail "start-stop-daemon --stop --pidfile --retry 5 exits 0 and the program is gone" \
			"$(said); processes: $(ours | tr '\n' ' ')"
	fi

	# start-stop-daemon leaves the pid file: dead, with the pid file left.
	out=$("$ssd" --status --pidfile "$pidfile" 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ]; then
		pass "start-stop-daemon --status exits 1 (not running, pid file left)"
	else
		fail "start-stop-daemon --status exits 1 (not running, pid file left)" "$(said)"
	fi
	agent status
	if [ "$rc" -eq 1 ]; then
		pass "the init script's status agrees: 1 (dead, pid file left)"
	else
		fail "the init script's status agrees: 1 (dead, pid file left)" "$(said)"
	fi
	agent stop
	stop_rc=$rc
	agent status
	if [ "$stop_rc" -eq 0 ] && [ "$rc" -eq 3 ] && [ ! -e "$pidfile" ]; then
		pass "stop removes the stale pid file and exits 0; status then exits 3"
	else
		fail "stop removes the stale pid file and exits 0; status then exits 3" \
			"stop: $stop_rc; $(said)"
	fi
else
	skip "start-stop-daemon checks: no $ssd"
fi

echo "# sysvinit/agent with RAWDAEMON_OPTS=--respawn"
reset
case $help in
*--respawn*)
	configure "$tmp/default-respawn" "RAWDAEMON_OPTS='--respawn'"
	agent start
	sup=$(pid_in_file)
	# The first program, and then the one the supervisor starts after a SIGKILL.
	first=""
	tries=0
	while [ -z "$first" ] && [ $tries -lt 50 ]; do
		first=$(ours | head -n 1)
		[ -n "$first" ] || sleep 0.1
		tries=$((tries + 1))
	done
	if [ "$rc" -eq 0 ] && alive "$sup" && [ -n "$first" ] && [ "$first" != "$sup" ]; then
		pass "start with --respawn: supervisor $sup in the pid file, program $first"
	else
		fail "start with --respawn: supervisor in the pid file and the program" \
			"$(said); pid file: $sup; program: ${first:-(none)}"
	fi
	if [ -n "$first" ]; then
		kill -s KILL "$first"
		second=""
		tries=0
		while [ -z "$second" ] && [ $tries -lt 150 ]; do
			second=$(ours | grep -vx "$first" | head -n 1)
			[ -n "$second" ] || sleep 0.1
			tries=$((tries + 1))
		done
		if [ -n "$second" ] && [ "$(count)" -eq 1 ]; then
			pass "the supervisor restarts the program after SIGKILL (pid $second)"
		else
			fail "the supervisor restarts the program after SIGKILL" "programs: $(ours | tr '\n' ' ')"
		fi
	fi
	agent stop
	if [ "$rc" -eq 0 ] && ! alive "$sup" && [ "$(count)" -eq 0 ]; then
		pass "stop ends the supervisor and the program"
	else
		fail "stop ends the supervisor and the program" \
			"$(said); supervisor alive: $(alive "$sup" && echo yes || echo no); programs: $(ours | tr '\n' ' ')"
	fi
	;;
*)
	skip "respawn checks: the tool has no --respawn"
	;;
esac

echo "check.sh: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
