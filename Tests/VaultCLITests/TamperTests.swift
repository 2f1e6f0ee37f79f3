import Foundation
import VaultCore
import VaultCrypto
import XCTest

/// Edits a real vault file the way a damaged disk or an attacker would, and checks that every
/// command that unlocks the vault refuses it with exit 6, prints no secret, and leaves the
/// edited file exactly as it found it.
final class TamperTests: XCTestCase {
  /// A vault of three keys that between them hold every field shape the format has: a provider
  /// and `null`, one and two models, one and two variables.
  private struct Fixture {
    let sandbox: VaultSandbox
    let original: [UInt8]
    let names: [String]
    let values: [String]
  }

  private func makeFixture() throws -> Fixture {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    let names = ["ALPHA", "BRAVO", "CHARLIE"]
    let values = [Robust.fakeSecret(), Robust.fakeSecret(), Robust.fakeSecret("sk-ant-test-")]
    let options = [
      ["--provider", "openai", "--model", "gpt-4o", "--model", "gpt-4o-mini", "--env", "OPENAI_WORK_KEY"],
      ["--provider", "anthropic", "--model", "claude-3-5-sonnet", "--env", "ANTHROPIC_KEY", "--env", "OTHER_KEY"],
      ["--model", "llama3:70b", "--env", "CHARLIE_KEY"],
    ]
    for index in names.indices {
      let result = try sandbox.add(names[index], value: values[index], options[index])
      XCTAssertEqual(result.status, 0, result.stderrText)
    }
    let original = try sandbox.readVault()
    for value in values {
      XCTAssertFalse(contains(original, Array(value.utf8)), "a value is stored in clear")
    }
    return Fixture(sandbox: sandbox, original: original, names: names, values: values)
  }

  /// The unlocked commands every tampered file is tried with: a read, a full check and a write.
  private static func unlockedCommands(name: String) -> [[String]] {
    [["get", name], ["verify"], ["link", name, "--model", "x"]]
  }

  /// Writes `tampered` to `path`, runs each command against it, and returns what went wrong:
  /// a status other than `expected`, stdout output, anything but one `vault: error:` line, a
  /// secret in the output, or a file that is no longer byte-identical to `tampered`.
  private static func problems(
    sandbox: VaultSandbox, path: String, tampered: [UInt8], commands: [[String]], expected: Set<Int32>,
    secrets: [String]
  ) throws -> [String] {
    try writeFile(path, tampered, mode: 0o600)
    var problems: [String] = []
    for arguments in commands {
      let result = try sandbox.run(arguments, environment: ["VAULT_FILE": path, "VAULT_LOCK_TIMEOUT": "60"])
      let what = arguments.joined(separator: " ")
      if !expected.contains(result.status) {
        problems.append("\(what): exit \(result.status), expected \(expected.sorted()): \(result.stderrText)")
      }
      if result.status != 0 {
        if !result.stdout.isEmpty { problems.append("\(what): printed to stdout while failing") }
        if Robust.errorLineCount(result) != 1 {
          problems.append("\(what): \(Robust.errorLineCount(result)) 'vault: error:' lines: \(result.stderrText)")
        }
      }
      for secret in secrets where contains(result.allOutput, Array(secret.utf8)) {
        problems.append("\(what): a secret value appears in the output")
      }
      if (try? readFile(path)) != tampered { problems.append("\(what): the tampered file was changed") }
    }
    return problems
  }

  /// Chooses `count` positions so that every value, every member name and the punctuation get
  /// at least one, the rest spread at random over the file.
  private func positions(
    in spans: [Robust.FieldSpan], fileLength: Int, count: Int, using generator: inout Robust.SeededGenerator
  ) -> [Int] {
    var chosen: [Int] = []
    var taken = Set<Int>()
    func take(_ position: Int) {
      if taken.insert(position).inserted { chosen.append(position) }
    }
    for span in spans where span.kind != .punctuation && span.kind != .memberName {
      take(span.range.lowerBound)
      take(Int.random(in: span.range, using: &generator))
    }
    for span in spans where span.kind == .memberName { take(Int.random(in: span.range, using: &generator)) }
    let punctuation = spans.filter { $0.kind == .punctuation }
    take(0)
    take(fileLength - 1)
    for _ in 0..<30 { take(punctuation.randomElement(using: &generator)!.range.lowerBound) }
    while chosen.count < count { take(Int.random(in: 0..<fileLength, using: &generator)) }
    return Array(chosen.prefix(count))
  }

