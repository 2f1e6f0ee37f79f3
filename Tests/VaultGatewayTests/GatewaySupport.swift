import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

// End-to-end support for the `vault serve` suites (Gateway*Tests): the real `vault` binary in a
// temp dir, a real fake upstream over TLS (Tests/Fixtures/fake_upstream.py, trusted through
// VAULT_CA_FILE), real sockets on 127.0.0.1, and real HTTP clients (curl, python3 http.client).
// Every process started here stops by itself or is killed by the test's teardown; every wait
// is bounded. Names carry a `GW` prefix so nothing clashes with the target's unit-test helpers.

/// What one finished process did.
struct GWResult {
  var status: Int32
  var stdout: [UInt8]
  var stderr: [UInt8]
  var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
  var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// A process started with posix_spawn in its own session, stdout and stderr going to files that
/// can be read while it runs. `deinit` kills (SIGKILL) and reaps it if it is still running.
final class GWProcess {
  let pid: pid_t
  let stdoutPath: String
  let stderrPath: String
  private(set) var exitStatus: Int32?

  init(_ arguments: [String], environment: [String: String], stdin: [UInt8]? = nil, scratch: String) throws {
    let tag = UUID().uuidString
    stdoutPath = scratch + "/.out-" + tag
    stderrPath = scratch + "/.err-" + tag
    let stdinPath = scratch + "/.in-" + tag
    try gwWriteFile(stdinPath, stdin ?? [], mode: 0o600)
    defer { unlink(stdinPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, stdin == nil ? "/dev/null" : stdinPath, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // POSIX_SPAWN_SETSID (0x80) and POSIX_SPAWN_SETSIGMASK (0x08): a new session, no signal
    // blocked (the test runner's mask must not leak into the gateway).
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, 0x80 | 0x08)
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for pointer in argv { free(pointer) }
      for pointer in envp { free(pointer) }
    }
    var child: pid_t = 0
    let status = posix_spawn(&child, arguments[0], &actions, &attributes, argv, envp)
    guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EIO) }
    pid = child
  }

  deinit {
    if exitStatus == nil {
      _ = Glibc.kill(pid, SIGKILL)
      var status: Int32 = 0
      _ = waitpid(pid, &status, 0)
    }
    unlink(stdoutPath)
    unlink(stderrPath)
  }

  var stdoutText: String { String(decoding: (try? gwReadFile(stdoutPath)) ?? [], as: UTF8.self) }
  var stderrText: String { String(decoding: (try? gwReadFile(stderrPath)) ?? [], as: UTF8.self) }

  /// Whether it has exited (reaping it if so).
  var hasExited: Bool {
    if exitStatus != nil { return true }
    var status: Int32 = 0
    if waitpid(pid, &status, WNOHANG) == pid {
      exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
      return true
    }
    return false
  }

  /// Waits up to `seconds` for it to exit: its exit code (128 + N for signal N), or nil when it
  /// is still running then (it is left running; the caller decides).
  func wait(seconds: Double) -> Int32? {
    let deadline = gwNow() + seconds
    while !hasExited {
      if gwNow() > deadline { return nil }
      usleep(10_000)
    }
    return exitStatus
  }

  /// Waits for it to exit, killing it after `seconds`; the result (status 128 + 9 when killed).
  func finish(seconds: Double = 60) -> GWResult {
    if wait(seconds: seconds) == nil {
      kill(SIGKILL)
      _ = wait(seconds: 10)
    }
    return GWResult(
      status: exitStatus ?? -1, stdout: (try? gwReadFile(stdoutPath)) ?? [], stderr: (try? gwReadFile(stderrPath)) ?? []
    )
  }

  func kill(_ signal: Int32) {
    if exitStatus == nil { _ = Glibc.kill(pid, signal) }
  }
}

