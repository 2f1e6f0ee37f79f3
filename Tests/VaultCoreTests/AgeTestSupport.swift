import Foundation
import VaultCore
import VaultCrypto
import XCTest

/// Helpers of the age tests: the CCTV vectors in `Tests/Fixtures/age-cctv` (found from this
/// file's path), hex, and running the real `age` binaries.
enum AgeTestSupport {
  static let vectorsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/age-cctv")

  /// Whether CI is set: then a missing tool fails the test instead of skipping it.
  static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }

  /// Lowercase hex; local so the vectors are not read by code under test.
  static func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
  }

  /// The absolute path of `name` on PATH, or nil.
  static func which(_ name: String) -> String? {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
      let path = "\(directory)/\(name)"
      if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
  }

  /// `name`'s path, or XCTSkip when it is missing and CI is unset (a failure when CI is set).
  static func requireTool(_ name: String, installHint: String) throws -> String {
    if let path = which(name) { return path }
    let message = "\(name) is not installed (\(installHint))"
    if isCI { throw TestError(message + "; CI is set, so this is a failure") }
    throw XCTSkip(message + "; skipped because CI is unset")
  }

  /// Runs `executable` with `arguments` to completion, standard input read from `input` and
  /// standard output and error captured, all through files in a private scratch directory (no
  /// pipes, so no side can block on a full one). The files are 0600: they may hold plaintext.
  static func run(_ executable: String, _ arguments: [String], input: [UInt8] = []) throws -> (
    status: Int32, stdout: [UInt8], stderr: [UInt8]
  ) {
    let scratch = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: scratch) }
    let inputURL = scratch.appendingPathComponent("stdin")
    let outputURL = scratch.appendingPathComponent("stdout")
    let errorURL = scratch.appendingPathComponent("stderr")
    try writePrivateFile(inputURL, input)
    try writePrivateFile(outputURL, [])
    try writePrivateFile(errorURL, [])
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardInput = try FileHandle(forReadingFrom: inputURL)
    process.standardOutput = try FileHandle(forWritingTo: outputURL)
    process.standardError = try FileHandle(forWritingTo: errorURL)
    try process.run()
    process.waitUntilExit()
    return (
      process.terminationStatus, [UInt8](try Data(contentsOf: outputURL)), [UInt8](try Data(contentsOf: errorURL))
    )
  }

  /// A fresh private directory (0700), removed by the caller.
  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("age-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(
      at: url, withIntermediateDirectories: false,
      attributes: [
        .posixPermissions: 0o700
      ])
    return url
  }

  /// Writes `bytes` to a new file created with mode 0600 (identities are secrets).
  static func writePrivateFile(_ url: URL, _ bytes: [UInt8]) throws {
    guard
      FileManager.default.createFile(atPath: url.path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
    else { throw TestError("cannot create \(url.path)") }
  }
}

struct TestError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// One CCTV vector: its header fields and the age file after the blank line (inflated when
/// the vector says `compressed: zlib`).
struct AgeVector {
  let name: String
  let expect: String
  let payloadSHA256: String?
  let identity: String?
  let compressed: Bool
  let file: [UInt8]

  init(name: String, contents: [UInt8]) throws {
    self.name = name
    var fields: [String: String] = [:]
    var offset = 0
    while true {
      guard let end = contents[offset...].firstIndex(of: UInt8(ascii: "\n")) else {
        throw TestError("\(name): no blank line after the vector header")
      }
      let line = String(decoding: contents[offset..<end], as: UTF8.self)
      offset = end + 1
      if line.isEmpty { break }
      guard let colon = line.firstIndex(of: ":") else { throw TestError("\(name): malformed header line") }
      let key = String(line[..<colon])
      guard fields[key] == nil else { throw TestError("\(name): duplicate field \(key)") }
      fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let known: Set = ["expect", "payload", "file key", "identity", "passphrase", "armored", "comment", "compressed"]
    guard Set(fields.keys).isSubset(of: known) else { throw TestError("\(name): unknown field in \(fields.keys)") }
    guard let expect = fields["expect"] else { throw TestError("\(name): no expect field") }
    self.expect = expect
    payloadSHA256 = fields["payload"]
    identity = fields["identity"]
    guard fields["armored"] == nil else { throw TestError("\(name): armored vectors are not supported") }
    let body = Array(contents[offset...])
    switch fields["compressed"] {
    case nil:
      compressed = false
      file = body
    case "zlib":
      compressed = true
      file = try AgeVector.inflate(body, name: name)
    case let other?:
      throw TestError("\(name): unknown compression \(other)")
    }
  }

  /// zlib inflate through python3's standard library: Foundation on Linux has no zlib API, and
  /// the vectors stay byte-for-byte as published.
  static func inflate(_ bytes: [UInt8], name: String) throws -> [UInt8] {
    let python = try AgeTestSupport.requireTool("python3", installHint: "it inflates the zlib-compressed vectors")
    let result = try AgeTestSupport.run(
      python, ["-c", "import sys, zlib; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read()))"],
      input: bytes)
    guard result.status == 0 else { throw TestError("\(name): python3 could not inflate the vector") }
    return result.stdout
  }

  /// Every vector file in the fixtures folder (SOURCE.md aside), sorted by name.
  static func all() throws -> [AgeVector] {
    let names = try FileManager.default.contentsOfDirectory(atPath: AgeTestSupport.vectorsDirectory.path)
      .filter { $0 != "SOURCE.md" }.sorted()
    return try names.map(named)
  }

  /// The vector file `name`.
  static func named(_ name: String) throws -> AgeVector {
    let data = try Data(contentsOf: AgeTestSupport.vectorsDirectory.appendingPathComponent(name))
    return try AgeVector(name: name, contents: [UInt8](data))
  }
}
