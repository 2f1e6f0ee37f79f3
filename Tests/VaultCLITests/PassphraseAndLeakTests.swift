import Foundation
import VaultCore
import XCTest

/// A wrong passphrase changes nothing and says so with exit 5; no secret value ever appears in
/// the vault file in clear or in anything `vault` prints, whatever the command or its outcome.
final class PassphraseAndLeakTests: XCTestCase {
  private struct Fixture {
    let sandbox: VaultSandbox
    let values: [String: String]
  }

  /// Keys of several shapes: long ones (masked to 3 + 3 characters), a short one (masked whole),
  /// one with JSON-special characters and non-ASCII text.
  private func makeFixture() throws -> Fixture {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let values: [String: String] = [
      "OPENAI_WORK": Robust.fakeSecret(),
      "ANTHROPIC_WORK": Robust.fakeSecret("sk-ant-test-"),
      "SHORT_ONE": "Zq7#sh0rt!",
      "ODD_CHARS": "sk-test-\"quote\\back\u{00e9}\u{2603}-" + Robust.fakeSecret(""),
    ]
    let options: [String: [String]] = [
      "OPENAI_WORK": ["--provider", "openai", "--model", "gpt-4o"],
      "ANTHROPIC_WORK": ["--provider", "anthropic", "--env", "CLAUDE_KEY"],
      "SHORT_ONE": [],
      "ODD_CHARS": ["--provider", "mistral", "--model", "mistral-large"],
    ]
    for name in values.keys.sorted() {
      let result = try sandbox.add(name, value: values[name]!, options[name]!)
      XCTAssertEqual(result.status, 0, result.stderrText)
    }
    return Fixture(sandbox: sandbox, values: values)
  }

  private func assertNoSecret(
    _ bytes: [UInt8], _ values: [String], _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    for value in values where contains(bytes, Array(value.utf8)) {
      XCTFail("\(what) holds the secret value \(value.prefix(3))…", file: file, line: line)
    }
  }

  // MARK: Wrong passphrase

  func testWrongPassphraseFailsWithExit5AndLeavesTheFileUnchanged() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let secrets = Array(fixture.values.values)
    let wrongFile = sandbox.root + "/wrong-passphrase"
    try writeFile(wrongFile, Array("correct horse battery stapler\n".utf8), mode: 0o600)
    let envFile = sandbox.root + "/import.env"
    let imported = Robust.fakeSecret()
    try writeFile(envFile, Array("IMPORTED_KEY=\(imported)\n".utf8), mode: 0o600)
    let newValue = Robust.fakeSecret()
    let allSecrets = secrets + [imported, newValue, "correct horse battery stapler", VaultSandbox.passphrase]

