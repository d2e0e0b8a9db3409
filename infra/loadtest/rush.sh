#!/usr/bin/env bash
# The morning-rush benchmark of BENCHMARKS.md: one `sesame serve` on bbolt,
# on this machine, against `sesame loadtest rush`.
#
#   infra/loadtest/rush.sh SERVER_BIN LOADTEST_BIN STORE OUT_DIR [CAPACITY]
#
# STORE is a bbolt file holding a school with 1,500 students and 300
# parents; it is created (with SERVER_BIN) when missing, and only copied
# afterwards, so that two builds can run on the same accounts. Then, each on
# a fresh copy of the store and a fresh server process: the sign-in capacity (a closed loop of
# 4 clients for 15 s; skipped when CAPACITY, in sign-ins per second, is
# given), then rushes of 20 s offered at 0.5, 1 and 2 times that capacity,
# and 1,500 students within 2 minutes. Reports go to OUT_DIR.
set -euo pipefail
server=$(realpath "$1") client=$(realpath "$2") pristine=$(realpath "$3") out=$4 capacity=${5:-}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pw=mot-de-passe-de-la-ruee uai=0751234A year=2026-2027 port=18431
url=http://127.0.0.1:$port/

if [ ! -e "$pristine" ]; then
	echo "$pw" | "$server" school create --store "bolt:$pristine.tmp" --uai $uai --name "Collège de la ruée" --year $year --spr-password-stdin >/dev/null
	echo "$pw" | "$server" loadtest --create-users --store "bolt:$pristine.tmp" --uai $uai --year $year --users 1500 --mode student --prefix eleve --password-stdin
	echo "$pw" | "$server" loadtest --create-users --store "bolt:$pristine.tmp" --uai $uai --year $year --users 300 --mode parent --prefix parent --password-stdin
	mv "$pristine.tmp" "$pristine"
fi

# point NAME ARGS…: a fresh store and server, then the rush with ARGS.
point() {
	local name=$1; shift
	cp "$pristine" "$work/run.db"
	"$server" serve --store "bolt:$work/run.db" --addr 127.0.0.1:$port >"$out/$name.serve.log" 2>&1 &
	local pid=$!
	for _ in $(seq 100); do
		curl -sf -o /dev/null "${url}api/v1/permissions" && break
		sleep 0.1
	done
	{
		echo "== $name: $*"
		echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); server resident at rest: $(awk '/VmRSS/ { print $2, $3 }' /proc/$pid/status)"
	} >"$out/$name.txt"
	echo "$pw" | "$client" loadtest rush --url $url --uai $uai --year $year --pid $pid --password-stdin "$@" >>"$out/$name.txt" 2>&1 || true
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/$name.txt"
	# A server still working off a backlog gets 10 s to stop.
	kill "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" || true
	echo "server log, by status and code: $(grep -o '"status":[0-9]*,"outcome":"[a-z_]*"' "$out/$name.serve.log" | sort | uniq -c | tr -s ' \n' ' ')" >>"$out/$name.txt"
	cat "$out/$name.txt"
}

if [ -z "$capacity" ]; then
	point capacity --capacity 15s --capacity-workers 4 --students 4 --parents 0 --window 1ms --drain 5s
	capacity=$(sed -n 's/^Capacité de connexion : \([0-9]*\),\([0-9]\).*/\1.\2/p' "$out/capacity.txt")
fi
echo "capacity: $capacity sign-ins/s"
for load in 0.5 1 2; do
	# 20 s of arrivals, five students to a parent; shorter when the
	# accounts run out.
	n=$(awk -v c="$capacity" -v l=$load 'BEGIN { printf "%d", c * l * 20 + 0.5 }')
	window=20
	if [ "$n" -gt 1800 ]; then
		window=$(awk -v c="$capacity" -v l=$load 'BEGIN { printf "%.1f", 1800 / (c * l) }'); n=1800
	fi
	parents=$(( n / 6 )); students=$(( n - parents ))
	point "rush-x$load" --students $students --parents $parents --window ${window}s --drain 60s
done
point rush-1500 --students 1500 --parents 0 --window 2m --drain 60s
