#!/usr/bin/env python3
"""A fake LLM provider API (OpenAI, Anthropic and Google shapes) for testing a proxy.

Test-only, python3 standard library only. Listens on 127.0.0.1 with a port chosen by the
kernel, answers HTTP/1.1 with keep-alive, and always exits by itself (--max-requests,
--max-seconds). Behaviour is chosen per request by `x-fake-*` headers; see
Tests/Fixtures/README.md.
"""

import argparse
import hashlib
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import warnings

DEADLINE = [0.0]  # time.monotonic() at which the server stops, set in main()
DONE = threading.Event()
LOCK = threading.Lock()
STATE = {"requests": 0, "max_requests": 1000, "log": None}
AUTH_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "api-key")


class ClientGone(Exception):
    """The client closed or reset the connection while we were answering."""


def log(record):
    if STATE["log"] is None:
        return
    with LOCK:
        STATE["log"].write(json.dumps(record, separators=(",", ":")) + "\n")
        STATE["log"].flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-upstream/1"
    timeout = 15  # an idle keep-alive connection is dropped after this many seconds

    def log_message(self, format, *args):  # quiet: the JSON log is the record
        pass

    # --- request ---------------------------------------------------------------------------

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def handle_any(self):
        body = self.read_body()
        log({
            "method": self.command,
            "path": self.path,
            "headers": [[name, value] for name, value in self.headers.items()],
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "sni": getattr(self.connection, "fake_sni", None),
        })
        try:
            request = json.loads(body) if body else {}
            if not isinstance(request, dict):
                request = {}
        except ValueError:
            request = {}
        try:
            self.answer(request)
        except (ClientGone, OSError) as error:
            if not isinstance(error, ClientGone) and not is_disconnect(error):
                raise
            log({"event": "disconnected", "path": self.path})
            self.close_connection = True
        with LOCK:
            STATE["requests"] += 1
            if STATE["requests"] >= STATE["max_requests"]:
                self.close_connection = True
                DONE.set()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_any

    # --- response --------------------------------------------------------------------------

    def answer(self, request):
        header = lambda name, default: self.headers.get(name, default)
        self.prompt = int(header("x-fake-prompt-tokens", "10"))
        self.completion = int(header("x-fake-completion-tokens", "5"))
        self.model = request.get("model")
        self.close_delimited = header("x-fake-close-delimited", "") == "1"
        path = self.path.split("?")[0]
        google = ":generateContent" in path or ":streamGenerateContent" in path
        self.flavour = "anthropic" if path.endswith("/v1/messages") else "google" if google else "openai"
        status = header("x-fake-status", "")
        if status:
            code = int(status)
            error = {"error": {"message": "fake error %d" % code, "type": "fake_error", "code": code}}
            return self.send_whole(code, json.dumps(error).encode())
        if request.get("stream") is True or ":streamGenerateContent" in path:
            return self.send_stream(request)
        document = self.completion_document()
        if header("x-fake-echo-auth", "") == "1":
            document["echo"] = {name: self.headers.get(name) for name in AUTH_HEADERS}
        self.send_whole(200, json.dumps(document).encode(), int(header("x-fake-slow-body-ms", "0")))

    def completion_document(self):
        p, c = self.prompt, self.completion
        if self.flavour == "anthropic":
            return {"id": "msg_fake_1", "type": "message", "role": "assistant", "model": self.model,
                    "content": [{"type": "text", "text": "hello"}], "stop_reason": "end_turn",
                    "usage": {"input_tokens": p, "output_tokens": c}}
        if self.flavour == "google":
            return {"candidates": [{"content": {"role": "model", "parts": [{"text": "hello"}]},
                                    "finishReason": "STOP", "index": 0}],
                    "usageMetadata": {"promptTokenCount": p, "candidatesTokenCount": c, "totalTokenCount": p + c}}
        return {"id": "fake-1", "object": "chat.completion", "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}}

    def start(self, code, content_type, framing):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        if self.close_delimited:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header(*framing)
        self.end_headers()
        self.flush()

    def send_whole(self, code, body, slow_ms=0):
        self.start(code, "application/json", ("Content-Length", str(len(body))))
        if slow_ms > 0:
            half = len(body) // 2
            self.put(body[:half])
            time.sleep(slow_ms / 1000)
            body = body[half:]
        self.put(body)
        self.finish_close_delimited()

    def send_stream(self, request):
        events = self.stream_events(request, int(self.headers.get("x-fake-events", "3")))
        delay = int(self.headers.get("x-fake-delay-ms", "0")) / 1000
        hold = self.headers.get("x-fake-hold-until")
        self.start(200, "text/event-stream", ("Transfer-Encoding", "chunked"))
        for index, event in enumerate(events):
            if index > 0 and delay:
                time.sleep(delay)
            self.put_event(event.encode())
            if index == 0 and hold:
                while not os.path.exists(hold):
                    if time.monotonic() > DEADLINE[0]:
                        raise ClientGone()  # the server is out of time; drop the stream
                    time.sleep(0.02)
        if not self.close_delimited:
            self.put(b"0\r\n\r\n")
        self.finish_close_delimited()

    def stream_events(self, request, count):
        p, c = self.prompt, self.completion
        data = lambda value: "data: " + json.dumps(value) + "\n\n"
        if self.flavour == "anthropic":
            named = lambda name, value: "event: " + name + "\n" + data(dict(type=name, **value))
            return ([named("message_start", {"message": {
                        "id": "msg_fake_1", "type": "message", "role": "assistant", "model": self.model,
                        "content": [], "usage": {"input_tokens": p, "output_tokens": 1}}}),
                     named("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})]
                    + [named("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "tok%d " % i}})
                       for i in range(count)]
                    + [named("content_block_stop", {"index": 0}),
                       named("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": c}}),
                       named("message_stop", {})])
        if self.flavour == "google":
            return [data({"candidates": [{"content": {"role": "model", "parts": [{"text": "tok%d " % i}]}, "index": 0}],
                          "usageMetadata": {"promptTokenCount": p, "candidatesTokenCount": c * (i + 1) // count,
                                            "totalTokenCount": p + c * (i + 1) // count}})
                    for i in range(count)]
        chunk = lambda delta, finish: data({
            "id": "fake-1", "object": "chat.completion.chunk", "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        events = [chunk({"role": "assistant", "content": "tok%d " % i} if i == 0 else {"content": "tok%d " % i},
                        "stop" if i == count - 1 else None) for i in range(count)]
        options = request.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") is True:
            events.append(data({"id": "fake-1", "object": "chat.completion.chunk", "model": self.model, "choices": [],
                                "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}}))
        return events + ["data: [DONE]\n\n"]

    def put_event(self, event):
        self.put(event if self.close_delimited else b"%x\r\n%s\r\n" % (len(event), event))

    def put(self, data):
        try:
            self.wfile.write(data)
            self.flush()
        except OSError as error:
            if is_disconnect(error):
                raise ClientGone() from error
            raise

    def flush(self):
        self.wfile.flush()

    def finish_close_delimited(self):
        """Ends a close-delimited response with a clean TLS close_notify, as a real server would."""
        if not self.close_delimited:
            return
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.settimeout(2)
                self.connection.unwrap()
            except (OSError, ValueError):
                pass


def is_disconnect(error):
    return isinstance(error, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, ssl.SSLError,
                              socket.timeout))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: a gateway opening 200 upstream connections at
    # once overflows it, and the dropped handshakes stall for tens of seconds (SYN-ACK retries).
    request_queue_size = 256
    tls = None  # an ssl.SSLContext, or None for --plain

    def get_request(self):
        connection, address = self.socket.accept()
        if self.tls is not None:
            # The handshake runs on the handler's thread (first read), so a client that never
            # speaks cannot stall the accept loop.
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if not is_disconnect(error):  # a refused handshake or a gone client is a normal test event
            sys.stderr.write("fake_upstream: %r\n" % (error,))


def main():
    parser = argparse.ArgumentParser(description="A fake LLM provider API for tests (always bounded).")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--plain", action="store_true", help="plain HTTP instead of TLS")
    parser.add_argument("--port-file", help="write the listening port here (atomically) once listening")
    parser.add_argument("--log", help="append one JSON line per request here")
    parser.add_argument("--max-requests", type=int, default=1000)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--tls-max-version", choices=["1.1", "1.2", "1.3"])
    args = parser.parse_args()
    if args.plain == bool(args.cert and args.key):
        parser.error("give either --cert and --key, or --plain")
    DEADLINE[0] = time.monotonic() + args.max_seconds
    STATE["max_requests"] = args.max_requests
    if args.log:
        STATE["log"] = open(args.log, "a", encoding="utf-8")

    server = Server(("127.0.0.1", 0), Handler)
    if not args.plain:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        if args.tls_max_version == "1.1":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = ssl.TLSVersion.TLSv1
                context.maximum_version = ssl.TLSVersion.TLSv1_1
            context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 refuses TLS 1.1 at the default level
        elif args.tls_max_version:
            context.maximum_version = ssl.TLSVersion["TLSv" + args.tls_max_version.replace(".", "_")]

        def remember_sni(connection, name, _context):
            connection.fake_sni = name

        context.sni_callback = remember_sni
        server.tls = context
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as file:
            file.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
    print("fake_upstream: listening on 127.0.0.1:%d (%s)" % (port, "plain" if args.plain else "tls"), flush=True)

    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    DONE.wait(max(0.0, DEADLINE[0] - time.monotonic()))
    server.shutdown()
    server.server_close()
    print("fake_upstream: stopping after %d requests" % STATE["requests"], flush=True)


if __name__ == "__main__":
    main()
