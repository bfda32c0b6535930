# Sourced by the generated plan.sh inside the booted Debian container (run by
# e2e.service, see container_test.go). It only records facts; the Go test
# asserts them, so a failing check names the step, the command, its output
# and the journal.
#
# Layout written under /e2e/out:
#   log                     one line per step, in order
#   started, finished       markers: booted far enough to run / ran to the end
#   steps/NAME/{cmd,rc,stdout,stderr}
#   steps/NAME/ps           the processes, when the step timed out (rc 124)
#   journal.txt             the whole boot's journal (e2e.service's ExecStopPost=)
#
# Nothing here calls `journalctl --sync`: it waits for journald to be idle
# and was seen to block for minutes in this container; the journal function
# polls instead.

OUT=/e2e/out
STEPS=$OUT/steps
LIB=/e2e/ctl/lib.sh

init() {
	mkdir -p "$STEPS"
	: >"$OUT/log"
	touch "$OUT/started"
	log "started: $(systemctl --version | head -n 1)"
}

log() {
	echo "e2e: $*" >>"$OUT/log"
	echo "e2e: $*"
}

# step NAME CMD [ARG...]: run CMD (a program, or one of the functions below
# in a child shell) for 30 s at most, record its exit code and output. Never
# fails: the Go side decides what a result means.
step() {
	name=$1
	shift
	d=$STEPS/$name
	mkdir -p "$d"
	printf '%s\n' "$*" >"$d/cmd"
	t0=$(date +%s%N)
	case $(type "$1" 2>/dev/null) in
	*function*)
		timeout 30 sh -c '. "$0"; "$@"' "$LIB" "$@" >"$d/stdout" 2>"$d/stderr"
		;;
	*)
		timeout 30 "$@" >"$d/stdout" 2>"$d/stderr"
		;;
	esac
	rc=$?
	echo "$rc" >"$d/rc"
	if [ "$rc" = 124 ]; then
		ps -eo pid,stat,etime,wchan:32,args >"$d/ps" 2>&1
	fi
	ms=$((($(date +%s%N) - t0) / 1000000))
	log "step $name rc=$rc ms=$ms: $*"
	return 0
}

# settle UNIT [STATE]: wait (10 s at most) until UNIT's ActiveState is STATE,
# or without STATE until it leaves the transient states and a moment longer:
# a Type=simple service is "active" right after fork and only fails once its
# exec (namespace setup, binary, socket) has gone wrong, which on a loaded
# machine can take a while. Plans that expect a failure pass STATE=failed;
# the Go side still asserts the state recorded afterwards.
settle() {
	i=0
	while [ $i -lt 100 ]; do
		s=$(timeout 10 systemctl show -P ActiveState "$1")
		if [ -n "${2:-}" ]; then
			[ "$s" = "$2" ] && return 0
		else
			case $s in
			activating | deactivating | reloading) ;;
			*) break ;;
			esac
		fi
		sleep 0.1
		i=$((i + 1))
	done
	[ -n "${2:-}" ] || sleep 0.5
}

# fetch URL TRIES: GET URL until it answers 2xx: at most TRIES tries, 0.2 s
# apart, each cut off after 2 s.
fetch() {
	n=0
	while :; do
		if curl -fsS --max-time 2 "$1"; then
			return 0
		fi
		n=$((n + 1))
		if [ $n -ge "$2" ]; then
			return 1
		fi
		sleep 0.2
	done
}

# loopdevs: nspawn's /dev has no loop devices; portabled asks loop-control
# for a free number and opens /dev/loopN, so make every node it may name.
loopdevs() {
	[ -e /dev/loop-control ] || mknod -m 0660 /dev/loop-control c 10 237
	i=0
	while [ $i -lt 128 ]; do
		[ -e /dev/loop$i ] || mknod -m 0660 /dev/loop$i b 7 $i
		i=$((i + 1))
	done
}

# mark KEY: remember where the journal ends now; journal KEY UNIT then shows
# only UNIT's entries after it, so one scenario never sees another's lines.
mark() {
	timeout 10 journalctl -q -n 1 --show-cursor -o cat 2>/dev/null |
		sed -n 's/^-- cursor: //p' >"/tmp/e2e-cursor.$1"
}

# journal KEY UNIT [TEXT]: UNIT's journal since mark KEY; with TEXT, poll
# (5 s at most) until TEXT shows up, since journald writes asynchronously.
# Not just -u: a message that the unit's forked child logs just before it
# exits (the 226/NAMESPACE reason) can lose its _SYSTEMD_UNIT= when journald
# reads the sender's cgroup too late; such messages carry UNIT= themselves,
# so match both fields.
journal() {
	c=$(cat "/tmp/e2e-cursor.$1" 2>/dev/null)
	want=${3:-}
	i=0
	while :; do
		if [ -n "$c" ]; then
			out=$(journalctl -b --no-pager -o cat --after-cursor="$c" "_SYSTEMD_UNIT=$2" + "UNIT=$2")
		else
			out=$(journalctl -b --no-pager -o cat "_SYSTEMD_UNIT=$2" + "UNIT=$2")
		fi
		if [ -z "$want" ] || [ $i -ge 25 ]; then
			break
		fi
		case $out in
		*"$want"*) break ;;
		esac
		sleep 0.2
		i=$((i + 1))
	done
	printf '%s\n' "$out"
}

finish() {
	touch "$OUT/finished"
	log finished
}
