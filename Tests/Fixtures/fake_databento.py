#!/usr/bin/env python3
"""A local stand-in for Databento's historical API, for tests only (127.0.0.1, no network).

Usage: fake_databento.py KEY DATA_CSV AVAILABLE_END STATE_DIR
Prints the port it listens on. It checks Basic auth (KEY as user name, empty password) and every
get_range parameter, serves rows of DATA_CSV in [start, end), and answers 422 like the real API when
`end` is after AVAILABLE_END. Faults to inject are read from STATE_DIR/faults (one per line, each used
once by the next get_range): 401 429 500 502html stall drop truncate badheader malformed length, echo500 and
echo400 (an error page that echoes the request's credentials back, as a proxy might), ok (a normal answer).
Every request is appended to STATE_DIR/requests.log.
"""
import base64
import json
import os
import socket
import sys
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlparse

KEY, DATA, AVAILABLE_END, STATE = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
HEADER = "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume"


def parse_time(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def iso(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")


def next_fault():
    path = os.path.join(STATE, "faults")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        lines = [l.strip() for l in f if l.strip()]
    if not lines:
        return None
    with open(path, "w") as f:
        f.write("\n".join(lines[1:]) + ("\n" if lines[1:] else ""))
    return lines[0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json", headers=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, case, message, payload=None, headers=None):
        detail = {"case": case, "message": message, "status_code": status, "docs": None, "payload": payload or {}}
        self.send(status, json.dumps({"detail": detail}), headers=headers)

    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with open(os.path.join(STATE, "requests.log"), "a") as log:
            log.write(json.dumps({"path": url.path, "query": query}) + "\n")
        auth = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode((KEY + ":").encode()).decode()
        if auth != expected:
            return self.error(401, "auth_authentication_failed", "Authentication failed.",
                              headers={"WWW-Authenticate": 'Basic realm="Databento"'})
        if url.path == "/v0/metadata.get_dataset_range":
            end = AVAILABLE_END
            return self.send(200, json.dumps({"start": "2010-06-06T00:00:00.000000000Z", "end": end,
                                              "schema": {"ohlcv-1m": {"start": "2010-06-06T00:00:00.000000000Z", "end": end}}}))
        if url.path != "/v0/timeseries.get_range":
            return self.error(404, "not_found", "Not found.")
        required = {"dataset": "GLBX.MDP3", "stype_in": "continuous", "schema": "ohlcv-1m", "encoding": "csv",
                    "compression": "none", "pretty_px": "false", "pretty_ts": "false", "map_symbols": "false"}
        for k, v in required.items():
            if query.get(k) != v:
                return self.error(400, "bad_request", f"bad {k}: {query.get(k)}")
        if not query.get("symbols", "").endswith(".v.0"):
            return self.error(400, "bad_request", "bad symbols")
        start, end = parse_time(query["start"]), parse_time(query["end"])
        available = parse_time(AVAILABLE_END)
        if start >= available:
            return self.error(422, "data_start_after_available_end", "start is after the available end",
                              {"dataset": "GLBX.MDP3", "start": iso(start), "available_end": AVAILABLE_END})
        if end > available:
            return self.error(422, "data_end_after_available_end", "end is after the available end",
                              {"dataset": "GLBX.MDP3", "end": iso(end), "available_end": AVAILABLE_END})
        fault = next_fault()
        rows = [HEADER]
        with open(DATA) as f:
            next(f)
            for line in f:
                ts = int(line.split(",", 1)[0]) // 10**9
                if start <= ts < end:
                    rows.append(line.rstrip("\n"))
        body = "\n".join(rows) + "\n"
        if fault == "401":
            return self.error(401, "auth_authentication_failed", "Authentication failed.",
                              headers={"WWW-Authenticate": 'Basic realm="Databento"'})
        if fault in ("echo500", "echo400"):
            key_b64 = base64.b64encode(KEY.encode()).decode()
            page = (f"<html><body>upstream error for {self.path} with {auth}; key={KEY}; b64={key_b64}; "
                    f"url={quote(KEY, safe='')}</body></html>")
            return self.send(500 if fault == "echo500" else 400, json.dumps({"detail": page}))
        if fault == "429":
            return self.error(429, "rate_limited", "Too many requests.", headers={"Retry-After": "1"})
        if fault == "500":
            return self.error(500, "internal", "Internal server error.")
        if fault == "502html":
            return self.send(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        if fault == "stall":
            time.sleep(30)
            return
        if fault == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if fault == "truncate":
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2].rstrip("\n").encode())
            self.close_connection = True
            return
        if fault == "badheader":
            body = body.replace(HEADER, "ts_recv,ts_event,rtype,open,high,low,close,volume", 1)
        if fault == "malformed" and len(rows) > 2:
            lines = body.split("\n")
            lines[2] = lines[2].replace(",", ";", 2)
            body = "\n".join(lines)
        if fault == "length":
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(data) + 100))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
            return
        self.send(200, body, "text/csv")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()