  func testEveryEditedByteFailsEveryUnlockedCommandWithIntegrityError() throws {
    let fixture = try makeFixture()
    let original = fixture.original
    let spans = Robust.fieldSpans(original)
    XCTAssertEqual(spans.map(\.range.count).reduce(0, +), original.count, "the field map must cover every byte")
    let labelOf = { (position: Int) -> String in spans.first { $0.range.contains(position) }!.label }

    let seed: UInt64 = 0x5EED_0001
    var generator = Robust.SeededGenerator(seed: seed)
    let chosen = positions(in: spans, fileLength: original.count, count: 200, using: &generator)
    XCTAssertEqual(chosen.count, 200)

    // Every field of the file is hit: each header and record value, each member name, the
    // punctuation, the checksum and the MAC.
    let hitLabels = Set(chosen.map(labelOf))
    let valueLabels = Set(spans.filter { $0.kind != .memberName }.map(\.label))
    XCTAssertEqual(valueLabels.subtracting(hitLabels), [], "fields no position landed in")
    for label in [
      ".format", ".version", ".vault.id", ".vault.created", ".vault.generation", ".vault.kdf.name", ".vault.kdf.n",
      ".vault.kdf.r", ".vault.kdf.p", ".vault.kdf.salt", ".vault.masterKey", ".checksum", ".mac", "punctuation",
    ] {
      XCTAssertTrue(hitLabels.contains(label), "no position in \(label)")
    }
    for record in 0..<3 {
      for member in ["id", "name", "provider", "models", "env", "masked", "created", "updated", "dataKey", "value"] {
        XCTAssertTrue(hitLabels.contains(".keys[\(record)].\(member)"), "no position in keys[\(record)].\(member)")
      }
    }

    var plannedEdits: [(position: Int, byte: UInt8, label: String)] = []
    for (index, position) in chosen.enumerated() {
      let byte = Robust.replacement(
        for: original[position], label: labelOf(position), plausible: index % 3 != 2, using: &generator)
      XCTAssertNotEqual(byte, original[position])
      plannedEdits.append((position, byte, labelOf(position)))
    }
    let edits = plannedEdits

    let sandbox = Robust.Unchecked(value: fixture.sandbox)
    let commands = Self.unlockedCommands(name: fixture.names[0])
    let secrets = fixture.values
    let next = Robust.Locked(0)
    let failures = Robust.Locked([String]())
    let workers = 4
    Robust.onThreads(workers) { worker in
      let path = sandbox.value.root + "/data/tampered-\(worker).json"
      while true {
        let index = next.update { counter -> Int in
          defer { counter += 1 }
          return counter
        }
        guard index < edits.count else { return }
        let (position, byte, label) = edits[index]
        var tampered = original
        tampered[position] = byte
        let found =
          (try? Self.problems(
            sandbox: sandbox.value, path: path, tampered: tampered, commands: commands, expected: [6],
            secrets: secrets)) ?? ["could not run the commands"]
        if !found.isEmpty {
          let change = String(format: "0x%02x -> 0x%02x", original[position], byte)
          failures.update { $0 += found.map { "byte \(position) (\(label), \(change)): \($0)" } }
        }
      }
    }
    let all = failures.value
    XCTAssertTrue(
      all.isEmpty, "\(all.count) problems (seed \(seed)):\n" + all.prefix(25).joined(separator: "\n"))
    // The pristine file still opens: every failure above was the edit's doing.
    let verify = try fixture.sandbox.run(["verify"])
    XCTAssertEqual(verify.status, 0, verify.stderrText)
  }

