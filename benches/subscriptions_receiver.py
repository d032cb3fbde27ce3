"""Helper of benches/subscriptions.sh (standard library only).

    subscriptions_receiver.py serve PORT OUT.jsonl          a rest-hook receiver: one line per Bundle
    subscriptions_receiver.py subscribe BASE HOOK N         N subscriptions, a third of each kind
    subscriptions_receiver.py wait BASE OUT.jsonl SWITCHED  until every subscription's events arrived
"""

import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
TOPIC = "urn:annuaire:SubscriptionTopic/resource-change"


def serve(port, out):
    lock = threading.Lock()
    sink = open(out, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bundle = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            status = {p["name"]: p for p in bundle["entry"][0]["resource"]["parameter"]}
            line = {"at": time.time(), "subscription": status["subscription"]["valueReference"]["reference"],
                    "type": status["type"]["valueCode"],
                    "events": int(status["events-since-subscription-start"].get("valueString")
                                  or status["events-since-subscription-start"].get("valueInteger64") or 0)}
            with lock:
                sink.write(json.dumps(line) + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


def request(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/fhir+json", "Accept": "application/fhir+json"})
    with urllib.request.urlopen(req, timeout=120) as response:
        return json.loads(response.read() or b"null")


def ids(base, path, count):
    bundle = request("GET", f"{base}/{path}&_count={count}&_elements=id")
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def subscription(hook, criteria):
    return {"resourceType": "Subscription", "status": "requested", "reason": "benchmark",
            "meta": {"profile": [f"{BACKPORT}/backport-subscription"]}, "criteria": TOPIC,
            "_criteria": {"extension": [{"url": f"{BACKPORT}/backport-filter-criteria", "valueString": criteria}]},
            "channel": {"type": "rest-hook", "endpoint": hook, "payload": "application/fhir+json",
                        "_payload": {"extension": [{"url": f"{BACKPORT}/backport-payload-content",
                                                    "valueCode": "id-only"}]}}}


def subscribe(base, hook, n):
    n = int(n)
    practitioners = ids(base, "Practitioner?_sort=_id", 1000)
    members = ids(base, "Practitioner?_sort=-_id", 500)
    departements = [f"{d:02d}" for d in range(1, 96) if d != 20]
    lists = max(1, n // 3 // 100)  # lists of 500 members, each watched by ~100 subscriptions
    for i in range(lists):
        request("PUT", f"{base}/List/bench-{i}", {
            "resourceType": "List", "id": f"bench-{i}", "status": "current", "mode": "working",
            "entry": [{"item": {"reference": f"Practitioner/{m}"}} for m in members[i % 5:] + members[:i % 5]]})
    for i in range(n):
        kind = i % 3
        if kind == 0:
            criteria = f"Practitioner?_id={practitioners[i % len(practitioners)]}"
        elif kind == 1:
            criteria = f"Practitioner?_list=bench-{i % lists}"
        else:
            criteria = f"Organization?address-postalcode={departements[i % len(departements)]}"
        request("POST", f"{base}/Subscription", subscription(hook, criteria))
    deadline = time.time() + 600
    while time.time() < deadline:
        bundle = request("GET", f"{base}/Subscription?status=requested")
        if not bundle.get("entry"):
            return
        time.sleep(1)
    sys.exit("subscriptions still requested after 10 minutes (handshakes)")


def wait(base, out, switched):
    """Until every subscription's received count equals its events-since-subscription-start
    ($status), then the time from the switch to the last notification."""
    switched = float(switched)
    while True:
        statuses = request("GET", f"{base}/Subscription/$status")
        expected = {}
        for entry in statuses.get("entry", []):
            p = {x["name"]: x for x in entry["resource"]["parameter"]}
            count = p["events-since-subscription-start"]
            expected[p["subscription"]["valueReference"]["reference"]] = int(
                count.get("valueString") or count.get("valueInteger64") or 0)
        got = {}
        last = switched
        with open(out) as lines:
            for line in lines:
                row = json.loads(line)
                if row["type"] == "event-notification":
                    key = row["subscription"].split("/_history")[0]
                    got[key] = max(got.get(key, 0), row["events"])
                    last = max(last, row["at"])
        behind = [s for s, n in expected.items() if n and got.get(s, 0) < n]
        if not behind and time.time() - last > 5:
            events = sum(expected.values())
            print(f"{events} events to {sum(1 for n in expected.values() if n)} subscriptions; "
                  f"last notification {last - switched:.1f} s after the import ended (the switch follows within 2 s)")
            return
        time.sleep(1)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"serve": serve, "subscribe": subscribe, "wait": wait}[command](*args)
