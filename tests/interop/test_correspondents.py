"""Correspondents with third-party clients: fhirpy creates a List and Subscriptions; an HTTP
receiver written here (http.server in a thread, on loopback, which run.sh allows with
--subscription-allow) gets the rest-hook handshake and the notifications of a List change; a
websocket client (the `websockets` package) binds with a $get-ws-binding-token token and
receives the same. What arrives is checked against the Subscriptions Backport IG's shapes:
a history Bundle whose first entry is the SubscriptionStatus Parameters, events numbered."""

import json
import queue
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import websockets.exceptions
import websockets.sync.client
from fhirpy import SyncFHIRClient

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
TOPIC = "urn:annuaire:SubscriptionTopic/resource-change"


@pytest.fixture(scope="module")
def client(base_url):
    return SyncFHIRClient(base_url, extra_headers={"Accept": "application/fhir+json"})


class Receiver:
    """A rest-hook endpoint: every POSTed Bundle, with its headers, in a queue."""

    def __init__(self):
        received = self.received = queue.Queue()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                received.put((headers, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout=30):
        return self.received.get(timeout=timeout)

    def close(self):
        self.server.shutdown()


def subscription(list_id, channel):
    return {
        "resourceType": "Subscription",
        "meta": {"profile": [f"{BACKPORT}/backport-subscription"]},
        "status": "requested",
        "reason": "interop: the changes of my list",
        "criteria": TOPIC,
        "_criteria": {"extension": [{"url": f"{BACKPORT}/backport-filter-criteria",
                                     "valueString": f"List?_id={list_id}"}]},
        "channel": {
            **channel,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": f"{BACKPORT}/backport-payload-content",
                                        "valueCode": "id-only"}]},
        },
    }


def status_of(bundle):
    """The SubscriptionStatus Parameters of a notification, as a dict of its parameters."""
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history", bundle
    parameters = bundle["entry"][0]["resource"]
    assert parameters["resourceType"] == "Parameters", parameters
    return parameters["parameter"]


def value(parameters, name):
    found = [p for p in parameters if p["name"] == name]
    assert found, f"no {name} in {parameters}"
    p = found[0]
    return next((v for k, v in p.items() if k.startswith("value")), p.get("part"))


def events(parameters):
    """(event-number, focus reference) of each notification-event."""
    out = []
    for p in parameters:
        if p["name"] == "notification-event":
            parts = {part["name"]: part for part in p["part"]}
            number = int(next(v for k, v in parts["event-number"].items() if k.startswith("value")))
            focus = parts.get("focus", {}).get("valueReference", {}).get("reference")
            out.append((number, focus))
    return out


def rename(base_url, lst, title):
    """PUT the list under a new title with If-Match, which the server requires (fhirpy's save
    sends none)."""
    body = {**lst.serialize(), "title": title}
    request = urllib.request.Request(
        f"{base_url}/List/{lst.id}", data=json.dumps(body).encode(), method="PUT",
        headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json",
                 "If-Match": f'W/"{lst.meta.versionId}"'})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def a_list(client, title):
    practitioner = client.resources("Practitioner").limit(1).fetch()[0]
    lst = client.resource("List", status="current", mode="working", title=title,
                          entry=[{"item": {"reference": f"Practitioner/{practitioner.id}"}}])
    lst.save()
    assert lst.id and lst.meta.versionId == "1"
    return lst


def test_fhirpy_creates_a_list_and_searches_its_members(client):
    lst = a_list(client, f"interop {uuid.uuid4()}")
    member = lst.entry[0].item.reference.split("/")[1]
    found = client.resources("Practitioner").search(_list=lst.id).fetch_all()
    assert [p.id for p in found] == [member]
    fetched = client.reference("List", lst.id).to_resource()
    assert fetched.title == lst.title


def test_an_http_receiver_gets_the_handshake_and_the_events_of_a_list_change(client, base_url):
    receiver = Receiver()
    try:
        lst = a_list(client, f"watched {uuid.uuid4()}")
        sub = client.resource("Subscription", **subscription(lst.id, {
            "type": "rest-hook", "endpoint": receiver.url, "header": ["X-Hospital: interop"]}))
        sub.save()
        assert sub.id
        headers, handshake = receiver.next()
        assert value(status_of(handshake), "type") == "handshake"
        assert headers.get("x-hospital") == "interop"
        # Active after the handshake.
        deadline = time.time() + 20
        while client.reference("Subscription", sub.id).to_resource().status != "active":
            assert time.time() < deadline, "the subscription never became active"
            time.sleep(0.2)
        rename(base_url, lst, lst.title + " (renamed)")
        numbered = []
        while not any((focus or "").endswith(f"/List/{lst.id}/_history/2") for _, focus in numbered):
            _, bundle = receiver.next()
            parameters = status_of(bundle)
            if value(parameters, "type") == "event-notification":
                numbered.extend(events(parameters))
        numbers = [n for n, _ in numbered]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbered
    finally:
        receiver.close()


def test_a_websocket_client_binds_with_a_token_and_receives_the_events(client, base_url):
    lst = a_list(client, f"socket {uuid.uuid4()}")
    sub = client.resource("Subscription", **subscription(lst.id, {"type": "websocket"}))
    sub.save()
    token = client.execute(f"Subscription/{sub.id}/$get-ws-binding-token", method="get")
    binding = {p["name"]: p for p in token["parameter"]}
    url = binding["websocket-url"]["valueUrl"]
    assert url.startswith("ws://") and url.endswith("/$subscription-websocket")
    with websockets.sync.client.connect(url, open_timeout=10) as socket:
        socket.send(f"bind-with-token: {binding['token']['valueString']}")
        handshake = json.loads(socket.recv(timeout=20))
        assert value(status_of(handshake), "type") == "handshake"
        rename(base_url, lst, lst.title + " (renamed)")
        deadline = time.time() + 30
        while True:
            message = json.loads(socket.recv(timeout=max(1, deadline - time.time())))
            parameters = status_of(message)
            if value(parameters, "type") == "event-notification":
                foci = [focus for _, focus in events(parameters)]
                if any((f or "").endswith(f"/List/{lst.id}/_history/2") for f in foci):
                    break
    # The token was single-use: bound again, it is refused with an OperationOutcome, then the
    # socket is closed.
    with websockets.sync.client.connect(url, open_timeout=10) as socket:
        socket.send(f"bind-with-token: {binding['token']['valueString']}")
        reply = json.loads(socket.recv(timeout=10))
        assert reply["resourceType"] == "OperationOutcome", reply
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            socket.recv(timeout=10)