  /// One plausible edit per field with the checksum recomputed, so only the keyed MAC (or the
  /// master key's tag) can notice. Fields that feed the key-encryption key (the KDF settings,
  /// the sealed master key, and the vault id bound into its associated data) are an exception:
  /// an edit there makes the master key fail to open, which is indistinguishable from a wrong
  /// passphrase, and FORMAT.md documents that a tag failure on `masterKey` is reported as one
  /// (exit 5). Everything else must be exit 6.
  func testFieldEditsWithRecomputedChecksumAreCaughtByTheMAC() throws {
    let fixture = try makeFixture()
    let original = fixture.original
    let spans = Robust.fieldSpans(original)
    var generator = Robust.SeededGenerator(seed: 0x5EED_0002)
    let keyingFields: Set<String> = [
      ".vault.id", ".vault.kdf.n", ".vault.kdf.r", ".vault.kdf.p", ".vault.kdf.salt", ".vault.masterKey",
    ]
    var seen = Set<String>()
    var planned: [(label: String, tampered: [UInt8], name: String)] = []
    for span in spans where span.kind != .punctuation && span.kind != .memberName {
      guard !seen.contains(span.label), ![".format", ".version", ".checksum", ".mac"].contains(span.label) else {
        continue
      }
      seen.insert(span.label)
      let position = Int.random(in: span.range, using: &generator)
      var tampered = original
      tampered[position] = Robust.replacement(
        for: original[position], label: span.label, plausible: true, using: &generator)
      // Ask for a key whose name the edit left alone, so the command gets as far as unlocking.
      let name = span.label == ".keys[0].name" ? fixture.names[1] : fixture.names[0]
      planned.append((span.label, Robust.recomputingChecksum(tampered), name))
    }
    let cases = planned
    XCTAssertEqual(cases.count, 10 + 30, "every header (with settings.agentKeyLimit) and record field is edited once")

    let sandbox = Robust.Unchecked(value: fixture.sandbox)
    let secrets = fixture.values
    let failures = Robust.Locked([String]())
    let next = Robust.Locked(0)
    Robust.onThreads(3) { worker in
      let path = sandbox.value.root + "/data/recomputed-\(worker).json"
      while true {
        let index = next.update { counter -> Int in
          defer { counter += 1 }
          return counter
        }
        guard index < cases.count else { return }
        let item = cases[index]
        let expected: Set<Int32> = keyingFields.contains(item.label) ? [5, 6] : [6]
        let found =
          (try? Self.problems(
            sandbox: sandbox.value, path: path, tampered: item.tampered,
            commands: Self.unlockedCommands(name: item.name),
            expected: expected, secrets: secrets)) ?? ["could not run the commands"]
        failures.update { $0 += found.map { "\(item.label): \($0)" } }
      }
    }
    let all = failures.value
    XCTAssertTrue(all.isEmpty, "\(all.count) problems:\n" + all.prefix(25).joined(separator: "\n"))
  }

  /// Whole record lines removed, duplicated or swapped, the checksum recomputed each time.
  func testRecordLinesRemovedDuplicatedOrSwappedAreCaughtByTheMAC() throws {
    let fixture = try makeFixture()
    let layout = try Robust.RecordLines(fixture.original)
    XCTAssertEqual(layout.records.count, 3)
    XCTAssertEqual(layout.bytes, fixture.original, "the line model must rebuild the file exactly")
    let (a, b, c) = (layout.records[0], layout.records[1], layout.records[2])
    let variants: [(String, [[UInt8]], survivor: String)] = [
      ("remove the middle record", [a, c], "ALPHA"),
      ("remove the first record", [b, c], "CHARLIE"),
      ("remove the last record", [a, b], "ALPHA"),
      ("duplicate the first record", [a, a, b, c], "BRAVO"),
      ("duplicate the last record", [a, b, c, c], "ALPHA"),
      ("swap the first two records", [b, a, c], "ALPHA"),
      ("swap the last two records", [a, c, b], "CHARLIE"),
      ("reverse the records", [c, b, a], "BRAVO"),
    ]
    let path = fixture.sandbox.root + "/data/lines.json"
    var failures: [String] = []
    for (what, records, survivor) in variants {
      var edited = layout
      edited.records = records
      let tampered = Robust.recomputingChecksum(edited.bytes)
      XCTAssertNotEqual(tampered, fixture.original)
      failures += try Self.problems(
        sandbox: fixture.sandbox, path: path, tampered: tampered, commands: Self.unlockedCommands(name: survivor),
        expected: [6], secrets: fixture.values
      ).map { "\(what): \($0)" }
    }
    // All records gone: `get` and `link` stop at "no such key" before unlocking (see the next
    // test), `verify` unlocks and must notice.
    var emptied = layout
    emptied.records = []
    failures += try Self.problems(
      sandbox: fixture.sandbox, path: path, tampered: Robust.recomputingChecksum(emptied.bytes), commands: [["verify"]],
      expected: [6], secrets: fixture.values
    ).map { "remove every record: \($0)" }
    XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
  }

  /// Documents an exception to "any edit is exit 6": `get`, `link` and `rm` look the name up in
  /// the checksummed metadata before asking for the passphrase (so a typo costs no scrypt), so
  /// for a record an attacker removed they report the documented "no such key" (exit 3). They
  /// never unlock, never print a value and never write. `verify` still reports the edit.
  func testRemovedRecordIsReportedAsNotFoundBeforeUnlocking() throws {
    let fixture = try makeFixture()
    var layout = try Robust.RecordLines(fixture.original)
    layout.records.remove(at: 1)
    let tampered = Robust.recomputingChecksum(layout.bytes)
    let path = fixture.sandbox.root + "/data/removed.json"
    let failures =
      try Self.problems(
        sandbox: fixture.sandbox, path: path, tampered: tampered,
        commands: [["get", "BRAVO"], ["link", "BRAVO", "--model", "x"], ["rm", "BRAVO", "--yes"]], expected: [3],
        secrets: fixture.values)
      + Self.problems(
        sandbox: fixture.sandbox, path: path, tampered: tampered, commands: [["verify"]], expected: [6],
        secrets: fixture.values)
    XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
  }

