import Foundation
import VaultCore
import XCTest

/// The review's point 5: clear fields reach the terminal. `createdBy` (from `VAULT_USER`) and
/// other clear fields printed ESC/OSC sequences and fake table rows. Input is sanitised, the
/// reader refuses what the writer cannot produce, and every text cell is sanitised on output.
final class TerminalEscapeTests: XCTestCase {
  /// Bytes that must never reach stdout from a clear field: ESC, BEL, CR, C1 CSI (U+009B) and
  /// the right-to-left override (U+202E).
  private let forbidden: [[UInt8]] = [[0x1B], [0x07], [0x0D], [0xC2, 0x9B], [0xE2, 0x80, 0xAE]]

  private func assertClean(_ result: RunResult, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(result.status, 0, "\(what): \(result.stderrText)", file: file, line: line)
    for bytes in forbidden {
      XCTAssertFalse(contains(result.stdout, bytes), "\(what) printed \(bytes)", file: file, line: line)
      XCTAssertFalse(contains(result.stderr, bytes), "\(what) printed \(bytes) on stderr", file: file, line: line)
    }
  }

  func testAHostileVaultUserIsSanitisedOnInputAndEveryListingIsClean() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let hostile = "eve\u{1B}]0;pwned\u{07}\u{1B}[2J\r\nfake  Active\u{9B}31m\u{202E}"
    let token = try sandbox.agentCreate("bot", ["--all"], environment: ["VAULT_USER": hostile])
    for arguments in [
      ["agent-key", "list"], ["agent-key", "list", "--json"], ["agent-key", "show", "bot"],
      ["agent-key", "show", "bot", "--json"], ["agent-key", "search", "eve"], ["list"], ["show", "MY_API"],
      ["search", "MY"],
    ] {
      assertClean(
        try sandbox.run(arguments, environment: ["VAULT_PASSPHRASE_FILE": nil]), arguments.joined(separator: " "))
    }
    assertClean(try sandbox.agentVerify(token), "agent-key verify")
    assertClean(try sandbox.agentVerify(token, ["--json"]), "agent-key verify --json")
    let shown = try sandbox.agentShowJSON("bot")
    XCTAssertEqual(shown["createdBy"] as? String, "eve?]0;pwned??[2J??fake  Active?31m?")
  }

  func testControlCharactersInClearFieldsOfTheFileAreDamage() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    try sandbox.agentCreate("bot", ["--all"])
    let original = try sandbox.readVault()
    let edits: [(String, String, String)] = [
      ("createdBy", "x\\u001b]0;pwned\\u0007", "createdBy"),
      ("createdBy", "x\u{9B}2J", "createdBy"),
      ("createdBy", "x\u{202E}y", "createdBy"),
      ("display", "vk_\\u001b…[2Jx", "display"),
      ("display", "vk_1…12345", "display"),
    ]
    for (member, value, fragment) in edits {
      let edited = Agent.editingAgentLine(original, agent: "bot", recomputeChecksum: true) { line in
        Agent.replacingString(member: member, in: line, with: value)
      }
      try writeFile(sandbox.vaultPath, edited, mode: 0o600)
      for arguments in [["agent-key", "list"], ["agent-key", "show", "bot", "--json"], ["list"]] {
        let result = try sandbox.run(arguments)
        assertFailure(result, 6, mentioning: [fragment])
        for bytes in forbidden { XCTAssertFalse(contains(result.allOutput, bytes), "\(arguments) printed \(bytes)") }
      }
    }
  }

  /// JSON already escapes C0; for people it also escapes DEL, C1 and the bidirectional
  /// controls, and still reads back byte-identical.
  func testJSONForPeopleEscapesEveryUnsafeScalarAndReadsBack() throws {
    let text = "a\u{7F}b\u{9B}c\u{202E}d\u{2028}e\u{1B}f\"g\\h…i"
    var writer = JSONWriter(escapingUnsafeScalars: true)
    writer.string(text)
    let written = String(decoding: writer.bytes, as: UTF8.self)
    XCTAssertEqual(written, "\"a\\u007fb\\u009bc\\u202ed\\u2028e\\u001bf\\\"g\\\\h…i\"")
    let parsed = try JSONSerialization.jsonObject(with: Data(writer.bytes), options: .fragmentsAllowed) as? String
    XCTAssertEqual(parsed, text)
    var file = JSONWriter()
    file.string("a\u{9B}b")
    XCTAssertEqual(file.bytes, Array("\"a\u{9B}b\"".utf8), "the vault file's own escaping is unchanged")
  }
}
