import Foundation
import VaultCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `vault env` (dotenv, shell and JSON that read back to the exact values) and `vault inject`
/// (references replaced, output 0600 and replaced atomically, no output file on any error).
final class EnvAndInjectTests: XCTestCase {
  // MARK: vault env

  /// Values that break naive quoting: quotes of both kinds, spaces at the edges, `$`,
  /// command substitutions, backslashes, newlines, tabs, `#`, non-ASCII.
  private static let trickyValues: [(name: String, options: [String], value: String)] = [
    ("PLAIN_KEY", ["--provider", "openai"], "sk-plain-0123456789abcdef"),
    (
      "TRICKY_KEY", [],
      "it's \"quoted\" $HOME ${HOME} $(touch PWNED) `touch PWNED` \\back\\slash \\n \\\nsecond line # not a comment"
    ),
    ("SPACES_KEY", [], "  edge spaces\tand a tab  "),
    ("UNICODE_KEY", ["--env", "UNI_VAR"], "ключ-é-🔑-'single'-\"double\"-="),
    ("CONTROL_KEY", [], "carriage\rreturn and \u{1} and = and '' and #hash"),
  ]

  private func makeTrickyFixture() throws -> (fixture: RunFixture, expected: [String: String]) {
    var fixture = try RunFixture([])
    for (name, options, value) in Self.trickyValues {
      try fixture.add(name, options, value: value)
    }
    var expected: [String: String] = [:]
    for (name, _, value) in Self.trickyValues { expected[name] = value }
    expected["OPENAI_API_KEY"] = expected["PLAIN_KEY"]
    expected["UNI_VAR"] = expected["UNICODE_KEY"]
    return (fixture, expected)
  }

  /// Values every dotenv reader reads back as written bare: punctuation, quotes and backslashes
  /// inside, `=`, spaces inside, non-ASCII (whitespace too) inside.
  private static let portableValues: [(name: String, options: [String], value: String)] = [
    ("PLAIN_KEY", ["--provider", "openai"], "sk-plain-0123456789abcdef"),
    ("PUNCT_KEY", [], "sk-AZaz09_-.+/=:@%!,;~^&*()[]{}<>?|"),
    ("QUOTES_KEY", [], "in 'single' \"double\" `tick` back\\slash \\n literal end"),
    (
      "UNICODE_KEY", ["--env", "UNI_VAR"],
      "k-\u{043A}\u{043B}\u{044E}\u{0447}-\u{00E9}-\u{1F511}-\u{2028}\u{85}\u{A0}-z"
    ),
    ("EQUALS_KEY", [], "a=b=="),
  ]

