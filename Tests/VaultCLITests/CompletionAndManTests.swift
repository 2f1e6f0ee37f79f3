import Foundation
import XCTest

/// Issue 10, point 3: completion scripts and the man page, generated from the command specs.
final class CompletionAndManTests: XCTestCase {
  private static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs")

  private static let commands = [
    "init", "add", "list", "search", "show", "get", "edit", "link", "unlink", "rm", "import", "passwd", "verify",
    "doctor", "unlock", "lock", "status", "run", "env", "inject", "serve", "git-setup", "merge-driver", "diff-text",
    "completion",
    "agent-key create", "agent-key list", "agent-key show",
    "agent-key rotate", "agent-key revoke", "config get", "config set", "gateway status",
  ]

  private func fixture() throws -> VaultSandbox {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("OPENAI_MAIN", value: fakeSecret(), ["--provider", "openai"])
    try sandbox.addOK("OPENAI_DEV", value: fakeSecret(), ["--provider", "openai"])
    _ = try sandbox.agentCreate("support-bot", ["--all"])
    return sandbox
  }

  /// `_vault` run by bash on `words` (the last is the word being completed).
  private func complete(_ sandbox: VaultSandbox, _ script: String, _ words: [String]) throws -> [String] {
    let scriptPath = sandbox.root + "/vault.bash"
    try writeFile(scriptPath, Array(script.utf8), mode: 0o600)
    let quoted = words.map { "'\($0)'" }.joined(separator: " ")
    let program = """
      source '\(scriptPath)'
      COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); _vault
      printf '%s\\n' "${COMPREPLY[@]}"
      """
    let binaries = URL(fileURLWithPath: VaultSandbox.binary).deletingLastPathComponent().path
    let result = try VaultSandbox.runTool([
      "/usr/bin/env", "-i", "PATH=\(binaries):/usr/bin:/bin", "VAULT_FILE=\(sandbox.vaultPath)", "HOME=\(sandbox.root)",
      "\(TestKDF.variable)=\(TestKDF.logN)", "bash", "--norc", "-c", program,
    ])
    XCTAssertEqual(result.status, 0, result.stderrText)
    return result.stdoutText.split(separator: "\n").map(String.init)
  }

  func testBashCompletesCommandsOptionsAndNamesWithoutAPassphrase() throws {
    let sandbox = try fixture()
    let generated = try sandbox.run(["completion", "bash"], environment: noPassphrase)
    XCTAssertEqual(generated.status, 0, generated.stderrText)
    let script = generated.stdoutText
    XCTAssertEqual(try complete(sandbox, script, ["vault", "li"]), ["list", "link"])
    XCTAssertEqual(try complete(sandbox, script, ["vault", "agent-key", "cr"]), ["create"])
    XCTAssertEqual(Set(try complete(sandbox, script, ["vault", "show", ""])), ["OPENAI_MAIN", "OPENAI_DEV"])
    XCTAssertEqual(try complete(sandbox, script, ["vault", "run", "--key", "OPENAI_D"]), ["OPENAI_DEV"])
    XCTAssertEqual(try complete(sandbox, script, ["vault", "agent-key", "revoke", "supp"]), ["support-bot"])
    XCTAssertEqual(try complete(sandbox, script, ["vault", "edit", "X", "--def"]), ["--default"])
    XCTAssertEqual(try complete(sandbox, script, ["vault", "add", ""]), [], "a new name completes to nothing")
    let names = try sandbox.run(["completion", "--list", "keys"], environment: noPassphrase)
    XCTAssertEqual(names.stdoutText, "OPENAI_MAIN\nOPENAI_DEV\n")
  }

  /// Every option that `vault help CMD` documents is offered by each shell's script.
  func testEveryScriptOffersEveryOptionOfTheHelp() throws {
    let sandbox = try VaultSandbox()
    let bash = try sandbox.run(["completion", "bash"]).stdoutText
    let zsh = try sandbox.run(["completion", "zsh"]).stdoutText
    let fish = try sandbox.run(["completion", "fish"]).stdoutText
    XCTAssertTrue(zsh.hasPrefix("#compdef vault\n"), zsh)
    for command in Self.commands {
      let help = try sandbox.run(["help"] + command.split(separator: " ").map(String.init)).stdoutText
      let options = help.split(separator: "\n").compactMap { line -> String? in
        guard let range = line.range(of: #"--[a-z-]+"#, options: .regularExpression), line.hasPrefix("  ") else {
          return nil
        }
        return String(line[range])
      }
      XCTAssertFalse(options.isEmpty, command)
      let bashLine = bash.split(separator: "\n").first { $0.contains("\"\(command)\") opts=") } ?? ""
      for option in options {
        XCTAssertTrue(bashLine.contains(option + " ") || bashLine.contains(option + "\""), "bash: \(command) \(option)")
        XCTAssertTrue(fish.contains("-l \(option.dropFirst(2))"), "fish: \(command) \(option)")
      }
    }
    XCTAssertTrue(zsh.contains("complete -F _vault vault"))
    for (shell, script) in [("zsh", zsh), ("fish", fish), ("bash", bash)] {
      let path = sandbox.root + "/script." + shell
      try writeFile(path, Array(script.utf8), mode: 0o600)
      let check = try VaultSandbox.runTool(["/usr/bin/env", shell, "-n", path])
      if check.status == 127 { continue }  // that shell is not installed here
      XCTAssertEqual(check.status, 0, "\(shell) -n: \(check.stderrText)")
    }
    assertFailure(try sandbox.run(["completion", "tcsh"]), 65, mentioning: ["bash, zsh or fish"])
  }

  /// docs/vault.1 is what `vault help --man` prints; regenerate with VAULT_REGENERATE_DOCS=1.
  func testTheCommittedManPageIsTheGeneratedOne() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["help", "--man"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    let path = Self.docs.appendingPathComponent("vault.1")
    if ProcessInfo.processInfo.environment["VAULT_REGENERATE_DOCS"] == "1" {
      try Data(result.stdout).write(to: path)
      return
    }
    let committed = try String(contentsOf: path, encoding: .utf8)
    XCTAssertEqual(committed, result.stdoutText, "docs/vault.1 is out of date; run with VAULT_REGENERATE_DOCS=1")
    for command in Self.commands { XCTAssertTrue(committed.contains(".SS \"vault \(command)\""), command) }
    // groff, when installed, reads it without a warning.
    let check = try VaultSandbox.runTool(["/usr/bin/env", "groff", "-man", "-Tutf8", "-ww", "-z", path.path])
    if check.status != 127 { XCTAssertEqual(check.stderrText, "", "groff warnings") }
  }
}
