#!/usr/bin/env python3
"""A real HTTP(S) endpoint for the http output tests (Python standard library only).

Prints the port it listens on, then logs every POST as one JSON line to --log:
{"path", "headers" (lower-case names), "body"} (gzip bodies are decompressed).
--mode ok answers 200, --mode error answers 500, --mode hang never answers.
--cert/--key enable TLS; --client-ca also requires a client certificate signed by it (mTLS).
"""
import argparse
import gzip
import http.server
import json
import ssl
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--log", required=True)
parser.add_argument("--mode", default="ok", choices=["ok", "error", "hang"])
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--client-ca")
args = parser.parse_args()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if args.mode == "hang":
            time.sleep(3600)
            return
        entry = {
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        with lock, open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        status = 200 if args.mode == "ok" else 500
        reply = b"received"
        self.send_response(status)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if args.cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.client_ca)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
