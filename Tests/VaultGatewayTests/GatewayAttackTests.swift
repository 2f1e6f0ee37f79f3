import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Attacks on `vault serve` from outside, against the built binary on 127.0.0.1. Each test here
/// FAILS while the hole it demonstrates is open (see the attack report on branch `attack`).
final class GatewayAttackTests: GatewayTestCase {
  /// A hostile (or merely sloppy) provider on plain HTTP, loopback only, test-only: answers per
  /// the `x-mode` request header. `echo-header`: repeats the auth header it got in a response
  /// header. `gzip`: ignores `Accept-Encoding: identity` and gzips a body echoing the auth header.
  /// Exits by itself after argv[2] seconds.
  private static let evilUpstream = """
    import gzip, http.server, json, os, sys, threading, time
    port_file, seconds = sys.argv[1], float(sys.argv[2])
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def handle_any(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            auth = self.headers.get("Authorization") or self.headers.get("x-goog-api-key") or ""
            mode = self.headers.get("x-mode", "")
            body = json.dumps({"ok": 1, "usage": {"prompt_tokens": 1, "completion_tokens": 1}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if mode == "echo-header":
                self.send_header("X-Echo", auth)
            if mode == "gzip":
                body = gzip.compress(json.dumps({"echo": auth}).encode())
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        do_GET = do_POST = handle_any
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    server.daemon_threads = True
    with open(port_file + ".tmp", "w") as f: f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    time.sleep(seconds)
    """

  /// Starts `evilUpstream`; its base URL.
  private func startEvilUpstream(seconds: Int = 60) throws -> (GWProcess, String) {
    let portFile = world.root + "/evil.port"
    let process = try world.startPython(Self.evilUpstream, [portFile, String(seconds)])
    var port: Int?
    gwEventually(seconds: 15) {
      port = (try? gwReadFile(portFile)).flatMap { Int(String(decoding: $0, as: UTF8.self)) }
      return port != nil || process.hasExited
    }
    guard let port else { throw GWError("the evil upstream did not start: \(process.stderrText)") }
    return (process, "http://127.0.0.1:\(port)")
  }

  // MARK: Scope escapes