  private func makePortableFixture() throws -> (fixture: RunFixture, expected: [String: String], dotenv: String) {
    var fixture = try RunFixture([])
    var expected: [String: String] = [:]
    for (name, options, value) in Self.portableValues {
      try fixture.add(name, options, value: value)
      expected[name] = value
    }
    expected["OPENAI_API_KEY"] = expected["PLAIN_KEY"]
    expected["UNI_VAR"] = expected["UNICODE_KEY"]
    let result = try fixture.sandbox.run(["env", "--format", "dotenv"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    assertNoLeak(result, fixture.secrets, allowStdout: true)
    let path = fixture.sandbox.root + "/vars.env"
    try writeFile(path, result.stdout, mode: 0o600)
    // The default format is dotenv.
    XCTAssertEqual(try fixture.sandbox.run(["env"]).stdout, result.stdout)
    return (fixture, expected, path)
  }

  /// `program arguments...` with no shell; its stdout, or a skip when it is not installed.
  private func readBack(_ program: [String], skipUnless probe: [String], because: String) throws -> [UInt8] {
    let check = Process()
    check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    check.arguments = probe
    check.standardOutput = FileHandle.nullDevice
    check.standardError = FileHandle.nullDevice
    try check.run()
    check.waitUntilExit()
    if check.terminationStatus != 0 { throw XCTSkip(because) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = program
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let bytes = [UInt8](output.fileHandleForReading.readDataToEndOfFile())
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, "\(program[0]) failed")
    return bytes
  }

  func testDotenvReadsBackUnchangedInPythonDotenv() throws {
    let (fixture, expected, path) = try makePortableFixture()
    defer { withExtendedLifetime(fixture) {} }
    let output = try readBack(
      ["python3", "-c", "import json, sys, dotenv; print(json.dumps(dotenv.dotenv_values(sys.argv[1])))", path],
      skipUnless: ["python3", "-c", "import dotenv"],
      because: "python-dotenv is not installed (pip install python-dotenv); this reader is not checked")
    assertSameSecret(
      try JSONSerialization.jsonObject(with: Data(output)) as? [String: String], expected, "python-dotenv read back")
  }

  func testDotenvReadsBackUnchangedInNodesEnvFileParser() throws {
    let (fixture, expected, path) = try makePortableFixture()
    defer { withExtendedLifetime(fixture) {} }
    // util.parseEnv is the parser of `node --env-file` (Node 20.12 and later).
    let output = try readBack(
      [
        "node", "-e",
        "const fs = require('fs'); const util = require('util');"
          + "console.log(JSON.stringify(util.parseEnv(fs.readFileSync(process.argv[1], 'utf8'))))", path,
      ],
      skipUnless: ["node", "-e", "if (typeof require('util').parseEnv !== 'function') process.exit(1)"],
      because: "node with util.parseEnv (20.12 or later) is not installed; this reader is not checked")
    assertSameSecret(
      try JSONSerialization.jsonObject(with: Data(output)) as? [String: String], expected, "node --env-file read back")
  }

  /// The npm `dotenv` package's documented rule for a value without quotes: the rest of the line
  /// up to a `#`, whitespace trimmed from both ends; a value that then starts and ends with the
  /// same quote loses them. (Not runnable here without the package; this is its rule, checked.)
  func testDotenvReadsBackUnchangedUnderTheNpmDotenvRule() throws {
    let (fixture, expected, path) = try makePortableFixture()
    defer { withExtendedLifetime(fixture) {} }
    var parsed: [String: String] = [:]
    for line in String(decoding: try readFile(path), as: UTF8.self).split(separator: "\n") {
      guard let equals = line.firstIndex(of: "=") else { continue }
      let name = line[..<equals].trimmingCharacters(in: .whitespaces)
      var value = String(line[line.index(after: equals)...].prefix { $0 != "#" }).trimmingCharacters(
        in: .whitespacesAndNewlines)
      if let first = value.first, "'\"`".contains(first), value.count >= 2, value.last == first {
        value = String(value.dropFirst().dropLast())
      }
      parsed[name] = value
    }
    assertSameSecret(parsed, expected, "the npm dotenv rule")
  }

  /// docker's documented `--env-file` rule: blank lines and lines starting with `#` are skipped;
  /// otherwise the name is up to the first `=` and the value is the rest of the line, literally
  /// (no quotes removed, no trimming, no expansion).
  func testDotenvReadsBackUnchangedUnderTheDockerEnvFileRule() throws {
    let (fixture, expected, path) = try makePortableFixture()
    defer { withExtendedLifetime(fixture) {} }
    var parsed: [String: String] = [:]
    for line in String(decoding: try readFile(path), as: UTF8.self).split(separator: "\n") {
      let trimmed = line.drop { $0 == " " || $0 == "\t" }
      guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
      parsed[String(trimmed[..<equals])] = String(trimmed[trimmed.index(after: equals)...])
    }
    assertSameSecret(parsed, expected, "the docker --env-file rule")
  }

  func testDotenvReadsBackUnchangedInVaultImport() throws {
    let (fixture, expected, path) = try makePortableFixture()
    let entries = try DotEnvParser.parse(try readFile(path))
    var parsed: [String: String] = [:]
    for entry in entries { parsed[entry.name] = String(decoding: entry.value, as: UTF8.self) }
    assertSameSecret(parsed, expected, "vault import's reader")
    XCTAssertEqual(entries.count, expected.count, "a variable printed twice")
    withExtendedLifetime(fixture) {}
  }

  /// A value some reader would change (expand `$`, cut at `#`, strip quotes or edge spaces, end
  /// at a newline) is refused: one error line naming the variable, not the value, nothing on
  /// stdout. shell and json still carry it.
  func testDotenvRefusesAValueSomeReaderWouldChange() throws {
    let (fixture, _) = try makeTrickyFixture()
    for (name, _, value) in Self.trickyValues {
      let result = try fixture.sandbox.run(["env", "--format", "dotenv", "--key", name])
      if name == "PLAIN_KEY" {
        XCTAssertEqual(result.status, 0, result.stderrText)
        continue
      }
      // Not assertFailure: it would show stdout, which is the value, if this ever failed.
      XCTAssertEqual(result.status, 65, "\(name): \(result.stderrText)")
      XCTAssertTrue(result.stdout.isEmpty, "\(name): something was printed (not shown)")
      XCTAssertEqual(Robust.errorLineCount(result), 1, name)
      XCTAssertTrue(
        result.stderrText.contains(name) && result.stderrText.contains("--format shell"), result.stderrText)
      assertNoLeak(result, [value])
    }
    for value in ["a${HOME}b", "a#b", "'quoted'", "edge ", " edge", "\u{A0}nbsp", "line\nbreak", "cr\rx"] {
      var single = try RunFixture([])
      try single.add("ONE_KEY", [], value: value)
      let result = try single.sandbox.run(["env", "--format", "dotenv"])
      XCTAssertEqual(result.status, 65, "a value with \(value.unicodeScalars.count) scalars was written")
      XCTAssertTrue(result.stdout.isEmpty, "a value was printed (not shown)")
    }
  }

  func testJSONOutputParsesBackToTheExactValues() throws {
    let (fixture, expected) = try makeTrickyFixture()
    let result = try fixture.sandbox.run(["env", "--format", "json"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    assertNoLeak(result, fixture.secrets, allowStdout: true)
    let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout))
    assertSameSecret(parsed as? [String: String], expected, "JSON parsed back")
  }

  func testShellOutputEvaluatesToTheExactValuesAndRunsNothing() throws {
    let (fixture, expected) = try makeTrickyFixture()
    let sandbox = fixture.sandbox
    let result = try sandbox.run(["env", "--format", "shell"])
    XCTAssertEqual(result.status, 0, result.stderrText)
    assertNoLeak(result, fixture.secrets, allowStdout: true)
    let path = sandbox.root + "/vars.sh"
    try writeFile(path, result.stdout, mode: 0o600)
    let workDirectory = sandbox.root + "/work"
    try makeDirectory(workDirectory)
    for (name, value) in expected {
      let shell = try RunKit.shell(
        "cd \"$2\" && eval \"$(cat \"$1\")\" && printf %s \"$\(name)\"", [path, workDirectory],
        environment: ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"])
      XCTAssertEqual(shell.status, 0, name)
      assertSameSecret(String(decoding: shell.stdout, as: UTF8.self), value, name)
    }
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: workDirectory), [], "evaluating the output ran a command")
    // The variables are exported, so a program started after the eval sees them too.
    let exported = try RunKit.shell(
      "eval \"$(cat \"$1\")\" && /usr/bin/env -0", [path], environment: ["PATH": "/usr/bin:/bin"])
    let child = RunKit.environment(exported.stdout)
    for (name, value) in expected { assertSameSecret(child[name], value, "exported \(name)") }
  }

  func testEnvHonoursSelectorsAgentScopeAndConflicts() throws {
    var fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let selected = try sandbox.run(["env", "--format", "json", "--key", "CUSTOM_KEY"])
    XCTAssertEqual(selected.status, 0, selected.stderrText)
    assertSameSecret(
      try JSONSerialization.jsonObject(with: Data(selected.stdout)) as? [String: String],
      ["CUSTOM_KEY": fixture.values["CUSTOM_KEY"]!, "MY_VAR": fixture.values["CUSTOM_KEY"]!], "env --key CUSTOM_KEY")

    let token = try fixture.agentToken("env-bot", ["--provider", "anthropic"])
    let scoped = try sandbox.run(["env", "--format", "json"], environment: RunFixture.agentEnvironment(token))
    XCTAssertEqual(scoped.status, 0, scoped.stderrText)
    assertSameSecret(
      try JSONSerialization.jsonObject(with: Data(scoped.stdout)) as? [String: String],
      ["ANTHROPIC_MAIN": fixture.values["ANTHROPIC_MAIN"]!, "ANTHROPIC_API_KEY": fixture.values["ANTHROPIC_MAIN"]!],
      "env with an anthropic agent key")
    assertNoLeak(scoped, [token])

    let denied = try sandbox.run(
      ["env", "--key", "OPENAI_MAIN"], environment: RunFixture.agentEnvironment(token))
    assertFailure(denied, 12, mentioning: ["permission denied"])
    assertNoLeak(denied, fixture.secrets + [token])

    let badFormat = try sandbox.run(["env", "--format", "yaml"])
    assertFailure(badFormat, 65, mentioning: ["yaml"])

    try fixture.add("OPENAI_MINI", ["--provider", "openai", "--env", "MY_VAR"])
    let conflict = try sandbox.run(["env", "--format", "dotenv"])
    assertFailure(conflict, 14, mentioning: ["CUSTOM_KEY", "OPENAI_MINI", "--key"])
    assertNoLeak(conflict, fixture.secrets)
  }

  // MARK: vault inject

  private static let templateText = """
    model_list:
      - api_key: "{{ vault://OPENAI_MAIN }}"
      - api_key: '{{vault://ANTHROPIC_MAIN}}'
      - tabs: {{\tvault://OPENAI_MAIN\t}}
      - untouched: {{ not_vault }} {{ other://X }} { vault://OPENAI_MAIN } vault://OPENAI_MAIN
    """

  private func rendered(_ fixture: RunFixture) -> String {
    let openai = fixture.values["OPENAI_MAIN"]!
    let anthropic = fixture.values["ANTHROPIC_MAIN"]!
    return """
      model_list:
        - api_key: "\(openai)"
        - api_key: '\(anthropic)'
        - tabs: \(openai)
        - untouched: {{ not_vault }} {{ other://X }} { vault://OPENAI_MAIN } vault://OPENAI_MAIN
      """
  }

  func testInjectReplacesReferencesAndWritesAFileOfMode0600() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let template = sandbox.root + "/litellm.template.yaml"
    let output = sandbox.root + "/litellm.yaml"
    try writeFile(template, Array(Self.templateText.utf8), mode: 0o644)
    let previous = umask(0o022)
    defer { umask(previous) }
    let result = try sandbox.run(["inject", "-i", template, "-o", output])
    XCTAssertEqual(result.status, 0, result.stderrText)
    XCTAssertEqual(result.stdoutText, "")
    assertNoLeak(result, fixture.secrets)
    assertSameSecret(String(decoding: try readFile(output), as: UTF8.self), rendered(fixture), "the output file")
    XCTAssertEqual(fileMode(output), 0o600)
    XCTAssertEqual(fileType(output), S_IFREG)

    // Without -o: standard output, exactly; from standard input with -i -.
    let toStdout = try sandbox.run(["inject", "--in", template])
    XCTAssertEqual(toStdout.status, 0, toStdout.stderrText)
    assertSameSecret(toStdout.stdoutText, rendered(fixture), "stdout")
    assertNoLeak(RunResult(status: 0, stdout: [], stderr: toStdout.stderr), fixture.secrets)
    let fromStdin = try sandbox.run(["inject", "-i", "-"], stdin: Array(Self.templateText.utf8))
    XCTAssertEqual(fromStdin.status, 0, fromStdin.stderrText)
    assertSameSecret(fromStdin.stdoutText, rendered(fixture), "from stdin")
  }

