import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Helpers for the `vault run`, `env` and `inject` suites (Run*, RunMask*, EnvAndInject*,
/// Usage*). Everything lives in the `RunKit` namespace, in `RunFixture`, or in a `VaultSandbox`
/// extension with a `run` prefix, so nothing clashes with the other helpers of the target.
enum RunKit {
  /// The keys most run tests start from. No two claim one variable: CUSTOM_KEY is an openai key
  /// with its own `--env`, so it does not claim OPENAI_API_KEY.
  static let standardKeys: [(name: String, options: [String])] = [
    ("OPENAI_MAIN", ["--provider", "openai", "--model", "gpt-4o"]),
    ("ANTHROPIC_MAIN", ["--provider", "anthropic"]),
    ("GEMINI_KEY", ["--provider", "google"]),
    ("CUSTOM_KEY", ["--provider", "openai", "--env", "MY_VAR"]),
  ]

  /// Where each standard key must arrive: variable -> key name, for a run that reads them all.
  static let standardNames: [String: String] = [
    "OPENAI_MAIN": "OPENAI_MAIN", "OPENAI_API_KEY": "OPENAI_MAIN",
    "ANTHROPIC_MAIN": "ANTHROPIC_MAIN", "ANTHROPIC_API_KEY": "ANTHROPIC_MAIN",
    "GEMINI_KEY": "GEMINI_KEY", "GOOGLE_API_KEY": "GEMINI_KEY", "GEMINI_API_KEY": "GEMINI_KEY",
    "CUSTOM_KEY": "CUSTOM_KEY", "MY_VAR": "CUSTOM_KEY",
  ]

  /// The child that prints its whole environment, NUL-separated (values may hold newlines).
  static let printEnvironment = ["/usr/bin/env", "-0"]

  /// Parses `env -0` output into name -> value.
  static func environment(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> [String: String] {
    var variables: [String: String] = [:]
    for entry in bytes.split(separator: 0, omittingEmptySubsequences: true) {
      guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else {
        XCTFail("env entry without '=': \(String(decoding: entry, as: UTF8.self))", file: file, line: line)
        continue
      }
      let name = String(decoding: entry[entry.startIndex..<equals], as: UTF8.self)
      XCTAssertNil(variables[name], "\(name) appears twice in the child's environment", file: file, line: line)
      variables[name] = String(decoding: entry[(equals + 1)...], as: UTF8.self)
    }
    return variables
  }

  /// The variables of `environment` whose value is one of `values`, as variable -> key name.
  static func carriers(_ environment: [String: String], values: [String: String]) -> [String: String] {
    var byValue: [String: String] = [:]
    for (name, value) in values { byValue[value] = name }
    var carriers: [String: String] = [:]
    for (variable, value) in environment {
      if let key = byValue[value] { carriers[variable] = key }
    }
    return carriers
  }

  /// Waits (polling) until `path` exists; false after `timeout` seconds. A safeguard against a
  /// hang, never a timing assertion.
  static func waitFor(_ path: String, timeout: Double = 20) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !fileExists(path) {
      if Date() > deadline { return false }
      usleep(10_000)
    }
    return true
  }

  /// Runs `/bin/sh -c script arguments...` directly (not through vault).
  static func shell(_ script: String, _ arguments: [String] = [], environment: [String: String]) throws -> (
    status: Int32, stdout: [UInt8]
  ) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script, "sh"] + arguments
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let bytes = [UInt8](output.fileHandleForReading.readDataToEndOfFile())
    process.waitUntilExit()
    return (process.terminationStatus, bytes)
  }

  /// The 256 byte values, repeated to `count` bytes.
  static func allBytes(count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0) }
  }

  /// `/proc/<pid>/status` fields (State, PPid, ...), or nil when there is no such process.
  static func processStatus(_ pid: pid_t) -> [String: String]? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/status") else { return nil }
    var fields: [String: String] = [:]
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return fields
  }

  /// Every process whose parent is `parent`, by /proc.
  static func children(of parent: pid_t) -> [pid_t] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap { pid_t($0) }.filter { pid in
      processStatus(pid)?["PPid"] == String(parent)
    }
  }

  static func inode(_ path: String) -> ino_t? {
    var status = stat()
    return lstat(path, &status) == 0 ? status.st_ino : nil
  }

  /// An id in the vault: an agent key's, or a provider key's record id as the state file keys it.
  static func agentID(_ name: String, vaultPath: String) throws -> String {
    try VaultStore(path: vaultPath).read().document.agent(named: name).id
  }

  static func keyID(_ name: String, vaultPath: String) throws -> String {
    try VaultStore(path: vaultPath).read().document.key(named: name).id.description
  }

  /// The usage beside the vault read as docs/FORMAT.md describes it (not with VaultCore's
  /// reader): the snapshot `<vault>.state`, a `llm-vault-usage 3 FOLD` line (or version 2's,
  /// fold 0) then `agent|key ID` lines with eleven numbers; plus, when the first line of
  /// `<vault>.state.log` is `llm-vault-usage-log 1 FOLD` with the same number, one use for each
  /// of its complete `use EPOCH AGENT|- ID... .` lines. Returned as
  /// `["agents"|"keys": [id: ["uses": Int, "lastUsed": RFC 3339 text]]]`.
  static func state(_ sandbox: VaultSandbox, file: StaticString = #filePath, line: UInt = #line) throws
    -> [String: Any]
  {
    let text = String(decoding: try readFile(sandbox.vaultPath + ".state"), as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    XCTAssertEqual(lines.last, "", "the snapshot ends in LF", file: file, line: line)
    let header = lines.first.map(String.init) ?? ""
    let fold = header == "llm-vault-usage 2" ? "0" : String(header.dropFirst("llm-vault-usage 3 ".count))
    XCTAssertTrue(
      header == "llm-vault-usage 2" || (header.hasPrefix("llm-vault-usage 3 ") && Int64(fold) != nil),
      "state header \(header)", file: file, line: line)
    lines = Array(lines.dropFirst().dropLast())
    var sections: [String: [String: [String: Any]]] = ["agents": [:], "keys": [:]]
    for entry in lines {
      let fields = entry.split(separator: " ").map(String.init)
      guard fields.count == 13, let epoch = Int64(fields[2]), let uses = Int(fields[3]) else {
        XCTFail("bad state line: \(entry)", file: file, line: line)
        continue
      }
      let section = fields[0] == "agent" ? "agents" : "keys"
      sections[section]?[fields[1]] = ["uses": uses, "lastUsed": Timestamp(secondsSinceEpoch: epoch).rfc3339]
    }
    let log = (try? readFile(sandbox.vaultPath + ".state.log")).map { String(decoding: $0, as: UTF8.self) } ?? ""
    let logLines = log.split(separator: "\n").map(String.init)
    if logLines.first == "llm-vault-usage-log 1 \(fold)" {
      for entry in logLines.dropFirst() {
        let fields = entry.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard fields.count >= 4, fields[0] == "use", let epoch = Int64(fields[1]), fields.last == "." else { continue }
        let stamp = Timestamp(secondsSinceEpoch: epoch).rfc3339
        for (index, id) in fields.dropLast().enumerated().dropFirst(2) where id != "-" {
          let section = index == 2 ? "agents" : "keys"
          let uses = sections[section]?[id]?["uses"] as? Int ?? 0
          sections[section]?[id] = ["uses": uses + 1, "lastUsed": stamp]
        }
      }
    }
    return sections
  }

  /// `uses` of one record of a state section ("agents" or "keys"); nil when it has none.
  static func uses(_ state: [String: Any], _ section: String, _ id: String) -> Int? {
    ((state[section] as? [String: Any])?[id] as? [String: Any])?["uses"] as? Int
  }

  static func lastUsed(_ state: [String: Any], _ section: String, _ id: String) -> String? {
    ((state[section] as? [String: Any])?[id] as? [String: Any])?["lastUsed"] as? String
  }

  /// The `vault: warning:` lines of stderr.
  static func warnings(_ result: RunResult) -> [String] {
    result.stderrLines.filter { $0.hasPrefix("vault: warning:") }
  }
}

/// A vault holding some keys, with their values.
struct RunFixture {
  let sandbox: VaultSandbox
  var values: [String: String]

  /// A new vault with `keys` (name, `vault add` options), each with a distinctive fake value.
  init(_ keys: [(name: String, options: [String])] = RunKit.standardKeys) throws {
    sandbox = try VaultSandbox()
    try sandbox.initVault()
    values = [:]
    for (name, options) in keys {
      try add(name, options)
    }
  }

  mutating func add(_ name: String, _ options: [String], value: String? = nil) throws {
    let value = value ?? fakeSecret("sk-run-\(name.lowercased())-")
    try sandbox.addOK(name, value: value, options)
    values[name] = value
  }

  var secrets: [String] { Array(values.values) }

  /// `vault run OPTIONS -- env -0`: the result and the child's environment (empty if it did not
  /// run).
  func runEnvironment(
    _ options: [String], environment: [String: String?] = [:], file: StaticString = #filePath, line: UInt = #line
  ) throws -> (result: RunResult, child: [String: String]) {
    let result = try sandbox.run(["run"] + options + ["--"] + RunKit.printEnvironment, environment: environment)
    XCTAssertEqual(result.status, 0, "vault run \(options): \(result.stderrText)", file: file, line: line)
    assertNoLeak(result, secrets, allowStdout: true, file: file, line: line)
    return (result, result.status == 0 ? RunKit.environment(result.stdout, file: file, line: line) : [:])
  }

  /// Asserts the child got exactly `expected` (variable -> key name) among the variables that
  /// carry a vault value, each with that key's value.
  func assertCarriers(
    _ child: [String: String], _ expected: [String: String], _ what: String, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertEqual(
      RunKit.carriers(child, values: values), expected, "\(what): which variables carry which key", file: file,
      line: line)
    for (variable, key) in expected {
      assertSameSecret(
        child[variable], values[key], "\(what): \(variable) does not hold \(key)'s value", file: file, line: line)
    }
  }

  /// An agent key with `scope` options; its token.
  func agentToken(_ name: String, _ scope: [String], file: StaticString = #filePath, line: UInt = #line) throws
    -> String
  {
    try sandbox.agentCreate(name, scope, file: file, line: line)
  }

  /// The environment for a run with `token` in VAULT_AGENT_KEY and no passphrase anywhere.
  static func agentEnvironment(_ token: String) -> [String: String?] {
    var variables = noPassphrase
    variables["VAULT_AGENT_KEY"] = token
    return variables
  }
}

/// Asserts `actual == expected` for values that hold secrets (fake ones, but still): a failure
/// says what differs, never shows either side.
func assertSameSecret<T: Equatable>(
  _ actual: T?, _ expected: T?, _ message: String, file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertTrue(actual == expected, "\(message) (the values are not shown)", file: file, line: line)
}