func gwNow() -> Double {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Polls `condition` every 20 ms for up to `seconds`; whether it became true.
@discardableResult
func gwEventually(seconds: Double, _ condition: () -> Bool) -> Bool {
  let deadline = gwNow() + seconds
  while true {
    if condition() { return true }
    if gwNow() > deadline { return false }
    usleep(20_000)
  }
}

func gwWriteFile(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
  let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
  guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
  defer { close(descriptor) }
  var offset = 0
  while offset < bytes.count {
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
    guard written > 0 else { throw POSIXError(.EIO) }
    offset += written
  }
}

func gwReadFile(_ path: String) throws -> [UInt8] {
  guard let data = FileManager.default.contents(atPath: path) else { throw POSIXError(.ENOENT) }
  return [UInt8](data)
}

/// Whether `needle` occurs in `haystack`.
func gwContains(_ haystack: [UInt8], _ needle: String) -> Bool {
  let pattern = Array(needle.utf8)
  guard !pattern.isEmpty, haystack.count >= pattern.count else { return false }
  for start in 0...(haystack.count - pattern.count) where haystack[start] == pattern[0] {
    if haystack[start..<(start + pattern.count)].elementsEqual(pattern) { return true }
  }
  return false
}

/// Whether any `window`-character piece of `secret` occurs in `haystack` (a token cut up or
/// partly masked still counts as leaked).
func gwContainsAnyPiece(of secret: String, window: Int = 12, in haystack: [UInt8]) -> Bool {
  let characters = Array(secret)
  guard characters.count >= window else { return gwContains(haystack, secret) }
  for start in 0...(characters.count - window) where gwContains(haystack, String(characters[start..<(start + window)]))
  {
    return true
  }
  return false
}

func gwJSON(_ bytes: [UInt8]) -> [String: Any]? {
  (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
}

/// The fixtures shared with the TLS tests: Tests/Fixtures (TEST-ONLY CA and certificates).
enum GWFixtures {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").path
  static var fakeUpstream: String { directory + "/fake_upstream.py" }
  static var caFile: String { directory + "/tls/ca.pem" }
  static var serverCert: String { directory + "/tls/server.pem" }
  static var serverKey: String { directory + "/tls/server.key" }

  static let python: String = {
    for candidate in ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
    where access(candidate, X_OK) == 0 {
      return candidate
    }
    return "/usr/bin/python3"
  }()
  static let curl: String = {
    for candidate in ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"] where access(candidate, X_OK) == 0 {
      return candidate
    }
    return "/usr/bin/curl"
  }()

  /// The built `vault` executable beside the test bundle.
  static var vault: String {
    let products = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }?.bundleURL.deletingLastPathComponent()
    return (products ?? URL(fileURLWithPath: ".build/debug")).appendingPathComponent("vault").path
  }
}

/// One request as the fake upstream logged it.
struct GWUpstreamRecord {
  var method: String
  var path: String
  var headers: [(String, String)]

  func header(_ name: String) -> String? {
    headers.first { $0.0.lowercased() == name.lowercased() }?.1
  }
  func headers(named name: String) -> [String] {
    headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
  }
}

/// `fake_upstream.py` over TLS with the test CA's server certificate; it exits by itself after
/// `maxRequests` or `maxSeconds`.
final class GWFakeUpstream {
  let process: GWProcess
  let port: Int
  let logPath: String

  /// Plain HTTP instead of TLS.
  let plain: Bool

