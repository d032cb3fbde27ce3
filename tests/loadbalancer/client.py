"""Client side of the load-balancer test (standard library only).

    client.py paging  LB_BASE SINGLE_BASE        every page from another replica = one server
    client.py traffic LB_BASE STOP_FILE OUT.json  requests without pause until STOP_FILE exists
    client.py export  LB_BASE                     a Bulk Data export through the balancer
    client.py sorted  LB_BASE REPLICA_BASE...     sorted walks while replicas serve other generations
    client.py ids     BASE OUT.json               every Practitioner id a server lists
    client.py check   OUT.json DAY1_IDS DAY2_IDS  the traffic's walks lost and repeated nothing
    client.py correspondents LB_BASE REPLICA_BASE  lists, subscriptions and _list reach the writer
    client.py sessions LB_BASE                    sign-in and session-carrying requests reach the writer

A "walk" pages through every Practitioner in id order (the order synchronising clients use):
across a rolling re-import its pages come from replicas serving day 1 and day 2, and must still
list each id once, every id present on both days, and nothing else.
"""

import gzip
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request


def get(url, headers=None):
    """(status, headers, parsed JSON body) of one GET; raises on a transport error."""
    request = urllib.request.Request(url, headers={"Accept": "application/fhir+json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return response.status, response.headers, json.loads(body) if body.strip() else None
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8", "replace")


def walk(base, path, first=None):
    """Every page of a search from `path` on, following `next` links: (pages, replicas). The
    first page may be read elsewhere (`first`: a URL and headers)."""
    pages, served_by = [], []
    url = base + path
    while url:
        if first:
            status, headers, bundle = get(*first)
            first = None
        else:
            status, headers, bundle = get(url)
        if status != 200:
            raise RuntimeError(f"{url}: {status} {bundle}")
        pages.append(bundle)
        served_by.append(headers.get("X-Served-By"))
        url = next((l["url"] for l in bundle.get("link", []) if l["relation"] == "next"), None)
        if url and not url.startswith(base):
            raise RuntimeError(f"a next link that does not go through the load balancer: {url}")
    return pages, served_by


def entries(pages):
    """The entries, with their fullUrl's base removed (the balancer's and a replica's differ)."""
    out = []
    for page in pages:
        for entry in page.get("entry", []):
            entry = dict(entry, fullUrl=entry["fullUrl"].split("/fhir/", 1)[1])
            out.append(json.dumps(entry, sort_keys=True))
    return out


def paging(lb, single):
    """Pages of 5 000+ results through the balancer, each from another replica, equal those of
    one replica alone; sorted ones too."""
    for path in [
        "/fhir/PractitionerRole?_count=97",
        "/fhir/Practitioner?_sort=family,given&_count=113",
    ]:
        through, served_by = walk(lb, path)
        alone, _ = walk(single, path)
        got, expected = entries(through), entries(alone)
        if "PractitionerRole" in path and len(expected) < 5000:
            raise RuntimeError(f"only {len(expected)} results: the test needs 5 000 or more")
        if got != expected:
            raise RuntimeError(f"{path}: {len(got)} entries through the balancer, {len(expected)} alone, not equal")
        repeats = sum(1 for a, b in zip(served_by, served_by[1:]) if a == b)
        if repeats or len(set(served_by)) != 3:
            raise RuntimeError(f"{path}: pages were not spread over the three replicas in turn: {served_by}")
        print(f"paging: {path}: {len(got)} entries in {len(through)} pages, each from the next replica, equal to one server's")
    # The replicas compress; the balancer passes it through.
    request = urllib.request.Request(lb + "/fhir/Practitioner?_count=50", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.headers.get("Content-Encoding") != "gzip":
            raise RuntimeError(f"no gzip through the balancer: {dict(response.headers)}")
    print("paging: gzip passes through the balancer")


def export(lb):
    """A Bulk Data export kicked off, polled and downloaded through the balancer: every request
    after the kick-off reaches the replica running the job."""
    request = urllib.request.Request(
        lb + "/fhir/$export?_type=Organization",
        headers={"Accept": "application/fhir+json", "Prefer": "respond-async"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 202:
            raise RuntimeError(f"kick-off answered {response.status}")
        status_url = response.headers["Content-Location"]
    if not status_url.startswith(lb):
        raise RuntimeError(f"the status URL does not go through the balancer: {status_url}")
    polls, replicas = 0, set()
    while True:
        status, headers, body = get(status_url)
        polls += 1
        replicas.add(headers.get("X-Served-By"))
        if status == 200:
            manifest = body
            break
        if status != 202:
            raise RuntimeError(f"poll {polls} answered {status}: {body}")
        time.sleep(0.2)
    lines = 0
    for output in manifest["output"]:
        with urllib.request.urlopen(output["url"], timeout=60) as response:
            count = sum(1 for line in response.read().splitlines() if line.strip())
        if count != output["count"]:
            raise RuntimeError(f"{output['url']}: {count} lines, the manifest says {output['count']}")
        lines += count
    if len(replicas) != 1:
        raise RuntimeError(f"the job's polls went to several replicas: {replicas}")
    print(f"export: {lines} resources exported, {polls} polls, all on {replicas.pop()}, through the balancer")


def traffic(lb, stop_file, out):
    """Walks and reads without pause, from four threads, until `stop_file` exists."""
    results = {"requests": 0, "failures": [], "walks": []}
    lock = threading.Lock()

    def walker(count):
        while not os.path.exists(stop_file):
            ids, url, requests = [], f"{lb}/fhir/Practitioner?_count={count}&_elements=identifier", 0
            try:
                while url:
                    status, _, bundle = get(url)
                    requests += 1
                    if status != 200:
                        raise RuntimeError(f"{url}: {status} {str(bundle)[:300]}")
                    ids.extend(e["resource"]["id"] for e in bundle.get("entry", []))
                    url = next((l["url"] for l in bundle.get("link", []) if l["relation"] == "next"), None)
                with lock:
                    results["walks"].append(ids)
            except Exception as error:  # a failed request: the test fails
                with lock:
                    results["failures"].append(str(error))
            with lock:
                results["requests"] += requests

    def reader():
        while not os.path.exists(stop_file):
            for path in ["/fhir/metadata", "/fhir/Organization?_count=20&_sort=name", "/fhir/PractitionerRole?_count=5",
                         "/fhir/HealthcareService?_count=10", "/fhir/Device?_count=5&_include=Device:organization"]:
                try:
                    status, _, body = get(lb + path)
                    if status != 200:
                        raise RuntimeError(f"{path}: {status} {str(body)[:300]}")
                except Exception as error:
                    with lock:
                        results["failures"].append(str(error))
                with lock:
                    results["requests"] += 1

    threads = [threading.Thread(target=walker, args=(c,)) for c in (150, 230, 310)]
    threads.append(threading.Thread(target=reader))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(out, "w") as f:
        json.dump(results, f)


def sorted_walks(lb, *replica_bases):
    """Sorted walks through the balancer while the replicas serve different generations (one
    has switched live to a newer import): a page of the newer generation sent to a replica
    that has not loaded it is answered 503 there and retried elsewhere by the balancer. Every
    walk completes, lists each id once, and as many as one replica lists for its generation."""
    expected = set()
    for base in replica_bases:
        pages, _ = walk(base, "/fhir/Practitioner?_sort=family,given&_count=500&_elements=identifier")
        expected.add(sum(len(p.get("entry", [])) for p in pages))
    switched = replica_bases[0]
    lb_host = lb.split("://", 1)[1]
    for n in range(6):
        path = "/fhir/Practitioner?_sort=family,given&_count=113&_elements=identifier"
        # Every other walk starts on the replica that switched (asked as the balancer would,
        # so that its links lead back through the balancer): its next pages then reach the
        # replicas that have not switched.
        first = (switched + path, {"Host": lb_host}) if n % 2 == 0 else None
        pages, served_by = walk(lb, path, first)
        ids = [e["resource"]["id"] for p in pages for e in p.get("entry", [])]
        if len(ids) != len(set(ids)) or len(ids) not in expected:
            raise RuntimeError(f"sorted walk {n}: {len(ids)} entries ({len(set(ids))} distinct), expected one of {expected}")
    print(f"live switch: 6 sorted walks through the balancer complete, while replicas serve {len(expected)} generations")


def ids(base, out):
    """Every Practitioner id one server lists, in a file (the day's reference set)."""
    pages, _ = walk(base, "/fhir/Practitioner?_count=500&_elements=identifier")
    with open(out, "w") as f:
        json.dump([e["resource"]["id"] for page in pages for e in page.get("entry", [])], f)


def check(out, day1_file, day2_file):
    with open(out) as f:
        results = json.load(f)
    day1 = set(json.load(open(day1_file)))
    day2 = set(json.load(open(day2_file)))
    both, either = day1 & day2, day1 | day2
    lost = repeated = 0
    for ids in results["walks"]:
        seen = set(ids)
        repeated += len(ids) - len(seen)
        lost += len(both - seen)
        if not seen <= either:
            raise RuntimeError(f"a walk listed ids of neither day: {sorted(seen - either)[:5]}")
    print(
        f"rolling re-import: {results['requests']} requests, {len(results['failures'])} failed; "
        f"{len(results['walks'])} complete walks, {lost} entries lost, {repeated} repeated"
    )
    for failure in results["failures"][:10]:
        print("  failed:", failure)
    if results["failures"] or lost or repeated or len(results["walks"]) < 3:
        sys.exit(1)


def send(method, url, body=None, headers=None):
    """(status, headers, parsed JSON body or text) of one request with a FHIR JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Accept": "application/fhir+json", "Content-Type": "application/fhir+json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, response.headers, json.loads(text) if text.strip() else None
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8", "replace")


BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"


def correspondents(lb, replica):
    """Through the balancer, lists and subscriptions are written and read on the writer only,
    `_list` searches (query or POST _search form) are answered there, while the replica
    itself answers 421 to each of them and the directory's plain reads still go round."""
    failures = []

    def expect(what, status, headers, wanted_status, served_by="writer"):
        by = headers.get("X-Served-By") if headers else None
        if status != wanted_status or (served_by and by != served_by):
            failures.append(f"{what}: {status} from {by}, expected {wanted_status} from {served_by}")

    _, _, bundle = get(f"{lb}/fhir/Practitioner?_count=2&_elements=id")
    members = [e["resource"]["id"] for e in bundle["entry"]]
    status, headers, _ = send("PUT", f"{lb}/fhir/List/lb-list", {
        "resourceType": "List", "id": "lb-list", "status": "current", "mode": "working",
        "title": "through the balancer",
        "entry": [{"item": {"reference": f"Practitioner/{m}"}} for m in members]})
    expect("PUT List", status, headers, 201)
    status, headers, _ = get(f"{lb}/fhir/List/lb-list")
    expect("GET List", status, headers, 200)
    status, headers, found = get(f"{lb}/fhir/Practitioner?_list=lb-list&_elements=id")
    expect("GET Practitioner?_list", status, headers, 200)
    if status == 200 and sorted(e["resource"]["id"] for e in found.get("entry", [])) != sorted(members):
        failures.append(f"_list answered {found} for {members}")
    form = urllib.request.Request(f"{lb}/fhir/Practitioner/_search", data=b"_list=lb-list", method="POST",
                                  headers={"Content-Type": "application/x-www-form-urlencoded",
                                           "Accept": "application/fhir+json"})
    with urllib.request.urlopen(form, timeout=30) as response:
        expect("POST _search _list", response.status, response.headers, 200)
    subscription = {
        "resourceType": "Subscription", "status": "requested", "reason": "load-balancer test",
        "meta": {"profile": [f"{BACKPORT}/backport-subscription"]},
        "criteria": "urn:annuaire:SubscriptionTopic/resource-change",
        "_criteria": {"extension": [{"url": f"{BACKPORT}/backport-filter-criteria",
                                     "valueString": "List?_id=lb-list"}]},
        "channel": {"type": "websocket", "payload": "application/fhir+json",
                    "_payload": {"extension": [{"url": f"{BACKPORT}/backport-payload-content",
                                                "valueCode": "id-only"}]}}}
    status, headers, _ = send("POST", f"{lb}/fhir/Subscription", subscription)
    expect("POST Subscription", status, headers, 201)
    status, headers, _ = get(f"{lb}/fhir/Subscription")
    expect("GET Subscription", status, headers, 200)
    # The replica itself sends each of them to the writer.
    for method, path in [("GET", "/fhir/List/lb-list"), ("GET", "/fhir/Practitioner?_list=lb-list"),
                         ("GET", "/fhir/Subscription"), ("POST", "/fhir/List")]:
        status, _, _ = send(method, f"{replica}{path}", {"resourceType": "List"} if method == "POST" else None)
        if status != 421:
            failures.append(f"the replica answered {status} to {method} {path}, not 421")
    # Plain reads still go to the replicas.
    served = {get(f"{lb}/fhir/Practitioner?_count=1")[1].get("X-Served-By") for _ in range(6)}
    if "writer" in served or not served:
        failures.append(f"plain reads were served by {served}")
    for failure in failures:
        print("  failed:", failure)
    print(f"correspondents: lists, subscriptions and _list went to the writer; reads to {sorted(served)}")
    if failures:
        sys.exit(1)


def sessions(lb):
    """Sign-in sessions live in the memory of the server that opened them (docs/haproxy.cfg):
    the sign-in paths and every request carrying the session or pending-login cookie go to the
    writer, whatever else they are; the same reads without a cookie still go round the replicas."""
    failures = []
    cases = [("/ui/connexion?retour=/", {}), ("/ui/connexion/retour?code=x&state=y", {}),
             ("/fhir/Practitioner?_count=1", {"Cookie": "annuaire_session=abc"}),
             ("/ui/session", {"Cookie": "lang=fr; annuaire_session=abc"}),
             ("/fhir/Organization?_count=1", {"Cookie": "annuaire_login=def"})]
    for path, headers in cases:
        for _ in range(4):
            request = urllib.request.Request(lb + path, headers={"Accept": "application/fhir+json", **headers})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    by = response.headers.get("X-Served-By")
            except urllib.error.HTTPError as error:
                by = error.headers.get("X-Served-By")
            if by != "writer":
                failures.append(f"{path} with {headers or 'no cookie'} was served by {by}, not the writer")
    served = {get(f"{lb}/fhir/Practitioner?_count=1", {"Cookie": "lang=fr"})[1].get("X-Served-By")
              for _ in range(6)}
    if "writer" in served or not served:
        failures.append(f"reads without a session cookie were served by {served}")
    for failure in failures:
        print("  failed:", failure)
    print(f"sessions: sign-in and session-carrying requests went to the writer; other reads to {sorted(served)}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"paging": paging, "export": export, "traffic": traffic, "sorted": sorted_walks, "ids": ids, "check": check,
     "correspondents": correspondents, "sessions": sessions}[command](*args)
