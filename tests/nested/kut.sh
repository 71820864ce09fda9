# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# kvm-unit-tests in the arm64 nested tier (sourced by run-arm64.sh; needs
# lib.sh): the suite's own runner, run_tests.sh with its kvmtool target,
# drives lkvm-arm64 inside the tier's L1 boots, one case at a time, as it
# would drive kvmtool. It finds lkvm as `lkvm` in PATH (L1's /bin/lkvm),
# by the "The most commonly used" its --help prints, and runs every case
# with kvmtool's options (--nodefaults --network mode=none
# --loglevel=warning, the case's kvmtool_params, --params).
#
# The build is kvm-unit-tests' arm64 kvmtool build (source and arm/*.flat),
# a tarball: LKVM_KUT_TARBALL, or shared/peer/kvm-unit-tests-arm64.tar.gz
# beside the repository. Without it every kut case SKIPs.
#
# The cases: every section of arm/unittests.cfg the kvmtool target does not
# disable; those whose kvmtool_params ask for a GICv2 run in the GICv2 L1,
# the others in the GICv3 one. The runner needs what busybox lacks: bash
# (bash-static), coreutils' timeout (--foreground; with the arm64 libc it
# links) and /dev/fd; the tarball was configured on another machine, so its
# config.mak gets this one's HOST (aarch64) and no python stack printer,
# which is what ./configure would have written here.
#
# Verdicts: the runner's PASS; its SKIP only when the test itself said so
# (exit status 77: "EXIT: STATUS=77" in its log); anything else,
# including a SKIP the runner made of an lkvm error, is a FAIL.

NESTED_KUT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The peer build: LKVM_KUT_TARBALL, else shared/peer/ beside the repository
# or beside one of its parent directories (a worktree may sit deeper than
# the checkout the machine was set up with), or beside those of the local
# repository it was cloned from (a clone made elsewhere, as CI's).
nested_kut_find_tarball() {
	local start d origin
	origin=$(git -C "$REPO" remote get-url origin 2>/dev/null)
	case "$origin" in /*) ;; file://*) origin=${origin#file://} ;; *) origin= ;; esac
	for start in "$REPO" ${origin:+"$origin"}; do
		d=$start
		while [ "$d" != / ]; do
			d=$(dirname "$d")
			[ -f "$d/shared/peer/kvm-unit-tests-arm64.tar.gz" ] &&
				{ echo "$d/shared/peer/kvm-unit-tests-arm64.tar.gz"; return; }
		done
	done
	echo "$REPO/../shared/peer/kvm-unit-tests-arm64.tar.gz"
}
NESTED_KUT_TARBALL=${LKVM_KUT_TARBALL:-$(nested_kut_find_tarball)}
NESTED_KUT_SKIP=
# What every tests/run runs (the whole suite adds about 10 minutes to the
# tier): one or two cases for each part of the machine lkvm gives the suite
# (boot and SMP, PSCI, timer, GICv3 and GICv2 SGIs and active state, PMU,
# debug, FPU context). LKVM_KUT=all (or LKVM_FULL=1) runs every case the
# kvmtool target runs (`LKVM_FULL=1 tests/run`); LKVM_KUT=0 none. In the
# whole suite, micro-bench outlasts run_tests.sh's 90 s under TCG and
# pmu-event-introspection fails here as it does with kvmtool (README).
NESTED_KUT_CI_CASES="selftest-setup selftest-smp psci timer gicv3-ipi gicv3-active pmu-cycle-counter debug-bp fpu-context gicv2-ipi gicv2-active"
NESTED_KUT_V3=
NESTED_KUT_V2=

# Fetch (cached) and unpack an arm64 package; prints its directory.
nested_kut_pkg() {
	local pkg=$1 ver dir
	ver=$(lkvm_pkg_candidate_version "$pkg:arm64")
	exec {lkvm_lockfd}>"$LKVM_CACHE/.lock"
	flock "$lkvm_lockfd"
	dir=
	if [ -n "$ver" ]; then
		dir=$LKVM_CACHE/arm64/${pkg}_${ver//:/_}
		lkvm_fetch_unpack "$pkg" "$ver" "$dir" arm64 >&2 || dir=
	fi
	if [ -z "$dir" ]; then
		dir=$(ls -d "$LKVM_CACHE/arm64/${pkg}"_*/.complete 2>/dev/null | sort -V | tail -n 1)
		dir=${dir%/.complete}
	fi
	flock -u "$lkvm_lockfd"; exec {lkvm_lockfd}>&-
	[ -n "$dir" ] && echo "$dir"
}

