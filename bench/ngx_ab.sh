#!/bin/sh
# ngx_ab.sh OLD_BUILD NEW_BUILD [ROUNDS] - nginx (a master and 2 workers,
# wildcard listen, as nginx's default user) under `wrk -t1 -c8 -d3s`, both
# through zcrun on a Trapeze wire, with two builds of zcstack alternating
# (OLD, NEW, OLD, NEW, ...): one "round R BUILD REQ/S" line each. Side by
# side in one run, for before/after figures (docs/results.md).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OLD_BUILD NEW_BUILD [ROUNDS]" >&2; exit 2; }
D=$(mktemp -d)
chmod a+rx "$D" # the workers run as nobody
trap 'kill $(cat "$D/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$D"; rm -f /dev/shm/zcwire-ngab$$*' EXIT
mkdir -p "$D/html" "$D/logs"
head -c 612 /dev/zero | tr '\0' x > "$D/html/index.html"
cat > "$D/nginx.conf" <<EOF2
worker_processes 2;
error_log $D/logs/error.log;
pid $D/nginx.pid;
events { worker_connections 1024; }
http { access_log off; server { listen 8097; root $D/html; } }
EOF2
for r in $(seq "${3:-3}"); do
	for b in "$1" "$2"; do
		rm -f "$D/nginx.pid"
		"$b/sockapi/zcrun" --nic "trapeze:ngab$$,port=0" --ip 10.9.7.1/24 -- nginx -c "$D/nginx.conf" -p "$D"
		sleep 1.5 # the workers' listener (zcstat could tell; nginx is a daemon here)
		rps=$(timeout 30 "$b/sockapi/zcrun" --nic "trapeze:ngab$$,port=1" --ip 10.9.7.2/24 -- \
			wrk -t1 -c8 -d3s http://10.9.7.1:8097/index.html | sed -n 's/Requests\/sec: *//p')
		echo "round $r $b ${rps:-failed}"
		kill "$(cat "$D/nginx.pid")"
		while pgrep -f "nginx -c $D/nginx.conf" > /dev/null || pgrep -f "nginx: worker" -P "$(cat "$D/nginx.pid" 2>/dev/null || echo 1)" > /dev/null; do sleep 0.1; done
	done
done
