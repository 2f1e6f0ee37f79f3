import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Helpers for the agent-key suites (AgentKeyLifecycle*, AgentKeyAccess*, AgentKeyTamper*).
/// Everything lives in this namespace or in a `VaultSandbox` extension with an `agent` prefix,
/// so nothing clashes with the other helpers of the target.
enum Agent {
  /// `vk_` and 60 base62 characters: 63 in all.
  static let tokenPattern = try! NSRegularExpression(pattern: "^vk_[0-9A-Za-z]{60}$")

  static func isToken(_ text: String) -> Bool {
    tokenPattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
  }

  /// What list/show print for a token: its first 4 and last 4 characters around an ellipsis.
  static func display(_ token: String) -> String {
    String(token.prefix(4)) + "\u{2026}" + String(token.suffix(4))
  }

  /// The name of the effective OS user, as `getpwuid` gives it.
  static var osUser: String {
    guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "uid \(geteuid())" }
    return String(cString: name)
  }

  /// A distinctive fake provider-key value.
  static func fakeValue(_ tag: String) -> String {
    fakeSecret("sk-agent-e2e-\(tag)-")
  }

  /// Every `vault agent-key verify` line of text output, as label -> value ("Readable" ->
  /// "A, B").
  static func fields(_ text: String) -> [String: String] {
    var fields: [String: String] = [:]
    for line in text.split(separator: "\n") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let label = String(line[..<colon])
      fields[label] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return fields
  }

  /// The names on a `Readable:` line ("-" is none).
  static func readable(_ text: String) -> Set<String> {
    guard let value = fields(text)["Readable"], value != "-" else { return [] }
    return Set(value.components(separatedBy: ", "))
  }

  /// An RFC 3339 UTC timestamp as seconds since the epoch.
  static func seconds(_ rfc3339: String?, file: StaticString = #filePath, line: UInt = #line) -> Int64 {
    guard let text = rfc3339, let timestamp = Timestamp(rfc3339: text) else {
      XCTFail("not a timestamp: \(rfc3339 ?? "nil")", file: file, line: line)
      return 0
    }
    return timestamp.secondsSinceEpoch
  }

  /// The cells of a `vault agent-key list` table: the header, then one row per agent keyed by
  /// name. Cells are separated by two or more spaces.
  static func table(_ text: String) -> (header: [String], rows: [String: [String]]) {
    let lines = text.split(separator: "\n").map(String.init)
    func cells(_ line: String) -> [String] {
      line.replacingOccurrences(of: " {2,}", with: "\u{0}", options: .regularExpression)
        .split(separator: "\u{0}").map(String.init)
    }
    guard let first = lines.first else { return ([], [:]) }
    var rows: [String: [String]] = [:]
    for line in lines.dropFirst() {
      let row = cells(line)
      if let name = row.first { rows[name] = row }
    }
    return (cells(first), rows)
  }

  /// The number of times `needle` occurs in `haystack`.
  static func occurrences(of needle: String, in haystack: [UInt8]) -> Int {
    let pattern = Array(needle.utf8)
    guard !pattern.isEmpty, haystack.count >= pattern.count else { return 0 }
    var count = 0
    for start in 0...(haystack.count - pattern.count) where haystack[start] == pattern[0] {
      if haystack[start..<(start + pattern.count)].elementsEqual(pattern) { count += 1 }
    }
    return count
  }

  // MARK: Oracle

  /// Opens the vault in-process with the token alone (no passphrase) and decrypts every key
  /// it grants: an independent check of what the binary left on disk. Name -> value.
  static func readableValues(token: String, vaultPath: String) throws -> [String: String] {
    let parsed = try AgentToken.parse(Array(token.utf8))
    let session = try VaultStore(path: vaultPath).openAgent(token: parsed)
    var values: [String: String] = [:]
    for key in try session.grantedKeys() {
      values[key.name] = String(decoding: try session.keyring.open(key).copyBytes(), as: UTF8.self)
    }
    return values
  }

  /// What opening the provider key `name` with the token alone throws (nil when it opens).
  static func openError(token: String, vaultPath: String, keyName: String) throws -> Error? {
    let parsed = try AgentToken.parse(Array(token.utf8))
    let session = try VaultStore(path: vaultPath).openAgent(token: parsed)
    let key = try VaultStore(path: vaultPath).read().document.key(named: keyName)
    do {
      _ = try session.keyring.open(key)
      return nil
    } catch {
      return error
    }
  }

  // MARK: Editing the file by hand

  /// `bytes` with `edit` applied to the line of agent `name` (the only line of the agents
  /// section holding `"name":"<name>"`); the checksum recomputed when asked. Fails the test
  /// and returns the bytes unchanged when the line is missing or the edit changes nothing.
  static func editingAgentLine(
    _ bytes: [UInt8], agent name: String, recomputeChecksum: Bool, file: StaticString = #filePath,
    line: UInt = #line, _ edit: (String) -> String
  ) -> [UInt8] {
    var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map {
      String(decoding: $0, as: UTF8.self)
    }
    guard let open = lines.firstIndex(of: "\"agents\":["),
      let index = lines.indices.first(where: { $0 > open && lines[$0].contains("\"name\":\"\(name)\"") })
    else {
      XCTFail("no line for agent \(name)", file: file, line: line)
      return bytes
    }
    let edited = edit(lines[index])
    XCTAssertNotEqual(edited, lines[index], "the edit changed nothing", file: file, line: line)
    lines[index] = edited
    let result = Array(lines.joined(separator: "\n").utf8)
    return recomputeChecksum ? Robust.recomputingChecksum(result) : result
  }

  /// The byte range of agent `name`'s line (without its LF).
  static func agentLineRange(_ bytes: [UInt8], agent name: String) -> Range<Int>? {
    var start = 0
    var inAgents = false
    for (offset, byte) in bytes.enumerated() where byte == 0x0A {
      let text = String(decoding: bytes[start..<offset], as: UTF8.self)
      if text == "\"agents\":[" {
        inAgents = true
      } else if inAgents, text.contains("\"name\":\"\(name)\"") {
        return start..<offset
      }
      start = offset + 1
    }
    return nil
  }

  /// `text` with the value of the first `"member":"..."` replaced by `value`.
  static func replacingString(member: String, in text: String, with value: String) -> String {
    guard let range = text.range(of: "\"\(member)\":\"[^\"]*\"", options: .regularExpression) else { return text }
    return text.replacingCharacters(in: range, with: "\"\(member)\":\"\(value)\"")
  }

  /// `text` with one base64 character of the first `"member":"..."` value replaced by another
  /// base64 character, in the middle of the value, so the base64 stays canonical.
  static func flippingBase64(member: String, in text: String) -> String {
    guard let range = text.range(of: "\"\(member)\":\"[A-Za-z0-9+/=]+\"", options: .regularExpression) else {
      return text
    }
    var characters = Array(text)
    let valueStart = text.distance(from: text.startIndex, to: range.lowerBound) + member.count + 4
    let valueEnd = text.distance(from: text.startIndex, to: range.upperBound) - 1
    let position = (valueStart + valueEnd) / 2
    characters[position] = characters[position] == "A" ? "B" : "A"
    return String(characters)
  }
}

