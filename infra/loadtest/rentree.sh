#!/usr/bin/env bash
# The rentrée-morning benchmark of BENCHMARKS.md, against one host:
#
#   infra/loadtest/rentree.sh SESAME_BIN serve|hosted OUT_DIR [SCALE] [RENTREE_ARGS…]
#
# serve: one `sesame serve` on a fresh bbolt file. hosted: the hosted stack
# on this machine (`make run-hosted ARGS=--meter`: DynamoDB Local, the
# functions under RIE through qemu), whose DynamoDB meter the load test
# reads. SCALE (1 by default) divides the morning: 750 students, 750
# parents, 80 teachers for 50 seats, 6 administrative users for 4 seats at
# 1; the administrative users are never scaled. The accounts are created
# first (argon2id hashes, as the product's), then `sesame loadtest rentree`
# runs with RENTREE_ARGS; its report goes to OUT_DIR/HOST.txt with the
# load average before and after. Run it from the repository's root; on
# bbolt the accounts are kept in OUT_DIR for the next run.
set -euo pipefail
bin=$(realpath "$1") host=$2 out=$3 scale=${4:-1}
shift $(( $# < 4 ? $# : 4 ))
mkdir -p "$out"
work=$(mktemp -d)
pw=mot-de-passe-de-la-rentree uai=0751234A year=2026-2027
students=$(( 750 / scale )) parents=$(( 750 / scale )) teachers=$(( 80 / scale )) seats=$(( (50 + scale - 1) / scale ))
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

case $host in
serve)
	store="bolt:$work/rentree.db"
	# The accounts are kept beside the reports, for the next run.
	pristine="$out/serve-accounts-1-$scale.db"
	;;
hosted)
	export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=eu-west-3
	# Under qemu on a loaded machine a sign-in can outlast the template's
	# 10 s, and RIE does not come back from a timed-out task.
	# Built, then run itself: killing `go run` would leave its child, the
	# stack, running (it stops everything on SIGTERM).
	go build -o "$work/run-hosted" ./infra/hostedlocal/cmd/run
	"$work/run-hosted" --meter --function-timeout 120 --addr 127.0.0.1:0 >"$work/hosted.out" 2>"$out/hosted.stack.log" &
	pids+=($!)
	for _ in $(seq 600); do grep -q '^dynamodb-meter:' "$work/hosted.out" && break; sleep 0.5; done
	url=$(sed -n 's/^Sésame (hébergé, local) : //p' "$work/hosted.out")
	table=$(sed -n 's/^table: //p' "$work/hosted.out")
	meter=$(sed -n 's/^dynamodb-meter: //p' "$work/hosted.out")
	AWS_ENDPOINT_URL_DYNAMODB=$(sed -n 's/^dynamodb: //p' "$work/hosted.out")
	export AWS_ENDPOINT_URL_DYNAMODB
	store="dynamodb:$table"
	;;
*)
	echo "usage: $0 SESAME_BIN serve|hosted OUT_DIR [SCALE] [RENTREE_ARGS…]" >&2
	exit 2
	;;
esac

t0=$(date +%s)
if [ "$host" = hosted ] || [ ! -e "$pristine" ]; then
	echo "$pw" | "$bin" school create --store "$store" --uai $uai --name "Collège de la rentrée" --year $year \
		--teacher-seats $seats --admin-seats 4 --spr-password-stdin >/dev/null
	while read -r mode prefix n; do
		echo "$pw" | "$bin" loadtest --create-users --store "$store" --uai $uai --year $year --mode "$mode" --prefix "$prefix" --users "$n" --password-stdin >/dev/null
	done <<<"student eleve $students
parent parent $parents
teacher prof $teachers
admin admin 6"
	echo "accounts created in $(( $(date +%s) - t0 )) s" >&2
	if [ "$host" = serve ]; then cp "$work/rentree.db" "$pristine"; fi
else
	cp "$pristine" "$work/rentree.db"
fi

if [ "$host" = serve ]; then
	port=18432 url=http://127.0.0.1:$port/
	"$bin" serve --store "$store" --addr 127.0.0.1:$port >"$out/serve.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do curl -sf -o /dev/null "${url}api/v1/permissions" && break; sleep 0.1; done
	extra=()
else
	extra=(--meter "$meter")
fi
{
	echo "== $host, scale 1/$scale: $students students, $parents parents, $teachers teachers for $seats seats, 6 admin users for 4 seats; $*"
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/$host.txt"
echo "$pw" | "$bin" loadtest rentree --url "$url" --uai $uai --year $year --students $students --parents $parents \
	--teachers $teachers --admins 6 "${extra[@]}" --password-stdin "$@" >>"$out/$host.txt" 2>&1 || true
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/$host.txt"
cat "$out/$host.txt"
