# bench-lib.sh: progress lines, results CSVs and the chart, shared by the
# bench-*.sh scripts (sourced, from the repository's root).
#
# Each script writes into $BENCH_RESULTS (default results/):
#   NAME.csv          one row per measurement:
#                     bench,case,program,run,value,unit,tool
#                     program is offloadpmd (or offloadpmd-MODE) or the
#                     reference (c-reference; kernel-veth in bench-kernel);
#                     tool is what actually ran (testpmd csum, gro_bench gro,
#                     grobench gro, ...)
#   NAME-summary.csv  per case and program: runs, median, and the ratio
#                     median / reference median on offloadpmd's rows:
#                     bench,case,program,runs,median,unit,ratio,tool
#   NAME.png          cmd/benchplot's chart of NAME.csv (PLOT=0: none)
# Both CSVs start with two '#' lines: script, UTC date, host, CPUs, load
# average at the start; the settings. benchplot makes them the title.

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
PERF=${PERF:-$(command -v perf || true)}

# stats_session WARMUP DUR [LINE...]: prints, paced, the interactive
# commands the DPDK anchors drive testpmd with (pipe it into either
# program): after WARMUP s `start`, 2 s later `show port stats all`, DUR s
# later again (so the last block's Rx-pps/Tx-pps are testpmd's "since last
# show" rates over DUR s), then each LINE, stop, quit.
stats_session() {
	local warm=$1 dur=$2 l
	shift 2
	sleep "$warm"
	echo start
	sleep 2
	echo "show port stats all"
	sleep "$dur"
	echo "show port stats all"
	for l in "$@"; do echo "$l"; done
	echo stop
	sleep 1
	echo quit
}

# worker_cpu PATTERN OUT: waits for the process whose command line matches
# PATTERN, then for its worker lcore thread (worker-1), and writes the
# thread's CPU time in ms (perf stat task-clock, counted until the thread
# exits) to OUT; "0" when it cannot (no perf, the thread not found in
# time). bench-crypto.sh and bench-esp.sh divide crypto-perf's figures by
# it to get on-CPU ones.
worker_cpu() {
	local pat=$1 out=$2 pid="" tid="" f
	echo 0 >"$out"
	[ -n "$PERF" ] || return 0
	for _ in $(seq 500); do
		pid=$(pgrep -f "$pat" | head -1 || true)
		if [ -n "$pid" ]; then
			for f in /proc/"$pid"/task/*/comm; do
				if grep -q 'worker-1$' "$f" 2>/dev/null; then
					tid=${f%/comm}
					tid=${tid##*/}
					break 2
				fi
			done
		fi
		sleep 0.01
	done
	[ -n "$tid" ] || return 0
	"$PERF" stat -x, -e task-clock -t "$tid" 2>&1 >/dev/null | awk -F, '$3 == "task-clock" {print $1+0}' >"$out" || echo 0 >"$out"
}

# results_init NAME SETTINGS: start the CSVs and the clock.
results_init() {
	RES_NAME=$1
	RES_DIR=${BENCH_RESULTS:-results}
	mkdir -p "$RES_DIR"
	RES_CSV=$RES_DIR/$1.csv
	RES_SUMMARY=$RES_DIR/$1-summary.csv
	RES_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	RES_T0=$SECONDS
	local head
	head="# $1.sh, $RES_DATE, $(hostname), $(nproc) CPUs, load average at start $(cut -d' ' -f1-3 /proc/loadavg)
# $2"
	printf '%s\nbench,case,program,run,value,unit,tool\n' "$head" >"$RES_CSV"
	printf '%s\nbench,case,program,runs,median,unit,ratio,tool\n' "$head" >"$RES_SUMMARY"
}

# mmss SECONDS -> M:SS
mmss() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

# progress K N TEXT: "[K/N] TEXT (elapsed M:SS, about M:SS left)" on stderr.
progress() {
	local e=$((SECONDS - RES_T0)) left=""
	[ "$1" -gt 1 ] && left=", about $(mmss $((e * ($2 - $1 + 1) / ($1 - 1)))) left"
	printf '[%d/%d] %s (elapsed %s%s)\n' "$1" "$2" "$3" "$(mmss "$e")" "$left" >&2
}

# csv_row BENCH CASE PROGRAM RUN VALUE UNIT TOOL: one measurement.
csv_row() {
	local IFS=,
	echo "$*" >>"$RES_CSV"
}

# summary_row BENCH CASE PROGRAM RUNS MEDIAN UNIT RATIO TOOL ("" for no ratio).
summary_row() {
	local IFS=,
	echo "$*" >>"$RES_SUMMARY"
}

# results_plot [benchplot options]: draw NAME.csv into NAME.png, unless
# PLOT=0; a failure is reported and does not fail the benchmark.
results_plot() {
	[ "${PLOT:-1}" = 0 ] && return 0
	local png=$RES_DIR/$RES_NAME.png
	if "$GO" run ./cmd/benchplot -o "$png" "$@" "$RES_CSV"; then
		echo "$RES_NAME: results in $RES_CSV, $RES_SUMMARY, chart $png ($(mmss $((SECONDS - RES_T0))) in all)" >&2
	else
		echo "$RES_NAME: benchplot failed; results in $RES_CSV, $RES_SUMMARY" >&2
	fi
}
