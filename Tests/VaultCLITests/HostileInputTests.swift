import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The hostile-input table: every row is one bad input, the exit code it must get, and the
/// promise that the vault file (when there is one) is byte-identical afterwards. Rows are data,
/// so a new hostile input is one more line.
final class HostileInputTests: XCTestCase {
  private struct Row {
    var what: String
    var arguments: [String]
    var stdin: String? = nil
    var expected: Int32
  }

  private static let rows: [Row] = [
    // Names.
    Row(what: "empty name", arguments: ["add", ""], stdin: "sk-value-0123456789\n", expected: 65),
    Row(
      what: "name of 129 characters", arguments: ["add", String(repeating: "A", count: 129)], stdin: "v\n", expected: 65
    ),
    Row(what: "name with =", arguments: ["add", "MY=API"], stdin: "v\n", expected: 65),
    Row(what: "name with a space", arguments: ["add", "MY API"], stdin: "v\n", expected: 65),
    Row(what: "Cyrillic look-alike name", arguments: ["add", "MY_\u{0410}PI"], stdin: "v\n", expected: 65),
    Row(what: "name with a leading digit", arguments: ["add", "1API"], stdin: "v\n", expected: 65),
    Row(what: "loader variable as a name", arguments: ["add", "LD_PRELOAD"], stdin: "v\n", expected: 65),
    Row(what: "loader variable as --env", arguments: ["edit", "EXISTING", "--env", "PYTHONPATH"], expected: 65),
    // Values.
    Row(what: "empty value", arguments: ["add", "NEW_KEY"], stdin: "\n", expected: 65),
    Row(
      what: "value of 64 KiB + 1", arguments: ["add", "NEW_KEY"], stdin: String(repeating: "x", count: 65_537),
      expected: 65),
    Row(what: "value with NUL", arguments: ["add", "NEW_KEY"], stdin: "sk-\u{0}-value\n", expected: 65),
    // Arguments.
    Row(what: "unknown flag", arguments: ["list", "--frobnicate"], expected: 64),
    Row(what: "missing option value", arguments: ["add", "NEW_KEY", "--provider"], stdin: "v\n", expected: 64),
    Row(what: "missing argument", arguments: ["get"], expected: 64),
    Row(what: "flag after -- is an argument", arguments: ["get", "--", "--json"], expected: 65),
    Row(what: "unknown command", arguments: ["frobnicate"], expected: 64),
    Row(
      what: "option given twice", arguments: ["add", "NEW_KEY", "--provider", "a", "--provider", "b"], stdin: "v\n",
      expected: 64),
    // Tokens.
    Row(
      what: "token with a bad checksum", arguments: ["agent-key", "verify"],
      stdin: "vk_" + String(repeating: "A", count: 60), expected: 11),
  ]

  func testEveryHostileInputGetsItsErrorAndLeavesTheVaultAsItWas() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    XCTAssertEqual(try sandbox.add("EXISTING", value: "sk-existing-0123456789abcdef").status, 0)
    let before = try sandbox.readVault()
    for row in Self.rows {
      let result = try sandbox.run(row.arguments, stdin: row.stdin.map { Array($0.utf8) })
      XCTAssertEqual(result.status, row.expected, "\(row.what): \(result.stderrText)")
      XCTAssertTrue(result.stderrText.hasPrefix("vault: error: "), "\(row.what): \(result.stderrText)")
      XCTAssertEqual(
        result.stderrText.split(separator: "\n").filter { $0.hasPrefix("vault: error:") }.count, 1, row.what)
      XCTAssertEqual(try sandbox.readVault(), before, "\(row.what) changed the vault")
    }
  }

  /// Vault files that are not vault files: each refused with its code, none changed by it.
  func testHostileVaultFilesAreRefusedCleanly() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    XCTAssertEqual(try sandbox.add("EXISTING", value: "sk-existing-0123456789abcdef").status, 0)
    let good = try sandbox.readVault()
    let text = String(decoding: good, as: UTF8.self)
    // 100 MB of noise from xorshift64: random enough for a parser, cheap to make.
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var garbage = [UInt8](repeating: 0, count: 100 << 20)
    garbage.withUnsafeMutableBytes { raw in
      let words = raw.bindMemory(to: UInt64.self)
      for index in words.indices {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        words[index] = state
      }
    }
    let cases: [(String, [UInt8], Int32)] = [
      ("empty file", [], 6),
      ("100 MB of random bytes", garbage, 6),
      ("valid JSON of the wrong shape", Array("{\"format\":\"llm-vault\",\"version\":\"1\"}\n".utf8), 6),
      ("a JSON array", Array("[1,2,3]\n".utf8), 6),
      (
        "a future format version", Array(text.replacingOccurrences(of: "\"version\":2,", with: "\"version\":9,").utf8),
        6
      ),
    ]
    for (what, bytes, expected) in cases {
      try writeFile(sandbox.vaultPath, bytes, mode: 0o600)
      for arguments in [["list"], ["get", "EXISTING"], ["verify"]] {
        let result = try sandbox.run(arguments)
        XCTAssertEqual(result.status, expected, "\(what), \(arguments[0]): \(result.stderrText)")
        XCTAssertEqual(result.stderrText.split(separator: "\n").filter { $0.hasPrefix("vault: error:") }.count, 1, what)
        XCTAssertEqual(try sandbox.readVault(), bytes, "\(what) was changed by \(arguments[0])")
      }
    }
  }
}

