#!/usr/bin/env python3
"""A loopback webhook receiver for tests (127.0.0.1, no network).

Usage: webhook_receiver.py STATE_DIR
Prints the port it listens on. Every request is appended to STATE_DIR/requests.log as one JSON line (method,
path, headers, body). Answers are read from STATE_DIR/responses, one per request, in order: a status code
("200", "500", "429" with Retry-After: 0, "404"), "stall" (no answer for 30 s), "drop" (close the connection),
or "echo500" (a 500 whose body echoes the request's path and headers, as a careless server might). Once
the list is used up every request gets 200 "ok".
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = sys.argv[1]
RESPONSES = os.path.join(STATE, "responses")
LOG = os.path.join(STATE, "requests.log")


def next_response():
    try:
        with open(RESPONSES) as f:
            lines = [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return "200"
    if not lines:
        return "200"
    with open(RESPONSES, "w") as f:
        f.write("".join(line + "\n" for line in lines[1:]))
    return lines[0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        with open(LOG, "a") as f:
            f.write(json.dumps({"method": "POST", "path": self.path, "headers": dict(self.headers.items()),
                                "body": body}) + "\n")
        answer = next_response()
        if answer == "stall":
            time.sleep(30)
            return
        if answer == "drop":
            self.close_connection = True
            self.connection.close()
            return
        status = 500 if answer == "echo500" else int(answer)
        text = ("error for " + self.path + " " + json.dumps(dict(self.headers.items()))) if answer == "echo500" else (
            "ok" if status < 300 else "no")
        data = text.encode()
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