  /// An agent key scoped to `--model gpt-4o-mini` reads OPENAI_API_KEY (linked to gpt-4o and
  /// gpt-4o-mini) and must serve gpt-4o-mini only. When the gateway cannot read a `model` from
  /// the body, it picks the provider's first key with no model check at all, so any body the
  /// gateway's strict JSON parser refuses but the provider accepts (a duplicate member, a BOM),
  /// or a non-JSON body (multipart: audio, image edits), reaches the provider with the real key
  /// for any model.
  func testAModelScopedKeyCannotReachAnotherModelThroughABodyTheGatewayCannotRead() throws {
    try world.setUp(openAIModels: ["gpt-4o", "gpt-4o-mini"])
    let token = try world.agentKey("mini", ["--model", "gpt-4o-mini"])
    let gateway = try world.serve()
    let auth = "Authorization: Bearer \(token)"

    // The control: the gateway does refuse gpt-4o when it can read the model.
    let plain = try world.curl(gateway, "/openai/chat/completions", headers: [auth], body: #"{"model":"gpt-4o"}"#)
    XCTAssertEqual(plain.status, 403, plain.bodyText)

    // 1. A duplicate member: the gateway's parser refuses it (so no model), Python's json takes the last.
    let duplicate = try world.curl(
      gateway, "/openai/chat/completions", headers: [auth],
      body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"model":"gpt-4o"}"#)
    XCTAssertEqual(duplicate.status, 403, "duplicate member: \(duplicate.bodyText)")

    // 2. A UTF-8 byte order mark before the object.
    let bom = try world.curl(
      gateway, "/openai/chat/completions", headers: [auth],
      body: "\u{FEFF}" + #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#)
    XCTAssertEqual(bom.status, 403, "BOM: \(bom.bodyText)")

    // 3. A multipart body (audio transcription, image edits): the model is a form field.
    try gwWriteFile(world.root + "/a.wav", Array("RIFF....WAVE".utf8), mode: 0o600)
    let form = try world.curl(
      gateway, "/openai/audio/transcriptions", headers: [auth],
      extra: ["-F", "model=gpt-4o-transcribe", "-F", "file=@\(world.root)/a.wav"])
    XCTAssertEqual(form.status, 403, "multipart: \(form.bodyText)")

    let reached = world.upstream!.requests
    XCTAssertTrue(
      reached.isEmpty,
      "a gpt-4o-mini-only agent key reached the provider with the real key: \(reached.map { "\($0.method) \($0.path)" })"
    )
  }

  /// Google names the model in the path (`/models/M:generateContent`) and routes by it; the
  /// gateway checks the body's `model` first. A key scoped to gemini-1.5-flash sends the path of
  /// gemini-1.5-pro with `"model":"gemini-1.5-flash"` in the body: the gateway approves, Google
  /// serves gemini-1.5-pro with the real key.
  func testGooglesPathModelCannotBeOverriddenByABodyModel() throws {
    try world.setUp()
    try world.vaultOK(
      ["add", "GEMINI_API_KEY", "--provider", "google", "--model", "gemini-1.5-flash", "--model", "gemini-1.5-pro"],
      stdin: Array((world.keys["google"]! + "\n").utf8))
    try world.vaultOK(["config", "set", "provider.google.base-url", world.upstream!.baseURL])
    let token = try world.agentKey("flash", ["--model", "gemini-1.5-flash"])
    let gateway = try world.serve()
    let auth = "x-goog-api-key: \(token)"
    let proPath = "/google/v1beta/models/gemini-1.5-pro:generateContent"

    let control = try world.curl(gateway, proPath, headers: [auth], body: #"{"contents":[]}"#)
    XCTAssertEqual(control.status, 403, "the path's model alone is checked: \(control.bodyText)")

    let disguised = try world.curl(
      gateway, proPath, headers: [auth], body: #"{"model":"gemini-1.5-flash","contents":[]}"#)
    XCTAssertEqual(disguised.status, 403, disguised.bodyText)
    let reached = world.upstream!.requests.map(\.path)
    XCTAssertFalse(
      reached.contains { $0.contains("gemini-1.5-pro") },
      "a gemini-1.5-flash-only agent key reached gemini-1.5-pro: \(reached)")
  }

  // MARK: Provider key leaks

  /// The relay masks an echoed key in the body only: a response header that carries it (a
  /// debugging proxy, a misbehaving self-hosted server) reaches the agent in clear.
  func testAProviderKeyEchoedInAResponseHeaderIsMasked() throws {
    try world.setUp()
    let (evil, base) = try startEvilUpstream()
    defer { evil.kill(SIGKILL) }
    try world.vaultOK(["config", "set", "provider.openai.base-url", base + "/v1"])
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let response = try world.curl(
      gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)", "x-mode: echo-header"],
      body: #"{"model":"gpt-4o"}"#)
    XCTAssertEqual(response.status, 200, response.bodyText)
    let headers = response.headers.map { "\($0.0): \($0.1)" }.joined(separator: "\n")
    XCTAssertFalse(
      gwContainsAnyPiece(of: world.keys["openai"]!, in: Array(headers.utf8)),
      "the provider key reached the agent in a response header:\n\(headers)")
  }

  /// The gateway asks for `Accept-Encoding: identity` so that it can mask, but relays whatever
  /// coding the provider answers with: a gzipped echo of the key passes the masker untouched.
  func testAProviderKeyEchoedInACompressedBodyIsMaskedOrRefused() throws {
    try world.setUp()
    let (evil, base) = try startEvilUpstream()
    defer { evil.kill(SIGKILL) }
    try world.vaultOK(["config", "set", "provider.openai.base-url", base + "/v1"])
    let token = try world.agentKey("bot", ["--provider", "openai"])
    let gateway = try world.serve()
    let response = try world.curl(
      gateway, "/openai/chat/completions", headers: ["Authorization: Bearer \(token)", "x-mode: gzip"],
      body: #"{"model":"gpt-4o"}"#, extra: ["--compressed"])
    XCTAssertFalse(
      gwContainsAnyPiece(of: world.keys["openai"]!, in: response.body),
      "the provider key reached the agent through a gzipped body: \(response.bodyText)")
  }

  // MARK: Resource exhaustion

  /// Before it looks for a credential, the gateway reads the whole body (up to 32 MiB) and parses
  /// it into a JSON tree to find `model`. One unauthenticated 32 MiB array costs it about
  /// 450 MB and seconds of CPU; a few parallel connections with no key at all exhaust memory.
  func testAnUnauthenticatedBodyCannotMakeTheGatewayHoldManyTimesItsSize() throws {
    try world.setUp()
    let gateway = try world.serve()
    let statusPath = "/proc/\(gateway.process.pid)/status"
    func peakKiB() -> Int {
      let text = String(decoding: (try? gwReadFile(statusPath)) ?? [], as: UTF8.self)
      let line = text.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
      return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    let before = peakKiB()
    XCTAssertGreaterThan(before, 0)
    let script = """
      import socket, sys
      body = b'{"a":[' + b'0,' * (16 * 1024 * 1024 - 10) + b'0]}'
      s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
      s.sendall(b"POST /openai/chat/completions HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body) + body)
      print(s.recv(100).split(b"\\r\\n")[0].decode())
      """
    let result = try world.python(script, [String(gateway.port)], seconds: 90)
    XCTAssertEqual(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "HTTP/1.1 401 Unauthorized")
    let growthMiB = (peakKiB() - before) / 1024
    // The body itself is 32 MiB; holding it twice over (buffer + body) is fair, ten times is not.
    XCTAssertLessThan(
      growthMiB, 128, "one request with no agent key grew the gateway's peak memory by \(growthMiB) MiB")
  }

  /// The head must arrive within 10 s, but a body has only a per-read stall timeout (30 s) and no
  /// deadline: a client with no agent key that sends one body byte every few seconds holds its
  /// connection and thread for as long as it likes (a 32 MiB Content-Length: for ever), so a
  /// single local process can pin all 4,096 connection slots and every real agent gets 503.
  func testASlowBodyWithNoAgentKeyIsCutOff() throws {
    try world.setUp()
    let gateway = try world.serve()
    let script = """
      import socket, sys, time
      s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
      s.sendall(b"POST /openai/chat/completions HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 33554432\\r\\n\\r\\n")
      start = time.monotonic()
      while time.monotonic() - start < 75:
          time.sleep(1)
          try:
              s.sendall(b" ")
              s.settimeout(0.05)
              if s.recv(1) == b"":
                  raise OSError("closed")
          except socket.timeout:
              continue
          except OSError:
              print("closed %d" % (time.monotonic() - start))
              sys.exit(0)
      print("open %d" % (time.monotonic() - start))
      """
    let result = try world.python(script, [String(gateway.port)], seconds: 100)
    let outcome = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    XCTAssertTrue(
      outcome.hasPrefix("closed"),
      "an unauthenticated body trickling a byte a second still held its connection after 75 s (\(outcome))")
  }
}
