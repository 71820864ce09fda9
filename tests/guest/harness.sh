# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2154,SC2034 # variables shared with the sourcing script
#
# The one library of the tests/guest/run*.sh scripts, sourced with the
# script's arguments after it has set CASES (its case names), TAG (a word
# for its temporary directory) and TIMEOUT (seconds for one lkvm run):
#   - checks the LKVM argument and resolves it to an absolute path ($lkvm);
#   - all VERDICT WHY gives every case the same verdict;
#   - reports every case SKIP without a usable /dev/kvm, FAIL without lkvm
#     or when the test guest does not build (and exits);
#   - makes $tmp, removed on exit (after the script's on_exit, if it has one).
#
# A case: run lkvm (once or more) and check what it did, calling bad for
# each failed expectation, then finish, which prints the case's one
# PASS/FAIL line (the first $BAD_MAX reasons, default 3) and, for a failure,
# the command and the end of its output on stderr. $failed is 1 once a
# case failed: end the script with exit "$failed".

if [ $# -ne 1 ]; then
	echo "usage: $0 LKVM" >&2
	exit 2
fi
lkvm=$1
case $lkvm in
*/*) lkvm=$(realpath -m -- "$lkvm") ;;
*) lkvm=$(command -v -- "$lkvm" || echo "$lkvm") ;;
esac

all() {
	local c

	for c in "${CASES[@]}"; do
		echo "$1: guest/$c: $2"
	done
}

if [ ! -e /dev/kvm ]; then
	all SKIP "/dev/kvm is missing"
	exit 0
fi
if ! (exec 3<>/dev/kvm) 2>/dev/null; then
	all SKIP "/dev/kvm cannot be opened read-write"
	exit 0
fi
if [ ! -x "$lkvm" ]; then
	all FAIL "lkvm binary not found: $lkvm"
	exit 1
fi
if ! make -s -C "$here" >&2; then
	all FAIL "cannot build the test guest"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lkvm-$TAG-test.XXXXXX") || exit 1
# shellcheck disable=SC2317 # trap handler
harness_exit() {
	local p

	if declare -F on_exit >/dev/null; then
		on_exit
	fi
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	exec 3>&-
	rm -rf "$tmp"
}
trap harness_exit EXIT

failed=0
name='' out='' err='' rc=0 why='' nbad=0 checked='' pid=0
pids=()
BAD_MAX=${BAD_MAX:-3}

# run NAME STDIN ARGS...: lkvm ARGS with STDIN, bounded by $TIMEOUT; leaves
# $out (the console without CRs; $out.raw as it came), $err and $rc.
run() {
	name=$1
	local input=$2

	shift 2
	out=$tmp/$name.out
	err=$tmp/$name.err
	printf '%q ' "$lkvm" "$@" >"$tmp/$name.cmd"
	timeout -k 5 "$TIMEOUT" "$lkvm" "$@" <"$input" >"$out.raw" 2>"$err"
	rc=$?
	tr -d '\r' <"$out.raw" >"$out"
}

# Cases of VMs in the background, watched while they run ($kernel: the
# script's test guest): begin NAME, start or start_fifo, wait_line or
# wait_sock, then finish_vm and the checks; lkvm processes still running at
# exit are killed.

# begin NAME: a case of background VMs (start), output in $out and $err
begin() {
	name=$1
	out=$tmp/$name.out
	err=$tmp/$name.err
	: >"$out"
	: >"$err"
}

# start VM-NAME STDIN ARGS...: lkvm run in the background ($pid), output to $out
start() {
	local vm=$1 input=$2
	shift 2
	if [ -n "$vm" ]; then
		set -- --name "$vm" "$@"
	fi
	"$lkvm" run -k "$kernel" "$@" <"$input" >"$out" 2>"$err" &
	pid=$!
	pids+=("$pid")
}

# start_fifo VM-NAME ARGS...: the same, with fd 3 writing to the guest's COM1
# (held open, so lkvm's console input thread stays)
start_fifo() {
	local vm=$1
	shift
	rm -f "$tmp/in.fifo"
	mkfifo "$tmp/in.fifo"
	start "$vm" "$tmp/in.fifo" "$@"
	exec 3>"$tmp/in.fifo"
}

# finish_vm [SECONDS]: wait for lkvm to exit (killing it after SECONDS); $rc
finish_vm() {
	local t=${1:-$TIMEOUT} i
	for ((i = 0; i < t * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		bad "lkvm still running after ${t}s"
	fi
	wait "$pid"
	rc=$?
	exec 3>&-
}

# wait_line LINE [SECONDS]: the guest printed "lkvmtest: LINE"
wait_line() {
	local t=${2:-30} i
	for ((i = 0; i < t * 10; i++)); do
		tr -d '\r' <"$out" | grep -qxF -- "lkvmtest: $1" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	tr -d '\r' <"$out" | grep -qxF -- "lkvmtest: $1" && return 0
	bad "guest never printed '$1'"
	return 1
}

# wait_sock VM [SECONDS]: the VM's control socket answers
wait_sock() {
	local t=${2:-20} i
	for ((i = 0; i < t * 10; i++)); do
		"$lkvm" stat --name "$1" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	bad "the control socket of '$1' never answered"
	return 1
}

# Record a failed expectation of the current case.
bad() {
	nbad=$((nbad + 1))
	if [ $nbad -le "$BAD_MAX" ]; then
		why=${why:+$why; }$1
	fi
}

# A sanitizer report in $err fails the case (finish looks if no one did).
sanitizer_ok() {
	checked=$err
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$err" 2>/dev/null; then
		bad "sanitizer: $(grep -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$err")"
	fi
}

finish() {
	[ -z "$err" ] || [ "$checked" = "$err" ] || sanitizer_ok
	if [ -z "$why" ]; then
		echo "PASS: guest/$name"
	else
		[ $nbad -le "$BAD_MAX" ] || why="$why; and $((nbad - BAD_MAX)) more"
		echo "FAIL: guest/$name: $why"
		failed=1
		{
			echo "---- guest/$name: $why"
			[ ! -f "$tmp/$name.cmd" ] || echo "command: $(cat "$tmp/$name.cmd")"
			echo "exit status: $rc"
			echo "-- stdout:"
			tr -d '\r' <"$out" 2>/dev/null | tail -n 80
			echo "-- stderr:"
			tail -n 40 "$err" 2>/dev/null
			echo "----"
		} >&2
	fi
	why='' nbad=0 checked=''
}

# has LINE: the guest printed "lkvmtest: LINE"
has() {
	tr -d '\r' <"$out" | grep -qxF -- "lkvmtest: $1"
}

# value KEY: what follows "lkvmtest: KEY=" on the first such line
value() {
	tr -d '\r' <"$out" | sed -n "s/^lkvmtest: $1=//p" | head -n 1
}

expect() {
	has "$1" && return
	case $1 in
	*=*) bad "missing '$1' (got '$(value "${1%%=*}")')" ;;
	*) bad "missing '$1'" ;;
	esac
}

# expect_re REGEX: some guest line matches (anchored after "lkvmtest: ")
expect_re() {
	tr -d '\r' <"$out" | grep -qE "^lkvmtest: $1\$" || bad "no line matching '$1'"
}

status_text() {
	case $1 in
	124 | 137) echo "timed out after ${TIMEOUT}s" ;;
	*) if [ "$1" -ge 128 ]; then
		echo "killed by signal $(($1 - 128))"
	   else
		echo "exit status $1"
	   fi ;;
	esac
}

# The guest ran its report and its action without complaint.
guest_ok() {
	[ "$rc" -eq 0 ] || bad "$(status_text "$rc"), expected 0"
	has hello || bad "guest printed nothing"
	if grep -q '^lkvmtest: fatal' "$out"; then
		bad "guest: $(sed -n 's/^lkvmtest: fatal //p' "$out" | head -n 1)"
	fi
	if grep -q 'overlaps-image$' "$out"; then
		bad "$(grep -m1 'overlaps-image$' "$out" | sed 's/^lkvmtest: //')"
	fi
	sanitizer_ok
}

# guest_result ACTION: the verdict of a test guest action, with the guest's
# complaints ("bad" lines, its drivers' "vpci-error"/"vmmio-error" lines) as
# the reasons, in the order printed.
guest_result() {
	local line

	has "$1 result=pass" && return
	if tr -d '\r' <"$out" | grep -qE '^lkvmtest: (bad|vpci-error|vmmio-error) '; then
		while IFS= read -r line; do
			bad "$line"
		done < <(tr -d '\r' <"$out" | sed -nE 's/^lkvmtest: (bad|vpci-error|vmmio-error) //p')
	else
		bad "no '$1 result=pass'"
	fi
}

# test_image: $orig, the 1 MiB image the guest knows ("lkvm-test-disk\n"
# over and over), and the name $disk for a copy of it.
test_image() {
	disk=$tmp/disk.img
	orig=$tmp/disk.orig
	yes lkvm-test-disk | head -c $((1024 * 1024)) >"$orig"
}

# same_image FILE WHAT: $disk must equal FILE (the reason names the first
# differing sector).
same_image() {
	local first

	cmp -s "$disk" "$1" && return
	first=$(cmp "$disk" "$1" 2>&1 | sed -n 's/.* byte \([0-9]*\).*/\1/p')
	if [ -n "$first" ]; then
		bad "$2: image differs from the expected one at sector $(((first - 1) / 512))"
	else
		bad "$2: image differs from the expected one ($(cmp "$disk" "$1" 2>&1 | head -n 1))"
	fi
}