# The cases of arm/unittests.cfg ($1) the kvmtool target runs, one
# "name gicv2|other nodefault|default" line each.
nested_kut_cfg_cases() {
	awk '
		function flush() {
			if (name != "" && !off)
				print name, (gic2 ? "gicv2" : "other"), (nodef ? "nodefault" : "default")
		}
		/^\[.*\]$/ { flush(); name = substr($0, 2, length($0) - 2); off = gic2 = nodef = 0; next }
		/^disabled_if/ && /TARGET/ && /!= *qemu/ { off = 1 }
		/^kvmtool_params/ && /gicv2/ { gic2 = 1 }
		/^groups/ && / nodefault|= *nodefault/ { nodef = 1 }
		END { flush() }
	' "$1"
}

# nested_kut_prepare WORK: stage /kut, bash and timeout into
# WORK/l1-overlay; set NESTED_KUT_V3 and NESTED_KUT_V2 (case names with
# the kut- prefix), or NESTED_KUT_SKIP with the reason.
nested_kut_prepare() {
	local work=$1 ov=$1/l1-overlay src=$1/kut-src bash libc core n g d
	local mode=${LKVM_KUT:-ci}
	[ "${LKVM_FULL:-0}" = 1 ] && mode=all
	case "$mode" in
	0|none) echo "INFO: kvm-unit-tests not run (LKVM_KUT=$mode)" >&2; return 0 ;;
	1|all) mode=all ;;
	ci) echo "INFO: kvm-unit-tests: the CI subset ($NESTED_KUT_CI_CASES); LKVM_KUT=all runs every case" >&2 ;;
	*) NESTED_KUT_SKIP="LKVM_KUT=$mode: want ci, all or 0"; return 0 ;;
	esac
	if [ ! -f "$NESTED_KUT_TARBALL" ]; then
		NESTED_KUT_SKIP="no kvm-unit-tests build at $NESTED_KUT_TARBALL (set LKVM_KUT_TARBALL)"
		return 0
	fi
	mkdir -p "$src" "$ov/bin" "$ov/lib"
	tar -xzf "$NESTED_KUT_TARBALL" -C "$src" || { NESTED_KUT_SKIP="cannot unpack $NESTED_KUT_TARBALL"; return 0; }
	src=$(dirname "$(find "$src" -maxdepth 2 -name run_tests.sh | head -n 1)")
	[ -f "$src/config.mak" ] && [ -f "$src/arm/unittests.cfg" ] ||
		{ NESTED_KUT_SKIP="the tarball has no configured kvm-unit-tests tree"; return 0; }
	grep -q '^TARGET=kvmtool' "$src/config.mak" ||
		{ NESTED_KUT_SKIP="the kvm-unit-tests build is not configured with --target=kvmtool"; return 0; }
	bash=$(nested_kut_pkg bash-static) && libc=$(nested_kut_pkg libc6) &&
		core=$(nested_kut_pkg coreutils) ||
		{ NESTED_KUT_SKIP="cannot fetch arm64 bash-static, libc6 or coreutils"; return 0; }
	install -m 755 "$bash/bin/bash-static" "$ov/bin/bash"
	install -m 755 "$core/usr/bin/timeout" "$ov/bin/timeout"
	# timeout needs the dynamic loader and libc, nothing else.
	mkdir -p "$ov/lib/aarch64-linux-gnu"
	cp -L "$libc/lib/ld-linux-aarch64.so.1" "$ov/lib/" &&
		cp -L "$libc/lib/aarch64-linux-gnu/libc.so.6" "$ov/lib/aarch64-linux-gnu/" &&
		ln -sf aarch64-linux-gnu/libc.so.6 "$ov/lib/libc.so.6" ||
		{ NESTED_KUT_SKIP="the arm64 libc6 package has no ld-linux-aarch64.so.1 or libc.so.6"; return 0; }
	# Only what the runner and the arm64 tests need.
	mkdir -p "$ov/kut/arm"
	for d in run_tests.sh config.mak errata.txt scripts; do
		cp -a "$src/$d" "$ov/kut/" 2>/dev/null
	done
	[ -f "$src/build-head" ] && cp "$src/build-head" "$ov/kut/" || : >"$ov/kut/build-head"
	cp -a "$src/arm/run" "$src/arm/unittests.cfg" "$src"/arm/*.flat "$ov/kut/arm/"
	sed -i -e 's/^HOST=.*/HOST=aarch64/' -e 's/^PRETTY_PRINT_STACKS=.*/PRETTY_PRINT_STACKS=no/' \
		-e "s|^ERRATATXT=.*|ERRATATXT=/kut/errata.txt|" -e "s|^SRCDIR=.*|SRCDIR=/kut|" \
		"$ov/kut/config.mak"
	while read -r n g d; do
		if [ -n "${LKVM_KUT_CASES:-}" ]; then
			case " $LKVM_KUT_CASES " in *" $n "*) ;; *) continue ;; esac
		elif [ "$mode" = ci ]; then
			case " $NESTED_KUT_CI_CASES " in *" $n "*) ;; *) continue ;; esac
		fi
		if [ "$g" = gicv2 ]; then
			NESTED_KUT_V2="$NESTED_KUT_V2 kut-$n"
		else
			NESTED_KUT_V3="$NESTED_KUT_V3 kut-$n"
		fi
		[ "$d" = nodefault ] && NESTED_KUT_NODEFAULT="${NESTED_KUT_NODEFAULT:-} kut-$n"
	done < <(nested_kut_cfg_cases "$src/arm/unittests.cfg")
	return 0
}