/// Mistakes in the environment that must not leak or crash.
final class HostileEnvironmentTests: XCTestCase {
  func testAPassphrasePastedIntoThePassphraseFileVariableIsNotEchoed() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let pasted = "correct horse pasted by mistake"
    let result = try sandbox.run(["get", "ANY_KEY"], environment: ["VAULT_PASSPHRASE_FILE": pasted])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertFalse(result.stderrText.contains(pasted), result.stderrText)
    let add = try sandbox.run(
      ["add", "NEW_KEY"], stdin: Array("sk-value-0123456789\n".utf8), environment: ["VAULT_PASSPHRASE_FILE": pasted])
    XCTAssertEqual(add.status, 1, add.stderrText)
    XCTAssertTrue(
      add.stderrText.hasPrefix("vault: error: cannot read the file named by VAULT_PASSPHRASE_FILE"), add.stderrText)
    XCTAssertFalse(add.stderrText.contains(pasted), add.stderrText)
  }

  func testAStateFileAtTheLargestCountDoesNotCrashARun() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    XCTAssertEqual(
      try sandbox.add("MY_API", value: "sk-state-overflow-0123456789", ["--provider", "openai"]).status, 0)
    let id = try VaultStore(path: sandbox.vaultPath).read().document.key(named: "MY_API").id
    try writeFile(
      sandbox.vaultPath + ".state", Array("llm-vault-usage 1\nkey \(id) 0 \(Int64.max)\n".utf8), mode: 0o600)
    let result = try sandbox.run(["run", "--key", "MY_API", "--", "sh", "-c", "exit 5"])
    XCTAssertEqual(result.status, 5, result.stderrText)
    XCTAssertTrue(
      // A version-1 file is rewritten (version 3): the use count is the second number of eleven.
      String(decoding: try readFile(sandbox.vaultPath + ".state"), as: UTF8.self).contains(" \(Int64.max) 0 "))
    // The next use goes to the log, and adding it to the snapshot saturates too.
    XCTAssertEqual(try sandbox.run(["run", "--key", "MY_API", "--", "true"]).status, 0)
    XCTAssertEqual(try sandbox.showJSON("MY_API")["uses"] as? Int64, Int64.max)
  }

  /// A FIFO, a directory or a file too large at the usage log's path: no command hangs (each
  /// runs under `timeout`), reads through it, or fails for it; a run at worst warns.
  func testAFIFOADirectoryOrAHugeFileAtTheUsageLogHangNothing() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    XCTAssertEqual(try sandbox.add("MY_API", value: "sk-log-hostile-0123456789", ["--provider", "openai"]).status, 0)
    let log = sandbox.vaultPath + ".state.log"
    XCTAssertEqual(try sandbox.run(["run", "--key", "MY_API", "--", "true"]).status, 0)
    func timed(_ arguments: [String], passphrase: Bool = false) throws -> RunResult {
      var command = ["/usr/bin/timeout", "10", "/usr/bin/env", "-i"]
      for (name, value) in sandbox.environment where passphrase || name != "VAULT_PASSPHRASE_FILE" {
        command.append("\(name)=\(value)")
      }
      return try VaultSandbox.runTool(command + [VaultSandbox.binary] + arguments)
    }
    let plants: [(String, () throws -> Void)] = [
      ("a FIFO", { XCTAssertEqual(mkfifo(log, 0o600), 0) }),
      ("a directory", { try makeDirectory(log) }),
      (
        "a huge file",
        {
          try writeFile(
            log, Array("llm-vault-usage-log 1 1\n".utf8) + [UInt8](repeating: 0x0A, count: 9 << 20), mode: 0o600)
        }
      ),
    ]
    for (what, plant) in plants {
      _ = unlink(log)
      _ = rmdir(log)
      _ = unlink(log + ".bad")
      try plant()
      for arguments in [["show", "MY_API"], ["show", "MY_API", "--json"], ["agent-key", "list"], ["list"]] {
        let result = try timed(arguments)
        XCTAssertEqual(result.status, 0, "\(what), \(arguments): \(result.stderrText)")
      }
      let doctor = try timed(["doctor"])
      XCTAssertNotEqual(doctor.status, 124, "\(what): doctor hung")
      XCTAssertTrue(doctor.stdoutText.contains("the usage log \(log)"), "\(what): \(doctor.stdoutText)")
      let run = try timed(["run", "--key", "MY_API", "--", "true"], passphrase: true)
      XCTAssertEqual(run.status, 0, "\(what): \(run.stderrText)")
      XCTAssertLessThanOrEqual(run.stderrText.split(separator: "\n").count, 1, "\(what): \(run.stderrText)")
    }
  }
}