  func testTruncatedAndEmptyFilesFailWithOneClearIntegrityError() throws {
    let fixture = try makeFixture()
    let original = fixture.original
    let lineEnds = original.indices.filter { original[$0] == 0x0A }.map { $0 + 1 }
    var cuts = Set([0, 1, 2, 10, original.count / 4, original.count / 2, original.count - 1, original.count - 2])
    cuts.formUnion([original.count - 152, original.count - 151, original.count - 153, original.count - 80])
    cuts.formUnion(lineEnds.filter { $0 < original.count })
    cuts.formUnion(lineEnds.filter { $0 < original.count }.map { $0 - 1 })
    let path = fixture.sandbox.root + "/data/truncated.json"
    var failures: [String] = []
    for cut in cuts.sorted() {
      let truncated = Array(original[0..<cut])
      let commands = Self.unlockedCommands(name: "ALPHA") + [["list"], ["show", "ALPHA"]]
      failures += try Self.problems(
        sandbox: fixture.sandbox, path: path, tampered: truncated, commands: commands, expected: [6],
        secrets: fixture.values
      ).map { "cut at \(cut) of \(original.count): \($0)" }
    }
    // Bytes appended after the suffix are an edit too.
    for extra in ["\n", " ", "x", "\"checksum\":\"\"}\n"] {
      failures += try Self.problems(
        sandbox: fixture.sandbox, path: path, tampered: original + Array(extra.utf8),
        commands: Self.unlockedCommands(name: "ALPHA") + [["list"]], expected: [6], secrets: fixture.values
      ).map { "appended \(extra.debugDescription): \($0)" }
    }
    XCTAssertTrue(failures.isEmpty, failures.prefix(25).joined(separator: "\n"))

    // The empty file's message says what is wrong.
    try writeFile(path, [], mode: 0o600)
    let result = try fixture.sandbox.run(["get", "ALPHA"], environment: ["VAULT_FILE": path])
    XCTAssertEqual(result.status, 6)
    XCTAssertTrue(result.stderrText.contains("empty"), result.stderrText)
    XCTAssertTrue(result.stderrText.hasPrefix("vault: error:"), result.stderrText)
  }

  /// A file from a newer format (`"version":4`), checksum consistent: exit 7, not 6; with the
  /// checksum left stale it is a damaged file, exit 6.
  func testNewerFormatVersionIsUnsupportedNotDamaged() throws {
    let fixture = try makeFixture()
    let marker = Array("\"version\":2,".utf8)
    let firstLine = Array(fixture.original.prefix(while: { $0 != 0x0A }))
    XCTAssertTrue(contains(firstLine, marker), String(decoding: firstLine, as: UTF8.self))
    let at = fixture.original.indices.first {
      fixture.original[$0..<min($0 + marker.count, fixture.original.count)].elementsEqual(marker)
    }!
    let path = fixture.sandbox.root + "/data/newer.json"
    var failures: [String] = []
    for version in ["4", "0", "99"] {
      var edited = fixture.original
      edited.replaceSubrange(at..<(at + marker.count), with: Array("\"version\":\(version),".utf8))
      let commands = [["list"], ["get", "ALPHA"], ["verify"], ["show", "ALPHA"], ["link", "ALPHA", "--model", "x"]]
      failures += try Self.problems(
        sandbox: fixture.sandbox, path: path, tampered: Robust.recomputingChecksum(edited), commands: commands,
        expected: [7], secrets: fixture.values
      ).map { "version \(version), checksum recomputed: \($0)" }
      failures += try Self.problems(
        sandbox: fixture.sandbox, path: path, tampered: edited, commands: commands, expected: [6],
        secrets: fixture.values
      ).map { "version \(version), checksum stale: \($0)" }
    }
    XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
    // The message names the version it met.
    var edited = fixture.original
    edited.replaceSubrange(at..<(at + marker.count), with: Array("\"version\":4,".utf8))
    try writeFile(path, Robust.recomputingChecksum(edited), mode: 0o600)
    let result = try fixture.sandbox.run(["list"], environment: ["VAULT_FILE": path])
    XCTAssertEqual(result.status, 7)
    XCTAssertTrue(result.stderrText.contains("version 4"), result.stderrText)
  }
}
