#!/usr/bin/env python3
"""One HTTP request for flow's tests, printed as JSON: {"status", "headers" (lower-case names), "body"}.

Usage: http_probe.py METHOD URL [-H "Name: value"]... [-d BODY] [--events N] [--timeout SECONDS]
With --events N, reads a text/event-stream until N events (or an `end` event) arrived and prints them as
"events": [{"event", "data"}, ...]. Never follows redirects.
"""
import argparse
import http.client
import json
import sys
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("method")
parser.add_argument("url")
parser.add_argument("-H", action="append", default=[])
parser.add_argument("-d")
parser.add_argument("--events", type=int, default=0)
parser.add_argument("--timeout", type=float, default=20)
args = parser.parse_args()

url = urllib.parse.urlsplit(args.url)
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=args.timeout)
headers = {}
for header in args.H:
    name, _, value = header.partition(":")
    headers[name.strip()] = value.strip()
body = args.d.encode() if args.d is not None else None
if body is not None and "Content-Type" not in headers:
    headers["Content-Type"] = "application/x-www-form-urlencoded"
path = url.path + ("?" + url.query if url.query else "")
connection.putrequest(args.method, path, skip_accept_encoding=True)
for name, value in headers.items():
    connection.putheader(name, value)
if body is not None:
    connection.putheader("Content-Length", str(len(body)))
connection.endheaders(body)
response = connection.getresponse()
result = {"status": response.status, "headers": {k.lower(): v for k, v in response.getheaders()}}
if args.events:
    events, event, data = [], "message", []
    deadline = time.time() + args.timeout
    while len(events) < args.events and time.time() < deadline:
        line = response.readline()
        if not line:
            break
        line = line.decode("utf-8").rstrip("\n")
        if line == "":
            if data:
                events.append({"event": event, "data": "\n".join(data)})
                if event == "end":
                    break
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    result["events"] = events
else:
    result["body"] = response.read().decode("utf-8", "replace")
print(json.dumps(result))
