import Foundation
import XCTest

/// Help text, the version, and how command-line mistakes are reported.
final class HelpAndUsageTests: XCTestCase {
  private static let subcommands = [
    "init", "add", "list", "search", "show", "get", "edit", "link", "unlink", "rm", "import", "passwd", "verify",
    "doctor",
  ]

  private func assertHelp(_ result: RunResult, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(result.status, 0, result.stderrText, file: file, line: line)
    XCTAssertEqual(result.stderrText, "", file: file, line: line)
    for section in ["OVERVIEW:", "USAGE:", "OPTIONS:"] {
      XCTAssertTrue(result.stdoutText.contains(section), "no \(section): \(result.stdoutText)", file: file, line: line)
    }
  }

  func testTopLevelHelpListsEverySubcommand() throws {
    let sandbox = try VaultSandbox()
    let long = try sandbox.run(["--help"])
    assertHelp(long)
    for name in Self.subcommands {
      XCTAssertTrue(
        long.stdoutText.split(separator: "\n").contains {
          $0.trimmingCharacters(in: .whitespaces).hasPrefix(name + " ")
        },
        "--help does not list \(name)")
    }
    XCTAssertTrue(long.stdoutText.contains("--file"))
    XCTAssertTrue(long.stdoutText.contains("--version"))
    let short = try sandbox.run(["-h"])
    assertHelp(short)
    XCTAssertEqual(short.stdout, long.stdout)
    let word = try sandbox.run(["help"])
    assertHelp(word)
    XCTAssertEqual(word.stdout, long.stdout)
  }

  func testHelpForACommandMatchesItsHelpFlag() throws {
    let sandbox = try VaultSandbox()
    let viaHelp = try sandbox.run(["help", "add"])
    assertHelp(viaHelp)
    XCTAssertTrue(viaHelp.stdoutText.contains("USAGE: vault add"), viaHelp.stdoutText)
    for option in ["--provider", "--model", "--env", "--file", "--help"] {
      XCTAssertTrue(viaHelp.stdoutText.contains(option), "add help lacks \(option)")
    }
    let viaFlag = try sandbox.run(["add", "--help"])
    assertHelp(viaFlag)
    XCTAssertEqual(viaFlag.stdout, viaHelp.stdout)
    let viaShortFlag = try sandbox.run(["add", "-h"])
    XCTAssertEqual(viaShortFlag.stdout, viaHelp.stdout)
  }

  func testEveryCommandHasHelp() throws {
    let sandbox = try VaultSandbox()
    for name in Self.subcommands {
      let result = try sandbox.run(["help", name])
      assertHelp(result)
      XCTAssertTrue(result.stdoutText.contains("USAGE: vault \(name)"), "\(name): \(result.stdoutText)")
      let flag = try sandbox.run([name, "--help"], environment: noPassphrase)
      XCTAssertEqual(flag.status, 0, "\(name) --help: \(flag.stderrText)")
      XCTAssertEqual(flag.stdout, result.stdout, name)
    }
  }

  func testHelpFlagNeedsNoVaultAndChangesNothing() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["rm", "SOMETHING", "--help"])
    assertHelp(result)
    let initHelp = try sandbox.run(["init", "--help"])
    assertHelp(initHelp)
    XCTAssertFalse(fileExists(sandbox.vaultPath), "'init --help' created a vault")
  }

  func testHelpForAnUnknownTopicIsAUsageError() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["help", "frobnicate"])
    assertFailure(result, 64)
    XCTAssertNotNil(hintLine(result))
  }

  func testVersion() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["--version"])
    XCTAssertEqual(result.status, 0)
    XCTAssertEqual(result.stderrText, "")
    let text = result.stdoutText
    XCTAssertNotNil(
      text.range(of: #"^vault [0-9]+\.[0-9]+\.[0-9]+\n$"#, options: .regularExpression), "version output: \(text)")
  }

  func testNoArgumentsIsAUsageErrorWithTheOverviewOnStderr() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run([])
    XCTAssertEqual(result.status, 64)
    XCTAssertEqual(result.stdoutText, "")
    XCTAssertTrue(result.stderrText.contains("USAGE:"), result.stderrText)
  }

  func testUnknownCommandIsAUsageErrorWithAHint() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["frobnicate"])
    assertFailure(result, 64, mentioning: ["frobnicate"])
    XCTAssertTrue(hintLine(result)?.contains("--help") ?? false, result.stderrText)
  }

  func testUnknownTopLevelOptionIsAUsageErrorWithAHint() throws {
    let sandbox = try VaultSandbox()
    let result = try sandbox.run(["--frobnicate"])
    assertFailure(result, 64)
    XCTAssertNotNil(hintLine(result))
  }

  func testCommandLineMistakesAreUsageErrorsWithAHint() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let value = fakeSecret()
    try sandbox.addOK("MY_API", value: value, ["--provider", "openai"])
    let mistakes: [(arguments: [String], fragment: String)] = [
      (["add", "NEW_KEY", "--bogus"], "--bogus"),  // unknown option
      (["list", "-z"], "-z"),  // unknown short option
      (["get"], "<name>"),  // missing argument
      (["show"], "<name>"),
      (["add"], "<name>"),
      (["add", "NEW_KEY", "--provider"], "--provider"),  // option without its value
      (["add", "NEW_KEY", "--provider", "openai", "--provider", "groq"], "--provider"),  // given twice
      (["list", "--json=yes"], "--json"),  // a flag with a value
      (["list", "extra"], "list"),  // extra argument
      (["rm", "MY_API", "OTHER", "--yes"], "rm"),
      (["edit", "MY_API", "--provider"], "--provider"),
      (["init", "--scrypt-log-n"], "--scrypt-log-n"),
    ]
    for (arguments, fragment) in mistakes {
      let result = try sandbox.assertUnchanged {
        try sandbox.run(arguments, stdin: Array((fakeSecret() + "\n").utf8))
      }
      assertFailure(result, 64, mentioning: [fragment])
      XCTAssertTrue(hintLine(result)?.contains("help") ?? false, "\(arguments): \(result.stderrText)")
    }
  }

  func testAStrayArgumentIsNotEchoed() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let pasted = fakeSecret()
    for arguments in [["get", "MY_API", pasted], ["add", "MY_API", pasted], ["list", pasted]] {
      let result = try sandbox.assertUnchanged { try sandbox.run(arguments) }
      assertFailure(result, 64)
      assertNoLeak(result, [pasted])
    }
  }

  func testDoubleDashEndsOptions() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    // After `--`, `--json` is the search term, not the flag: no key matches, text output.
    let result = try sandbox.run(["search", "--", "--json"], environment: noPassphrase)
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertFalse(result.stdoutText.hasPrefix("["), result.stdoutText)
  }
}