    let commands: [(arguments: [String], stdin: [UInt8]?)] = [
      (["get", "OPENAI_WORK"], nil),
      (["add", "NEW_KEY", "--provider", "openai"], Array((newValue + "\n").utf8)),
      (["rm", "OPENAI_WORK", "--yes"], nil),
      (["verify"], nil),
      (["link", "OPENAI_WORK", "--model", "gpt-4o-mini"], nil),
      (["unlink", "OPENAI_WORK", "--model", "gpt-4o"], nil),
      (["edit", "OPENAI_WORK", "--value"], Array((newValue + "\n").utf8)),
      (["edit", "OPENAI_WORK", "--name", "RENAMED"], nil),
      (["import", envFile], nil),
      (["passwd"], nil),
    ]
    // The wrong passphrase from the file, then from the variable (with no file set).
    let sources: [(String, [String: String?])] = [
      ("VAULT_PASSPHRASE_FILE", ["VAULT_PASSPHRASE_FILE": wrongFile, "VAULT_NEW_PASSPHRASE": "another one"]),
      (
        "VAULT_PASSPHRASE",
        [
          "VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": "Correct horse battery staple",
          "VAULT_NEW_PASSPHRASE": "another one",
        ]
      ),
    ]
    let before = try sandbox.readVault()
    let hash = Robust.hexSHA256(before)
    for (source, environment) in sources {
      for (arguments, stdin) in commands {
        let what = "\(arguments.joined(separator: " ")) with a wrong \(source)"
        let result = try sandbox.run(arguments, stdin: stdin, environment: environment)
        XCTAssertEqual(result.status, 5, "\(what): \(result.stderrText)")
        XCTAssertTrue(result.stderrText.contains("wrong passphrase"), "\(what): \(result.stderrText)")
        XCTAssertEqual(Robust.errorLineCount(result), 1, "\(what): \(result.stderrText)")
        XCTAssertEqual(result.stdout, [], what)
        assertNoSecret(result.allOutput, allSecrets, what)
        XCTAssertEqual(Robust.hexSHA256(try sandbox.readVault()), hash, "\(what) changed the vault file")
        XCTAssertEqual(Robust.temporaryFiles(besides: sandbox.vaultPath), [], what)
      }
    }
    // The right passphrase still opens everything.
    let verify = try sandbox.run(["verify"])
    XCTAssertEqual(verify.status, 0, verify.stderrText)
    XCTAssertEqual(verify.stdoutText, "ok: 4 provider keys verified, generation 5\n")
  }

  /// Near misses are wrong: the passphrase is compared as exact bytes, less one trailing LF or
  /// CRLF from the file (FORMAT.md), with no trimming, case folding or Unicode normalisation.
  func testPassphraseIsExactBytesLessOneTrailingNewline() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    let hash = Robust.hexSHA256(try sandbox.readVault())
    let right = VaultSandbox.passphrase
    let cases: [(String, Int32)] = [
      (right, 0),
      (right + "\n", 0),
      (right + "\r\n", 0),
      (right + "\n\n", 5),
      (right + " \n", 5),
      (" " + right + "\n", 5),
      (String(right.dropLast()) + "\n", 5),
      (right.uppercased() + "\n", 5),
      (right + "\t", 5),
      (right + "\r", 5),
    ]
    let path = sandbox.root + "/candidate"
    for (candidate, expected) in cases {
      try writeFile(path, Array(candidate.utf8), mode: 0o600)
      let result = try sandbox.run(["verify"], environment: ["VAULT_PASSPHRASE_FILE": path])
      XCTAssertEqual(result.status, expected, "\(candidate.debugDescription): \(result.stderrText)")
      if expected == 5 { XCTAssertTrue(result.stderrText.contains("wrong passphrase"), result.stderrText) }
      XCTAssertEqual(Robust.hexSHA256(try sandbox.readVault()), hash)
    }

    // A passphrase set with a decomposed "é" is not opened by the precomposed one.
    let unicode = try VaultSandbox()
    let decomposed = "caf\u{0065}\u{0301} passphrase"
    try writeFile(unicode.passphraseFile, Array(decomposed.utf8), mode: 0o600)
    try unicode.initVault()
    XCTAssertEqual(try unicode.add("K", value: Robust.fakeSecret()).status, 0)
    let precomposed = unicode.root + "/precomposed"
    try writeFile(precomposed, Array("caf\u{00e9} passphrase".utf8), mode: 0o600)
    XCTAssertEqual(try unicode.run(["verify"], environment: ["VAULT_PASSPHRASE_FILE": precomposed]).status, 5)
    XCTAssertEqual(try unicode.run(["verify"]).status, 0)
  }

  // MARK: Leaks

  /// Runs a wide range of commands, succeeding and failing, and checks every byte they print
  /// and every file `vault` leaves on disk for the values.
  func testNoSecretValueInTheFileOrInAnyOutput() throws {
    let fixture = try makeFixture()
    let sandbox = fixture.sandbox
    var secrets = Array(fixture.values.values)
    let replacement = Robust.fakeSecret()
    let imported = Robust.fakeSecret()
    secrets += [replacement, imported]
    let passphrases = [VaultSandbox.passphrase, "a brand new passphrase"]
    let envFile = sandbox.root + "/keys.env"
    try writeFile(envFile, Array("export IMPORTED_KEY=\"\(imported)\"\n".utf8), mode: 0o600)

    let runs: [(arguments: [String], stdin: [UInt8]?, allowed: String?)] = [
      (["list"], nil, nil),
      (["list", "--json"], nil, nil),
      (["search", "sk"], nil, nil),
      (["search", "openai", "--json"], nil, nil),
      (["show", "OPENAI_WORK"], nil, nil),
      (["show", "ODD_CHARS", "--json"], nil, nil),
      (["show", "SHORT_ONE"], nil, nil),
      (["verify"], nil, nil),
      (["get", "ODD_CHARS"], nil, "ODD_CHARS"),
      (["get", "SHORT_ONE"], nil, "SHORT_ONE"),
      (["get", "MISSING"], nil, nil),
      (["add", "OPENAI_WORK"], Array((fixture.values["OPENAI_WORK"]! + "\n").utf8), nil),
      (["add", "SHORT_ONE", "--provider", "not a provider"], Array("Zq7#sh0rt!\n".utf8), nil),
      (["add", "BAD NAME"], Array((replacement + "\n").utf8), nil),
      (["edit", "OPENAI_WORK", "--value"], Array((replacement + "\n").utf8), nil),
      (["link", "ANTHROPIC_WORK", "--model", "claude-3-5-sonnet"], nil, nil),
      (["unlink", "ANTHROPIC_WORK", "--model", "claude-3-5-sonnet"], nil, nil),
      (["import", envFile], nil, nil),
      (["import", envFile], nil, nil),
      (["edit", "ANTHROPIC_WORK", "--name", "ANTHROPIC_RENAMED"], nil, nil),
      (["rm", "SHORT_ONE"], nil, nil),
      (["rm", "SHORT_ONE", "--yes"], nil, nil),
      (["get", "SHORT_ONE"], nil, nil),
      (["list"], nil, nil),
      (["verify"], nil, nil),
      (["passwd"], nil, nil),
    ]
    var current = fixture.values
    for (arguments, stdin, allowed) in runs {
      let result = try sandbox.run(
        arguments, stdin: stdin, environment: ["VAULT_NEW_PASSPHRASE": "a brand new passphrase"])
      let what = arguments.joined(separator: " ")
      if let allowed {
        XCTAssertEqual(result.status, 0, "\(what): \(result.stderrText)")
        XCTAssertEqual(result.stdoutText, current[allowed], what)
        assertNoSecret(result.stderr, secrets + passphrases, "\(what) stderr")
        assertNoSecret(result.stdout, secrets.filter { $0 != current[allowed] }, "\(what) stdout")
      } else {
        assertNoSecret(result.allOutput, secrets + passphrases, "\(what) output")
      }
      if arguments == ["edit", "OPENAI_WORK", "--value"] { current["OPENAI_WORK"] = replacement }
      if arguments == ["passwd"] {
        XCTAssertEqual(result.status, 0, result.stderrText)
        try writeFile(sandbox.passphraseFile, Array("a brand new passphrase\n".utf8), mode: 0o600)
      }
      // After every command: the file holds no value, not even an 8-byte piece of one (beyond
      // the 3 + 3 characters of the documented masked form).
      let file = try sandbox.readVault()
      for secret in secrets + passphrases where Robust.containsAnyWindow(of: secret, window: 8, in: file) {
        XCTFail("after \(what) the vault file holds (part of) a secret value")
      }
    }
    // Nothing else beside the vault holds a value: the lock file is empty, no temp file stays.
    let data = sandbox.root + "/data"
    for name in try FileManager.default.contentsOfDirectory(atPath: data) {
      let bytes = try readFile(data + "/" + name)
      if name.hasSuffix(".lock") { XCTAssertEqual(bytes, [], "the lock file holds data") }
      XCTAssertFalse(name.contains(".tmp-"), "temp file \(name) left behind")
      for secret in secrets where contains(bytes, Array(secret.utf8)) {
        XCTFail("\(name) holds a secret value in clear")
      }
    }
    let final = try sandbox.run(["verify"])
    XCTAssertEqual(final.status, 0, final.stderrText)
    XCTAssertEqual(final.stdoutText.prefix(23), "ok: 4 provider keys ver")
  }

  /// The masked form is the documented one: 3 + 3 Unicode scalars around an ellipsis, or
  /// `********` for 12 scalars or fewer, never more of the value.
  func testMaskedFormsNeverRevealMoreThanSixCharacters() throws {
    let fixture = try makeFixture()
    let list = try fixture.sandbox.run(["list", "--json"])
    XCTAssertEqual(list.status, 0, list.stderrText)
    let parsed = try JSONSerialization.jsonObject(with: Data(list.stdout)) as? [[String: Any]] ?? []
    XCTAssertEqual(parsed.count, 4)
    for entry in parsed {
      let name = entry["name"] as? String ?? ""
      let shown = entry["value"] as? String ?? ""
      let value = fixture.values[name] ?? ""
      let scalars = Array(value.unicodeScalars)
      let expected =
        scalars.count <= 12
        ? "********"
        : String(String.UnicodeScalarView(scalars.prefix(3))) + "\u{2026}"
          + String(String.UnicodeScalarView(scalars.suffix(3)))
      XCTAssertEqual(shown, expected, name)
    }
  }
}
