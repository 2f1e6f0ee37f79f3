import Foundation
import Glibc
import VaultTLS
import XCTest

/// `Tests/Fixtures` (not a target; found from this file's path).
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("Fixtures")

/// A fixture file's path: `fixture("tls/ca.pem")`.
func fixture(_ relativePath: String) -> String {
  fixtures.appendingPathComponent(relativePath).path
}

struct TestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// `Tests/Fixtures/fake_upstream.py`, run in its own temporary directory. Always bounded by
/// `--max-requests` and `--max-seconds`; `stop()` (call it from tearDown) kills it anyway.
final class FakeUpstream {
  let process = Process()
  let directory: URL
  let port: UInt16

  /// Starts the fake with `arguments` (e.g. `["--plain"]`; TLS with the test server
  /// certificate by default) and waits (up to 15 s) for the port it chose.
  init(
    _ arguments: [String] = ["--cert", fixture("tls/server.pem"), "--key", fixture("tls/server.key")],
    maxRequests: Int = 10, maxSeconds: Int = 30
  ) throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("vault-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let portFile = directory.appendingPathComponent("port")
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments =
      ["python3", fixture("fake_upstream.py")] + arguments + [
        "--port-file", portFile.path, "--log", directory.appendingPathComponent("log.jsonl").path,
        "--max-requests", String(maxRequests), "--max-seconds", String(maxSeconds),
      ]
    _ = FileManager.default.createFile(atPath: directory.appendingPathComponent("stderr").path, contents: nil)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = try FileHandle(forWritingTo: directory.appendingPathComponent("stderr"))
    try process.run()
    let deadline = Date().addingTimeInterval(15)
    while true {
      if let text = try? String(contentsOf: portFile, encoding: .utf8),
        let port = UInt16(text.trimmingCharacters(in: .whitespacesAndNewlines))
      {
        self.port = port
        return
      }
      if !process.isRunning || Date() > deadline {
        process.terminate()
        let stderr = (try? String(contentsOf: directory.appendingPathComponent("stderr"), encoding: .utf8)) ?? ""
        throw TestFailure("fake_upstream.py did not start (is python3 installed?): \(stderr)")
      }
      usleep(20_000)
    }
  }

  /// The request log: one JSON object per line.
  func log() throws -> [[String: Any]] {
    let text = try String(contentsOf: directory.appendingPathComponent("log.jsonl"), encoding: .utf8)
    return try text.split(separator: "\n").map { line in
      try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
    }
  }

  /// A path in this fake's directory (for `x-fake-hold-until`).
  func path(_ name: String) -> String {
    directory.appendingPathComponent(name).path
  }

  func stop() {
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
    }
    try? FileManager.default.removeItem(at: directory)
  }
}

/// A blocking TCP socket connected to 127.0.0.1:`port`, with receive and send timeouts.
func connectedSocket(port: UInt16, timeout: Double = 5) throws -> Int32 {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
  var interval = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_port = port.bigEndian
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  let status = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
  }
  guard status == 0 else {
    let code = errno
    close(fd)
    throw TestFailure("connect to 127.0.0.1:\(port): \(code)")
  }
  return fd
}

/// Whether `fd` is an open descriptor.
func isOpen(_ fd: Int32) -> Bool {
  fcntl(fd, F_GETFD) != -1
}

extension TLSConnection {
  func write(_ text: String) throws {
    try write(Array(text.utf8))
  }

  /// One `read` of up to `size` bytes.
  func readSome(_ size: Int = 16_384) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: size)
    let count = try read(into: &buffer)
    return Array(buffer[0..<count])
  }

  /// Everything until `read` returns 0 (at most 16 MiB).
  func readToEnd() throws -> [UInt8] {
    var all: [UInt8] = []
    while true {
      let bytes = try readSome()
      if bytes.isEmpty { return all }
      all += bytes
      guard all.count < 16 << 20 else { throw TestFailure("more than 16 MiB") }
    }
  }

  /// One HTTP response framed by Content-Length or chunked (for keep-alive).
  func readResponse() throws -> HTTPResponse {
    var bytes: [UInt8] = []
    while true {
      if let response = HTTPResponse(complete: bytes) { return response }
      let more = try readSome(4096)
      if more.isEmpty {
        throw TestFailure("EOF before the end of the response: \(String(decoding: bytes, as: UTF8.self))")
      }
      bytes += more
    }
  }
}

/// A parsed HTTP/1.1 response, just enough for these tests.
struct HTTPResponse {
  var status: Int
  var headers: [String: String]  // lower-case names
  var body: [UInt8]  // de-chunked

  var text: String { String(decoding: body, as: UTF8.self) }
  var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }

  /// Parses `bytes` as a response ended by its framing, or by the end of `bytes` when
  /// `closeDelimited`; nil while incomplete.
  init?(complete bytes: [UInt8], closeDelimited: Bool = false) {
    let separator: [UInt8] = Array("\r\n\r\n".utf8)
    guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else { return nil }
    let head = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
    status = Int(head[0].split(separator: " ")[1]) ?? 0
    headers = [:]
    for line in head.dropFirst() {
      let parts = line.split(separator: ":", maxSplits: 1)
      headers[parts[0].lowercased()] = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
    }
    let rest = Array(bytes[(end + 4)...])
    if closeDelimited {
      body = rest
    } else if headers["transfer-encoding"] == "chunked" {
      guard let body = HTTPResponse.dechunk(rest) else { return nil }
      self.body = body
    } else {
      let length = Int(headers["content-length"] ?? "0") ?? 0
      guard rest.count >= length else { return nil }
      body = Array(rest.prefix(length))
    }
  }

  /// The chunks' data, or nil until the zero chunk has arrived.
  static func dechunk(_ bytes: [UInt8]) -> [UInt8]? {
    var body: [UInt8] = []
    var index = 0
    while true {
      guard let lineEnd = bytes[index...].firstIndex(of: UInt8(ascii: "\r")), lineEnd + 1 < bytes.count else {
        return nil
      }
      guard let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self), radix: 16) else { return nil }
      let start = lineEnd + 2
      if size == 0 { return bytes.count >= start + 2 ? body : nil }
      guard bytes.count >= start + size + 2 else { return nil }
      body += bytes[start..<(start + size)]
      index = start + size + 2
    }
  }
}

/// SHA-256 of `bytes` as hex, through python3 (the test target links no crypto library).
func sha256Hex(_ bytes: [UInt8]) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = [
    "python3", "-c", "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
  ]
  let input = Pipe()
  let output = Pipe()
  process.standardInput = input
  process.standardOutput = output
  try process.run()
  try input.fileHandleForWriting.write(contentsOf: Data(bytes))
  try input.fileHandleForWriting.close()
  let data = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Asserts that `body` throws a TLSError whose message contains each of `fragments`.
func assertTLSError<T>(
  _ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
  do {
    _ = try body()
    XCTFail("expected a TLSError containing \(fragments)", file: file, line: line)
  } catch let error as TLSError {
    if ProcessInfo.processInfo.environment["VAULT_TLS_TEST_PRINT_ERRORS"] != nil { print("TLSError: \(error.message)") }
    for fragment in fragments {
      XCTAssertTrue(
        error.message.contains(fragment), "\"\(error.message)\" lacks \"\(fragment)\"", file: file, line: line)
    }
    XCTAssertEqual(error.message.first.map { $0.isLowercase }, true, "not lower-case", file: file, line: line)
    XCTAssertFalse(error.message.contains("\n"), "not one line", file: file, line: line)
  } catch {
    XCTFail("expected a TLSError, got \(error)", file: file, line: line)
  }
}
