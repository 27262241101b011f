#!/usr/bin/env bash
# Webhook throughput of `alertscale serve` (dry run) under wrk, on this machine.
#   bash benches/webhook.sh            # needs: cargo, wrk (apt-get install wrk), python3
# Two payloads, each re-sent as Alertmanager re-sends a group (after the first request every
# alert is a dedupe hit, the steady state):
#   one    - the recipe's notification, one alert
#   group  - one notification of 100 firing alerts on 100 streams
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
one = json.load(open("tests/fixtures/payloads/high_throughput.json"))
json.dump(one, open(f"{work}/one.json", "w"))
alerts = [{"status": "firing", "labels": {"alertname": "HighThroughputDifference", "stream_name": f"stream-{i}"},
           "annotations": {}, "startsAt": "2026-12-04T19:27:33Z", "endsAt": "0001-01-01T00:00:00Z",
           "generatorURL": "", "fingerprint": f"{i:016x}"} for i in range(100)]
json.dump({"receiver": "scdf", "status": "firing", "alerts": alerts, "version": "4"}, open(f"{work}/group.json", "w"))
PY
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("PAYLOAD"), "r"))
wrk.body = f:read("*a")
f:close()
LUA
port=18099
target/release/alertscale serve --policies policies --web.listen-address 127.0.0.1:$port \
  --state.path "$work/state.redb" --log.level warn 2>"$work/engine.log" &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.1; done
for payload in one group; do
  curl -sf -XPOST "http://127.0.0.1:$port/alert" --data @"$work/$payload.json" >/dev/null
  echo "== $payload"
  PAYLOAD="$work/$payload.json" wrk -t2 -c16 -d10s --latency -s "$work/post.lua" "http://127.0.0.1:$port/alert" \
    | grep -E "Requests/sec|Latency|50%|99%|Non-2xx"
done