  func testInjectWithAnAgentKeyReadsItsScopeAndRefusesTheRest() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let token = try fixture.agentToken("litellm", ["--key", "OPENAI_MAIN", "--key", "ANTHROPIC_MAIN"])
    let narrow = try fixture.agentToken("narrow", ["--key", "OPENAI_MAIN"])
    let template = sandbox.root + "/template"
    let output = sandbox.root + "/out.yaml"
    try writeFile(template, Array(Self.templateText.utf8), mode: 0o600)

    let allowed = try sandbox.run(
      ["inject", "-i", template, "-o", output], environment: RunFixture.agentEnvironment(token))
    XCTAssertEqual(allowed.status, 0, allowed.stderrText)
    assertSameSecret(String(decoding: try readFile(output), as: UTF8.self), rendered(fixture), "the output file")
    assertNoLeak(allowed, fixture.secrets + [token])

    let deniedOutput = sandbox.root + "/denied.yaml"
    let denied = try sandbox.run(
      ["inject", "-i", template, "-o", deniedOutput], environment: RunFixture.agentEnvironment(narrow))
    assertFailure(denied, 12, mentioning: ["permission denied", "ANTHROPIC_MAIN"])
    assertNoLeak(denied, fixture.secrets + [narrow])
    XCTAssertFalse(fileExists(deniedOutput), "an output file was left after a refused reference")
    XCTAssertEqual(
      Robust.temporaryFiles(besides: deniedOutput), [], "a temporary file was left beside the output")
  }

  func testAnUnknownReferenceFailsAndLeavesNoOutputFile() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let template = sandbox.root + "/template"
    try writeFile(
      template, Array("a: {{ vault://OPENAI_MAIN }}\nb: {{ vault://NO_SUCH_KEY }}\n".utf8), mode: 0o600)
    let output = sandbox.root + "/out.yaml"
    let result = try sandbox.run(["inject", "-i", template, "-o", output])
    assertFailure(result, 3, mentioning: ["NO_SUCH_KEY"])
    assertNoLeak(result, fixture.secrets)
    XCTAssertFalse(fileExists(output), "an output file was left after an unknown reference")

    // An existing output file is left as it was.
    try writeFile(output, Array("old\n".utf8), mode: 0o640)
    let inode = RunKit.inode(output)
    let again = try sandbox.run(["inject", "-i", template, "-o", output])
    assertFailure(again, 3)
    XCTAssertEqual(try readFile(output), Array("old\n".utf8))
    XCTAssertEqual(RunKit.inode(output), inode)
    XCTAssertEqual(fileMode(output), 0o640)
  }

  /// `-o` never replaces the vault's own files (by name, through another directory path, or by
  /// a hard link), a symlink, a device, a FIFO, a directory or another user's file: exit 9, one
  /// error line, nothing changed, and no passphrase asked for first.
  func testInjectRefusesTheVaultsOwnFilesAndAnythingNotARegularFileOfTheCaller() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let template = sandbox.root + "/template"
    try writeFile(template, Array("a: {{ vault://OPENAI_MAIN }}\n".utf8), mode: 0o600)
    // A use, so the state file and its lock exist too.
    XCTAssertEqual(try sandbox.run(["inject", "-i", template, "-o", sandbox.root + "/fine.yaml"]).status, 0)
    let vault = sandbox.vaultPath
    let data = sandbox.root + "/data"
    XCTAssertEqual(symlink(data, sandbox.root + "/alias"), 0)
    XCTAssertEqual(link(vault, sandbox.root + "/hard-link-to-vault"), 0)
    let bystander = sandbox.root + "/bystander"
    try writeFile(bystander, Array("keep me\n".utf8), mode: 0o600)
    XCTAssertEqual(symlink(bystander, sandbox.root + "/symlink"), 0)
    XCTAssertEqual(symlink(sandbox.root + "/nowhere", sandbox.root + "/dangling"), 0)
    XCTAssertEqual(mkfifo(sandbox.root + "/fifo", 0o600), 0)
    try makeDirectory(sandbox.root + "/directory")
    var targets = [
      vault, vault + ".lock", vault + ".state", vault + ".state.lock", vault + ".state.log",
      vault + ".state.bad", vault + ".state.log.bad", data + "/.vault.json.tmp-1-0123456789abcdef",
      data + "/.vault.json.state.tmp-1-0123456789abcdef", data + "/.vault.json.state.log.tmp-1-0123456789abcdef",
      sandbox.root + "/alias/vault.json", sandbox.root + "/alias/vault.json.lock", sandbox.root + "/hard-link-to-vault",
      sandbox.root + "/symlink", sandbox.root + "/dangling", sandbox.root + "/fifo", sandbox.root + "/directory",
      "/dev/null",
    ]
    if geteuid() == 0 {
      let foreign = sandbox.root + "/foreign"
      try writeFile(foreign, Array("theirs\n".utf8), mode: 0o600)
      XCTAssertEqual(chown(foreign, 65_534, 65_534), 0)
      targets.append(foreign)
    }
    func snapshot(_ path: String) -> String {
      var status = stat()
      guard lstat(path, &status) == 0 else { return "absent" }
      let bytes = status.st_mode & S_IFMT == S_IFREG ? (try? readFile(path)) ?? [] : []
      return "\(status.st_mode) \(status.st_ino) \(status.st_uid) \(Robust.hexSHA256(bytes))"
    }
    for target in targets {
      let before = [target, bystander].map(snapshot)
      // No passphrase anywhere: the refusal must come before one is needed.
      let result = try sandbox.assertUnchanged {
        try sandbox.run(["inject", "-i", template, "-o", target], environment: noPassphrase)
      }
      XCTAssertEqual(result.status, 9, "\(target): \(result.stderrText)")
      XCTAssertEqual(Robust.errorLineCount(result), 1, target)
      XCTAssertTrue(result.stderrText.contains("refusing to write"), "\(target): \(result.stderrText)")
      XCTAssertEqual([target, bystander].map(snapshot), before, "\(target) was changed")
      assertNoLeak(result, fixture.secrets)
    }
    // With the passphrase the answer is the same, and the vault still opens.
    let withPassphrase = try sandbox.run(["inject", "-i", template, "-o", vault])
    XCTAssertEqual(withPassphrase.status, 9, withPassphrase.stderrText)
    XCTAssertEqual(try sandbox.run(["verify"]).status, 0)
  }

  func testMalformedReferencesAreInvalidInput() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let output = sandbox.root + "/out.yaml"
    let templates = [
      "key: {{ vault://bad-name }}\n",
      "key: {{ vault://OPENAI_MAIN }\n",
      "key: {{ vault:// }}\n",
      "key: {{ vault://OPENAI_MAIN extra }}\n",
      "ok: {{ vault://OPENAI_MAIN }}\nkey: {{ vault://9STARTS_WITH_DIGIT }}\n",
    ]
    for text in templates {
      let template = sandbox.root + "/template"
      try writeFile(template, Array(text.utf8), mode: 0o600)
      let result = try sandbox.run(["inject", "-i", template, "-o", output])
      assertFailure(result, 65)
      XCTAssertEqual(result.status, 65, text)
      assertNoLeak(result, fixture.secrets)
      XCTAssertFalse(fileExists(output), "an output file was left for \(text.debugDescription)")
    }
  }

  func testAnExistingOutputIsReplacedAtomically() throws {
    let fixture = try RunFixture()
    let sandbox = fixture.sandbox
    let output = sandbox.root + "/out.yaml"
    let value = fixture.values["OPENAI_MAIN"]!
    // Large enough that a write in place would be seen half done.
    let old = [UInt8](repeating: UInt8(ascii: "B"), count: 1 << 20)
    try writeFile(output, old, mode: 0o644)
    let oldInode = RunKit.inode(output)
    // A second link keeps the old inode allocated, so a later file cannot reuse its number.
    XCTAssertEqual(link(output, sandbox.root + "/old-output-link"), 0)
    var templates: [String] = []
    var outcomes: Set<[UInt8]> = [old]
    for (index, filler) in ["A", "C"].enumerated() {
      let body = String(repeating: filler, count: 1 << 20)
      let template = sandbox.root + "/template\(index)"
      try writeFile(template, Array((body + "{{ vault://OPENAI_MAIN }}\n").utf8), mode: 0o600)
      templates.append(template)
      outcomes.insert(Array((body + value + "\n").utf8))
    }
    let expected = outcomes
    let shared = Robust.Unchecked(value: sandbox)
    let writing = Robust.Locked(true)
    let torn = Robust.Locked(0)
    let reads = Robust.Locked(0)
    let failures = Robust.Locked([String]())
    let templateList = templates
    Robust.onThreads(2) { worker in
      if worker == 0 {
        for round in 0..<6 {
          let result = try? shared.value.run(["inject", "-i", templateList[round % 2], "-o", output])
          if result?.status != 0 { failures.update { $0.append("inject: \(result?.stderrText ?? "did not run")") } }
        }
        writing.update { $0 = false }
      } else {
        while writing.value {
          guard let data = FileManager.default.contents(atPath: output) else {
            failures.update { $0.append("the output file was missing during a replacement") }
            continue
          }
          reads.update { $0 += 1 }
          if !expected.contains([UInt8](data)) { torn.update { $0 += 1 } }
        }
      }
    }
    XCTAssertEqual(failures.value, [])
    XCTAssertEqual(torn.value, 0, "a reader saw a partial file (\(reads.value) reads)")
    XCTAssertGreaterThan(reads.value, 0)
    XCTAssertNotEqual(RunKit.inode(output), oldInode, "the file was written in place")
    XCTAssertEqual(fileMode(output), 0o600, "the replaced file is not 0600")
    assertSameSecret(
      try readFile(output), Array((String(repeating: "C", count: 1 << 20) + value + "\n").utf8), "the last output")
    XCTAssertEqual(Robust.temporaryFiles(besides: output), [], "a temporary file was left beside the output")
  }

  func testATemplateMayReferenceTwoKeysOfOneProvider() throws {
    // LiteLLM configs routinely list several deployments of one provider. inject sets no
    // environment variables, so two openai keys claim nothing from each other.
    var fixture = try RunFixture()
    try fixture.add("OPENAI_MINI", ["--provider", "openai", "--model", "gpt-4o-mini"])
    let sandbox = fixture.sandbox
    let template = sandbox.root + "/template"
    try writeFile(
      template, Array("main: {{ vault://OPENAI_MAIN }}\nmini: {{ vault://OPENAI_MINI }}\n".utf8), mode: 0o600)
    let output = sandbox.root + "/out.yaml"
    let result = try sandbox.run(["inject", "-i", template, "-o", output])
    XCTAssertEqual(result.status, 0, "inject: \(result.stderrText)")
    assertNoLeak(result, fixture.secrets)
    assertSameSecret(
      String(decoding: (try? readFile(output)) ?? [], as: UTF8.self),
      "main: \(fixture.values["OPENAI_MAIN"]!)\nmini: \(fixture.values["OPENAI_MINI"]!)\n", "the output file")
  }

  func testATemplateWithoutReferencesIsCopiedAsIs() throws {
    var fixture = try RunFixture()
    // Two keys that would conflict in `vault run`; a template that reads no key needs neither.
    try fixture.add("OPENAI_MINI", ["--provider", "openai"])
    let sandbox = fixture.sandbox
    let text = "model_list: []\n# {{ not a reference }}\n"
    let result = try sandbox.run(["inject", "-i", "-"], stdin: Array(text.utf8))
    XCTAssertEqual(result.status, 0, "inject: \(result.stderrText)")
    XCTAssertEqual(result.stdoutText, text)
    assertNoLeak(result, fixture.secrets)
  }
}