  /// `certificate`: the server certificate and key (default: the test CA's), or nil for plain
  /// HTTP.
  init(
    scratch: String, maxRequests: Int = 100, maxSeconds: Int = 60,
    certificate: (String, String)? = (GWFixtures.serverCert, GWFixtures.serverKey)
  ) throws {
    plain = certificate == nil
    let transport = certificate.map { ["--cert", $0.0, "--key", $0.1] } ?? ["--plain"]
    let tag = UUID().uuidString.prefix(8)
    let portFile = scratch + "/upstream-\(tag).port"
    logPath = scratch + "/upstream-\(tag).jsonl"
    let process = try GWProcess(
      [
        GWFixtures.python, GWFixtures.fakeUpstream,
      ] + transport + [
        "--port-file", portFile, "--log", logPath, "--max-requests", String(maxRequests), "--max-seconds",
        String(maxSeconds),
      ], environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"], scratch: scratch)
    var found: Int?
    gwEventually(seconds: 15) {
      if let text = try? gwReadFile(portFile),
        let port = Int(String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
      {
        found = port
        return true
      }
      return process.hasExited
    }
    guard let found else {
      throw GWError("the fake upstream did not start: \(process.stderrText)")
    }
    self.process = process
    port = found
  }

  var baseURL: String { (plain ? "http" : "https") + "://127.0.0.1:\(port)" }

  /// Every line of its log, parsed.
  var lines: [[String: Any]] {
    guard let bytes = try? gwReadFile(logPath) else { return [] }
    return bytes.split(separator: 0x0A).compactMap { gwJSON(Array($0)) }
  }

  /// The requests it received, in order.
  var requests: [GWUpstreamRecord] {
    lines.compactMap { line in
      guard line["event"] == nil, let method = line["method"] as? String, let path = line["path"] as? String else {
        return nil
      }
      let headers = (line["headers"] as? [[String]] ?? []).compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
      return GWUpstreamRecord(method: method, path: path, headers: headers)
    }
  }

  /// The paths of the responses it could not finish because the client went away.
  var disconnects: [String] {
    lines.compactMap { $0["event"] as? String == "disconnected" ? ($0["path"] as? String ?? "") : nil }
  }

  /// The raw log, for leak checks.
  var rawLog: [UInt8] { (try? gwReadFile(logPath)) ?? [] }

  func stop() { process.kill(SIGKILL) }
}

struct GWError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// A `vault serve` process.
final class GWGateway {
  let process: GWProcess
  /// The TCP port, or 0 for a unix socket.
  let port: Int

  init(process: GWProcess, port: Int) {
    self.process = process
    self.port = port
  }

  var log: String { process.stderrText }

  /// SIGTERM, then its exit code (nil if it did not exit within `seconds`; it is killed then).
  func terminate(seconds: Double = 40) -> Int32? {
    process.kill(SIGTERM)
    let code = process.wait(seconds: seconds)
    if code == nil { process.kill(SIGKILL) }
    return code
  }
}

/// What an HTTP exchange came to.
struct GWResponse {
  var status: Int
  /// Header names lowercased, in order.
  var headers: [(String, String)]
  var body: [UInt8]
  var bodyText: String { String(decoding: body, as: UTF8.self) }
  var json: [String: Any]? { gwJSON(body) }

  func header(_ name: String) -> String? {
    headers.first { $0.0 == name.lowercased() }?.1
  }

  /// The error message in whichever provider shape the body has.
  var errorMessage: String? {
    (json?["error"] as? [String: Any])?["message"] as? String
  }
}

/// The scrypt cost of the gateway suite's vaults: the same as VaultCLITests' `TestKDF` (this test
/// target cannot import that one). A debug `vault` run with `VAULT_TEST_SCRYPT_MIN_LOG_N` accepts
/// N=2^10 (`KDFSettings.minimumLogN`; a release build does not read the variable), so each
/// scrypt-priced `vault` run of a `GWWorld` costs 2^10, not 2^14.
enum TestKDF {
  static let variable = "VAULT_TEST_SCRYPT_MIN_LOG_N"
  static let logN = 10
  /// `vault init` options for a vault at that cost.
  static let options = ["--scrypt-log-n", String(logN)]
  /// The variable as every `GWWorld` sets it.
  static let environment: [String: String] = [variable: String(logN)]
}

/// A temp dir with one vault and its provider keys, a fake upstream, and the gateway; the real
/// `vault` binary does everything.
final class GWWorld {
  static let passphrase = "correct horse battery staple"
  let root: String
  var vaultPath: String { root + "/data/vault.json" }
  var statePath: String { vaultPath + ".state" }
  var controlSocket: String { vaultPath + ".gateway.sock" }
  var environment: [String: String]
  /// Fake provider-key values, by provider.
  let keys: [String: String]
  var upstream: GWFakeUpstream?
  var gateways: [GWGateway] = []

  init() throws {
    var template = Array((NSTemporaryDirectory() + "vgw-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
    root = String(cString: made)
    environment = [
      "PATH": "/usr/bin:/bin", "HOME": root, "VAULT_FILE": root + "/data/vault.json",
      "VAULT_PASSPHRASE_FILE": root + "/passphrase", "NO_COLOR": "1", "LANG": "C.UTF-8",
    ].merging(TestKDF.environment) { $1 }
    try gwWriteFile(root + "/passphrase", Array((Self.passphrase + "\n").utf8), mode: 0o600)
    func fake(_ tag: String) -> String {
      "sk-fake-\(tag)-" + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
    keys = ["openai": fake("openai"), "anthropic": fake("anthropic"), "google": fake("google")]
  }

  deinit {
    for gateway in gateways { gateway.process.kill(SIGKILL) }
    upstream?.stop()
    _ = try? FileManager.default.removeItem(atPath: root)
  }

  /// Runs `vault arguments...` to completion (killed after `seconds`).
  @discardableResult
  func vault(
    _ arguments: [String], stdin: [UInt8]? = nil, environment extra: [String: String?] = [:], seconds: Double = 60
  ) throws -> GWResult {
    var variables = environment
    for (name, value) in extra { variables[name] = value }
    return try GWProcess([GFX.vault] + arguments, environment: variables, stdin: stdin, scratch: root).finish(
      seconds: seconds)
  }

  /// `vault` that must exit 0; its stdout.
  @discardableResult
  func vaultOK(
    _ arguments: [String], stdin: [UInt8]? = nil, environment extra: [String: String?] = [:],
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> String {
    let result = try vault(arguments, stdin: stdin, environment: extra)
    XCTAssertEqual(result.status, 0, "vault \(arguments.prefix(3)): \(result.stderrText)", file: file, line: line)
    return result.stdoutText
  }

  /// A vault with one key for each of `providers` (OPENAI_API_KEY linked to `openAIModels`),
  /// each provider's base URL at a fresh fake upstream. (Each step is a scrypt-priced `vault`
  /// run, so suites that need only OpenAI ask only for it.)
  func setUp(
    providers: Set<String> = ["openai"], openAIModels: [String] = ["gpt-4o"], maxRequests: Int = 100,
    maxSeconds: Int = 60,
    certificate: (String, String)? = (GWFixtures.serverCert, GWFixtures.serverKey), file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    try vaultOK(["init"] + TestKDF.options, file: file, line: line)
    try vaultOK(
      ["add", "OPENAI_API_KEY", "--provider", "openai"] + openAIModels.flatMap { ["--model", $0] },
      stdin: Array((keys["openai"]! + "\n").utf8), file: file, line: line)
    if providers.contains("anthropic") {
      try vaultOK(
        ["add", "ANTHROPIC_API_KEY", "--provider", "anthropic"], stdin: Array((keys["anthropic"]! + "\n").utf8),
        file: file, line: line)
    }
    if providers.contains("google") {
      try vaultOK(
        ["add", "GEMINI_API_KEY", "--provider", "google"], stdin: Array((keys["google"]! + "\n").utf8), file: file,
        line: line)
    }
    let upstream = try GWFakeUpstream(
      scratch: root, maxRequests: maxRequests, maxSeconds: maxSeconds, certificate: certificate)
    self.upstream = upstream
    try vaultOK(["config", "set", "provider.openai.base-url", upstream.baseURL + "/v1"], file: file, line: line)
    for provider in ["anthropic", "google"] where providers.contains(provider) {
      try vaultOK(["config", "set", "provider.\(provider).base-url", upstream.baseURL], file: file, line: line)
    }
  }

  /// `vault agent-key create NAME OPTIONS...`: the token it printed.
  func agentKey(_ name: String, _ options: [String], file: StaticString = #filePath, line: UInt = #line) throws
    -> String
  {
    let out = try vaultOK(["agent-key", "create", name] + options, file: file, line: line)
    let token = out.trimmingCharacters(in: .whitespacesAndNewlines)
    XCTAssertTrue(token.hasPrefix("vk_"), "agent-key create printed no token", file: file, line: line)
    return token
  }

  /// Starts `vault serve` (on 127.0.0.1:0 unless `arguments` says otherwise) without a
  /// passphrase, trusting the test CA; waits for its "serving" line.
  func serve(
    _ arguments: [String] = ["--listen", "127.0.0.1:0"], environment extra: [String: String?] = [:],
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> GWGateway {
    var variables = environment
    variables["VAULT_PASSPHRASE_FILE"] = nil
    variables["VAULT_CA_FILE"] = GWFixtures.caFile
    for (name, value) in extra { variables[name] = value }
    let process = try GWProcess([GWFixtures.vault, "serve"] + arguments, environment: variables, scratch: root)
    var port: Int?
    var socketMode = false
    // With --log-file the gateway's notes go to that file, not to stderr.
    let logFile = arguments.firstIndex(of: "--log-file").map { arguments[$0 + 1] }
    let started = gwEventually(seconds: 20) {
      let text = process.stderrText + (logFile.flatMap { try? String(decoding: gwReadFile($0), as: UTF8.self) } ?? "")
      if let range = text.range(of: "serving http://127.0.0.1:") {
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        port = Int(digits)
        return port != nil
      }
      if text.contains("serving unix:") {
        socketMode = true
        return true
      }
      return process.hasExited
    }
    guard started, port != nil || socketMode else {
      process.kill(SIGKILL)
      XCTFail("vault serve did not start: \(process.stderrText)", file: file, line: line)
      throw GWError("vault serve did not start")
    }
    let gateway = GWGateway(process: process, port: port ?? 0)
    gateways.append(gateway)
    return gateway
  }

  /// `vault agent-key show NAME --json`'s "gateway" object.
  func gatewayUsage(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let out = try vaultOK(
      ["agent-key", "show", name, "--json"], environment: ["VAULT_PASSPHRASE_FILE": nil], file: file, line: line)
    guard let object = gwJSON(Array(out.utf8)), let usage = object["gateway"] as? [String: Any] else {
      XCTFail("agent-key show --json has no gateway object", file: file, line: line)
      return [:]
    }
    return usage
  }

  // MARK: HTTP clients

  /// One request with curl (a real HTTP client): `-X method`, headers, body; the status, the
  /// response headers and body. `target` is a path on the gateway, or a whole URL.
  func curl(
    _ gateway: GWGateway, _ target: String, method: String = "POST", headers: [String] = [], body: String? = nil,
    extra: [String] = [], seconds: Int = 30
  ) throws -> GWResponse {
    let tag = UUID().uuidString.prefix(8)
    let bodyOut = root + "/curl-\(tag).body"
    let headOut = root + "/curl-\(tag).head"
    defer {
      unlink(bodyOut)
      unlink(headOut)
    }
    var arguments = [GWFixtures.curl, "-sS", "--max-time", String(seconds), "-X", method, "-o", bodyOut, "-D", headOut]
    for header in headers { arguments += ["-H", header] }
    if let body {
      let bodyIn = root + "/curl-\(tag).in"
      try gwWriteFile(bodyIn, Array(body.utf8), mode: 0o600)
      arguments += ["--data-binary", "@" + bodyIn, "-H", "Content-Type: application/json"]
    }
    arguments += extra
    arguments.append(target.hasPrefix("http") ? target : "http://127.0.0.1:\(gateway.port)\(target)")
    let result = try GWProcess(arguments, environment: ["PATH": "/usr/bin:/bin"], scratch: root).finish(
      seconds: Double(seconds + 10))
    unlink(root + "/curl-\(tag).in")
    guard result.status == 0 else { throw GWError("curl failed (\(result.status)): \(result.stderrText)") }
    return Self.parseCurl(head: (try? gwReadFile(headOut)) ?? [], body: (try? gwReadFile(bodyOut)) ?? [])
  }

  static func parseCurl(head: [UInt8], body: [UInt8]) -> GWResponse {
    // -D holds every response head (a 100 Continue first, say): the last one counts.
    let text = String(decoding: head, as: UTF8.self)
    let blocks = text.components(separatedBy: "\r\n\r\n").filter { $0.hasPrefix("HTTP/") }
    var status = 0
    var headers: [(String, String)] = []
    if let last = blocks.last {
      let lines = last.components(separatedBy: "\r\n")
      status = Int(lines[0].split(separator: " ").dropFirst().first ?? "") ?? 0
      for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers.append(
          (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
      }
    }
    return GWResponse(status: status, headers: headers, body: body)
  }

  /// Runs a python3 script (a real http.client agent) with `arguments`; killed after `seconds`.
  func python(_ script: String, _ arguments: [String] = [], seconds: Double = 60) throws -> GWResult {
    let path = root + "/script-\(UUID().uuidString.prefix(8)).py"
    try gwWriteFile(path, Array(script.utf8), mode: 0o600)
    return try GWProcess(
      [GWFixtures.python, path] + arguments, environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"], scratch: root
    ).finish(seconds: seconds)
  }

  /// Starts a python3 script without waiting.
  func startPython(_ script: String, _ arguments: [String] = []) throws -> GWProcess {
    let path = root + "/script-\(UUID().uuidString.prefix(8)).py"
    try gwWriteFile(path, Array(script.utf8), mode: 0o600)
    return try GWProcess(
      [GWFixtures.python, path] + arguments, environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"], scratch: root)
  }
}

/// Short alias used inside GWWorld.
typealias GFX = GWFixtures

/// Raw bytes over a TCP socket to 127.0.0.1, for requests no HTTP client would send.
enum GWRawSocket {
  /// Connects, writes `request`, then reads until the peer closes or `seconds` pass with no
  /// close; what was read, and whether the peer closed.
  static func exchange(port: Int, _ request: [UInt8], seconds: Double = 15) throws -> (bytes: [UInt8], closed: Bool) {
    let descriptor = try connect(port: port)
    defer { close(descriptor) }
    _ = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    return readUntilClose(descriptor, seconds: seconds)
  }

  static func connect(port: Int) throws -> Int32 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw POSIXError(.EIO) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else {
      close(descriptor)
      throw POSIXError(.ECONNREFUSED)
    }
    return descriptor
  }

  static func readUntilClose(_ descriptor: Int32, seconds: Double) -> (bytes: [UInt8], closed: Bool) {
    var received: [UInt8] = []
    let deadline = gwNow() + seconds
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while gwNow() < deadline {
      var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
      let ready = poll(&poller, 1, 100)
      if ready <= 0 { continue }
      let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
      if count <= 0 { return (received, true) }
      received += buffer[0..<count]
    }
    return (received, false)
  }

  /// The status codes of every response head in `bytes` ("HTTP/1.1 NNN" at a line start).
  static func statuses(_ bytes: [UInt8]) -> [Int] {
    let text = String(decoding: bytes, as: UTF8.self)
    var found: [Int] = []
    var searchFrom = text.startIndex
    while let range = text.range(of: "HTTP/1.1 ", range: searchFrom..<text.endIndex) {
      let atLineStart = range.lowerBound == text.startIndex || text[text.index(before: range.lowerBound)] == "\n"
      if atLineStart, let code = Int(text[range.upperBound...].prefix(3)) { found.append(code) }
      searchFrom = range.upperBound
    }
    return found
  }
}

/// Python agents (standard library http.client only), written to the temp dir at run time.
enum GWScripts {
  /// argv: port, token, count, path, model. `count` threads each open their own connection,
  /// wait at a barrier, send one chat request, and print one status per line.
  static let concurrent = """
    import http.client, json, sys, threading
    port, token, count, path, model = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    barrier = threading.Barrier(count, timeout=60)
    results = [None] * count
    def one(index):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.connect()
            barrier.wait()
            body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi %d" % index}]})
            connection.request("POST", path, body=body, headers={"Authorization": "Bearer " + token,
                                                                 "Content-Type": "application/json"})
            response = connection.getresponse()
            data = response.read()
            results[index] = "%d %d" % (response.status, len(data))
            connection.close()
        except Exception as error:
            results[index] = "error " + type(error).__name__
    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads: thread.start()
    for thread in threads: thread.join(90)
    print("\\n".join(str(result) for result in results))
    """

  /// argv: port, token, first-event file, rest file, [close]. Sends a streamed chat request;
  /// writes the first SSE event to the first file as soon as it is read; with `close`, closes
  /// the connection right after it; else reads to the end and writes the rest to the rest file.
  static let stream = """
    import http.client, json, os, sys
    port, token, first_path, rest_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    close_early = len(sys.argv) > 5 and sys.argv[5] == "close"
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    for pair in os.environ.get("GW_HEADERS", "").split("|"):
        if pair:
            name, value = pair.split(":", 1)
            headers[name] = value
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True},
                       "messages": [{"role": "user", "content": "hi"}]})
    connection.request("POST", "/openai/chat/completions", body=body, headers=headers)
    response = connection.getresponse()
    def write(path, data):
        with open(path + ".tmp", "wb") as file:
            file.write(data)
        os.rename(path + ".tmp", path)
    first = b""
    while not first.endswith(b"\\n\\n"):
        line = response.readline()
        if not line:
            break
        first += line
    write(first_path, (b"%d\\n" % response.status) + first)
    if close_early:
        connection.sock.close()
        response.close()
        sys.exit(0)
    rest = response.read()
    write(rest_path, rest)
    """

  /// argv: output file. Run by `vault run --gateway`: records its environment and what a
  /// request through OPENAI_BASE_URL with OPENAI_API_KEY came to, as JSON.
  static let agent = """
    import http.client, json, os, sys, urllib.parse
    out = sys.argv[1]
    base = urllib.parse.urlsplit(os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:1/openai"))
    connection = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    connection.request("POST", base.path + "/chat/completions", body=body,
                       headers={"Authorization": "Bearer " + os.environ.get("OPENAI_API_KEY", ""),
                                "Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    environ = open("/proc/self/environ", "rb").read().decode("utf-8", "replace")
    with open(out, "w") as file:
        json.dump({"status": response.status, "environ": environ, "env": dict(os.environ),
                   "body": data.decode("utf-8", "replace")}, file)
    """
}

/// The lifecycle every gateway suite shares: a fresh world (temp HOME, vault, fake upstream,
/// gateways) for each test, and everything it started killed and removed after it.
class GatewayTestCase: XCTestCase {
  var world: GWWorld!

  override func setUpWithError() throws {
    world = try GWWorld()
  }

  override func tearDown() {
    world = nil  // kills the gateway and the fake upstream, removes the temp dir
  }
}