extension VaultSandbox {
  var agentDataDirectory: String { root + "/data" }

  /// `vault agent-key create NAME OPTIONS...`; fails the test unless it exited 0 with exactly
  /// one token alone on stdout. Returns the token.
  @discardableResult
  func agentCreate(
    _ name: String, _ options: [String], environment: [String: String?] = [:], file: StaticString = #filePath,
    line: UInt = #line
  ) throws -> String {
    let result = try run(["agent-key", "create", name] + options, environment: environment)
    XCTAssertEqual(result.status, 0, "create \(name): \(result.stderrText)", file: file, line: line)
    let token = result.stdoutText.hasSuffix("\n") ? String(result.stdoutText.dropLast()) : result.stdoutText
    XCTAssertTrue(
      Agent.isToken(token), "create \(name) printed \(result.stdoutText.debugDescription)", file: file, line: line)
    XCTAssertFalse(
      contains(result.stderr, Array(token.utf8)), "create printed the token to stderr", file: file, line: line)
    return token
  }

  /// `vault agent-key verify` with the token in VAULT_AGENT_KEY and no passphrase anywhere.
  func agentVerify(_ token: String, _ options: [String] = [], environment: [String: String?] = [:]) throws
    -> RunResult
  {
    var variables = noPassphrase
    variables["VAULT_AGENT_KEY"] = token
    for (name, value) in environment { variables[name] = value }
    return try run(["agent-key", "verify"] + options, environment: variables)
  }

  /// The names the token's `verify` lists as readable; fails the test unless verify exited 0.
  func agentReadable(_ token: String, file: StaticString = #filePath, line: UInt = #line) throws -> Set<String> {
    let result = try agentVerify(token)
    XCTAssertEqual(result.status, 0, "verify: \(result.stderrText)", file: file, line: line)
    assertNoLeak(result, [token], file: file, line: line)
    return Agent.readable(result.stdoutText)
  }

  /// `vault agent-key list --json` without a passphrase, keyed by name.
  func agentListJSON(file: StaticString = #filePath, line: UInt = #line) throws -> [String: [String: Any]] {
    let result = try run(["agent-key", "list", "--json"], environment: noPassphrase)
    XCTAssertEqual(result.status, 0, result.stderrText, file: file, line: line)
    var byName: [String: [String: Any]] = [:]
    for entry in try jsonArray(result.stdout, file: file, line: line) {
      if let name = entry["name"] as? String { byName[name] = entry }
    }
    return byName
  }

  /// `vault agent-key show NAME --json` without a passphrase.
  func agentShowJSON(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let result = try run(["agent-key", "show", name, "--json"], environment: noPassphrase)
    XCTAssertEqual(result.status, 0, result.stderrText, file: file, line: line)
    return try jsonObject(result.stdout, file: file, line: line)
  }

  /// `vault verify` (the owner's full check of every record and the MAC) exits 0.
  func assertOwnerVerifyPasses(_ when: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let result = try run(["verify"])
    XCTAssertEqual(result.status, 0, "vault verify after \(when): \(result.stderrText)", file: file, line: line)
  }

  /// Every regular file under the vault's directory (the vault, `.state`, `.lock`, temp files).
  func agentDataFiles() -> [String] {
    var files: [String] = []
    let enumerator = FileManager.default.enumerator(atPath: agentDataDirectory)
    while let relative = enumerator?.nextObject() as? String {
      let path = agentDataDirectory + "/" + relative
      if fileType(path) == S_IFREG { files.append(path) }
    }
    return files.sorted()
  }

  /// No file under the vault's directory holds any of `tokens`, whole or any 12-character
  /// part of one (the first and last 4 characters kept for display are shorter).
  func assertNoTokenAtRest(
    _ tokens: [String], after when: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    let files = agentDataFiles()
    XCTAssertTrue(files.contains(vaultPath), "no vault among \(files)", file: file, line: line)
    for path in files {
      guard let bytes = try? readFile(path) else { continue }
      for token in tokens where Robust.containsAnyWindow(of: token, window: 12, in: bytes) {
        XCTFail("\(path) holds (part of) a token after \(when)", file: file, line: line)
      }
    }
  }
}
