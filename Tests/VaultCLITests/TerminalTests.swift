import Foundation
import XCTest

/// What a person at a terminal sees: passphrases and values asked without echo, a passphrase
/// asked twice when set, confirmation before deletion, and no secret printed to a screen by
/// accident. Driven through a real pseudo-terminal (Support/pty_driver.py, Python's pty).
final class TerminalTests: XCTestCase {
  private struct Session {
    var status: Int
    var transcript: String
  }

  private func onTerminal(
    _ sandbox: VaultSandbox, _ arguments: [String], steps: [(String, String)], environment: [String: String?] = [:]
  ) throws -> Session {
    var variables = sandbox.environment
    for (name, value) in environment { variables[name] = value }
    let script: [String: Any] = [
      "argv": [VaultSandbox.binary] + arguments, "env": variables, "steps": steps.map { [$0.0, $0.1] },
    ]
    let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
      "Support/pty_driver.py")
    let json = String(decoding: try JSONSerialization.data(withJSONObject: script), as: UTF8.self)
    let result = try VaultSandbox.runTool(["/usr/bin/env", "python3", driver.path, json])
    if result.status == 127 { throw XCTSkip("python3 is not installed; it drives the pseudo-terminal") }
    let output = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any], result.stderrText)
    XCTAssertEqual(output["ok"] as? Bool, true, "a prompt did not appear: \(output["transcript"] ?? "")")
    return Session(
      status: try XCTUnwrap(output["status"] as? Int), transcript: try XCTUnwrap(output["transcript"] as? String))
  }

  func testPassphrasesAndValuesAreAskedWithoutEchoAndDeletionIsConfirmed() throws {
    let sandbox = try VaultSandbox()
    let noPassphraseFile: [String: String?] = ["VAULT_PASSPHRASE_FILE": nil]
    let passphrase = "typed passphrase 42"
    let initSession = try onTerminal(
      sandbox, ["init"] + TestKDF.options,
      steps: [
        ("expect", "New passphrase: "), ("send", passphrase + "\n"), ("expect", "Repeat the passphrase: "),
        ("send", passphrase + "\n"),
      ],
      environment: noPassphraseFile)
    XCTAssertEqual(initSession.status, 0, initSession.transcript)
    XCTAssertFalse(initSession.transcript.contains(passphrase), "the passphrase was echoed")

    let value = "sk-typed-value-0123456789abcdef"
    let add = try onTerminal(
      sandbox, ["add", "TYPED"],
      steps: [
        // The passphrase first (issue 10): a wrong one fails before a secret is pasted.
        ("expect", "Passphrase for "), ("send", passphrase + "\n"), ("expect", "Value for TYPED: "),
        ("send", value + "\n"),
      ],
      environment: noPassphraseFile)
    XCTAssertEqual(add.status, 0, add.transcript)
    let wrong = try onTerminal(
      sandbox, ["add", "WRONG"], steps: [("expect", "Passphrase for "), ("send", "not the passphrase\n")],
      environment: noPassphraseFile)
    XCTAssertEqual(wrong.status, 5, wrong.transcript)
    XCTAssertFalse(wrong.transcript.contains("Value for WRONG"), wrong.transcript)
    XCTAssertFalse(add.transcript.contains(value), "the value was echoed")
    XCTAssertFalse(add.transcript.contains(passphrase), "the passphrase was echoed")
    try writeFile(sandbox.passphraseFile, Array((passphrase + "\n").utf8), mode: 0o600)
    XCTAssertEqual(try sandbox.run(["get", "TYPED"]).stdoutText, value)

    // Secrets are not printed to a terminal by accident.
    let env = try onTerminal(sandbox, ["env"], steps: [])
    XCTAssertEqual(env.status, 64, env.transcript)
    XCTAssertFalse(env.transcript.contains(value))

    // Deletion asks; anything but yes keeps the key.
    let declined = try onTerminal(sandbox, ["rm", "TYPED"], steps: [("expect", "[y/N] "), ("send", "n\n")])
    XCTAssertEqual(declined.status, 10, declined.transcript)
    XCTAssertEqual(try sandbox.run(["get", "TYPED"]).status, 0)
    let confirmed = try onTerminal(sandbox, ["rm", "TYPED"], steps: [("expect", "[y/N] "), ("send", "y\n")])
    XCTAssertEqual(confirmed.status, 0, confirmed.transcript)
    XCTAssertEqual(try sandbox.run(["get", "TYPED"]).status, 3)
  }

  func testTwoDifferentPassphrasesAtInitAreRefused() throws {
    let sandbox = try VaultSandbox()
    let session = try onTerminal(
      sandbox, ["init"] + TestKDF.options,
      steps: [
        ("expect", "New passphrase: "), ("send", "first one\n"), ("expect", "Repeat the passphrase: "),
        ("send", "second one\n"),
      ],
      environment: ["VAULT_PASSPHRASE_FILE": nil])
    XCTAssertEqual(session.status, 65, session.transcript)
    XCTAssertTrue(session.transcript.contains("the two passphrases differ"), session.transcript)
    XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.vaultPath))
  }
}