# What L1 needs before the first kut case.
nested_kut_preamble() {
	# bash's process substitution and the runner's tee name these.
	echo '[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd'
	echo '[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout'
	echo '[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr'
}

# The L1 command of case kut-NAME: the runner for that case alone (a
# nodefault case through its group), then the case's log.
nested_kut_cmd() {
	local n=${1#kut-} g=
	case " ${NESTED_KUT_NODEFAULT:-} " in *" $1 "*) g="-g nodefault " ;; esac
	echo "sh -c \"cd /kut && MAX_SMP=\\\$(nproc) ./run_tests.sh -v $g$n; s=\\\$?;" \
		"echo KUT-LOG-BEGIN; cat logs/$n.log; echo KUT-LOG-END; exit \\\$s\""
}

# Why case kut-NAME failed, "SKIP: why" when the test skipped itself, or
# nothing when it passed. $1 case  $2 its output (from lkvm_case_output)
nested_kut_check() {
	local n=${1#kut-} out line verdict why
	out=$(printf '%s\n' "$2" | sed 's/\x1b\[[0-9;]*m//g')
	line=$(printf '%s\n' "$out" | grep -E "^(PASS|FAIL|SKIP) $n( |\$)" | tail -n 1)
	[ -n "$line" ] || { echo "run_tests.sh printed no result for $n"; return; }
	verdict=${line%% *}
	why=${line#"$verdict $n"}
	why=${why# }
	case "$verdict" in
	PASS) return ;;
	SKIP)
		# The test's own skip: it exited with 77, which its status
		# line says so (EXIT: STATUS=77). A skip the runner made (lkvm's
		# error, a missing file) is a failure here.
		if printf '%s\n' "$out" | tr -d '\r' | grep -qx 'EXIT: STATUS=77'; then
			why=$(printf '%s\n' "$out" | sed -n '/^KUT-LOG-BEGIN/,/^KUT-LOG-END/p' |
				grep -E '^SKIP: ' | head -n 3 | tr '\n' ';' | sed 's/;$//')
			echo "SKIP: the test skipped itself: ${why:-${line#* }}"
		else
			echo "the runner skipped it, not the test: $why"
		fi
		;;
	*) echo "kvm-unit-tests: $why$(printf '%s\n' "$out" |
		sed -n '/^KUT-LOG-BEGIN/,/^KUT-LOG-END/p' | grep -E '^(FAIL|lkvm): ' |
		head -n 2 | tr '\n' ' ' | sed 's/^/: /;s/ $//')" ;;
	esac
}
