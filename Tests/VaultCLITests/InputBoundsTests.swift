import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The review's point 7: a hand-made 250 MB vault with a huge `masked` made `list` take 24 s and
/// 2.7 GB. The vault file, each key's line and each clear field are capped; past a cap the file
/// is damaged (exit 6), said at once, and nothing changes.
final class InputBoundsTests: XCTestCase {
  private func withKeyLine(_ original: [UInt8], _ edit: (String) -> String) -> [UInt8] {
    let text = String(decoding: original, as: UTF8.self)
    var lines = text.components(separatedBy: "\n")
    let index = lines.firstIndex { $0.hasPrefix("{\"id\":") }!
    lines[index] = edit(lines[index])
    return Robust.recomputingChecksum(Array(lines.joined(separator: "\n").utf8))
  }

  private func assertRefusedQuickly(
    _ sandbox: VaultSandbox, _ bytes: [UInt8], mentioning fragment: String, file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    try writeFile(sandbox.vaultPath, bytes, mode: 0o600)
    for arguments in [["list"], ["show", "MY_API"], ["get", "MY_API"]] {
      let started = Date()
      let result = try sandbox.run(arguments)
      // `get` checks the MAC before it parses the key's line, so it names the MAC instead.
      assertFailure(result, 6, mentioning: arguments[0] == "get" ? [] : [fragment], file: file, line: line)
      XCTAssertLessThan(Date().timeIntervalSince(started), 3, "\(arguments) took too long", file: file, line: line)
    }
    XCTAssertEqual(try sandbox.readVault(), bytes, "the file changed", file: file, line: line)
  }

  func testAHugeMaskedFieldIsRefusedBeforeItIsParsed() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let huge = withKeyLine(try sandbox.readVault()) { line in
      let start = line.range(of: "\"masked\":\"")!.upperBound
      return line.replacingCharacters(in: start..<start, with: String(repeating: "A", count: 20 << 20))
    }
    try assertRefusedQuickly(sandbox, huge, mentioning: "keys[0] is longer than 256 KiB")
  }

  func testAMaskedFieldThatNoValueCouldGiveIsDamage() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let original = try sandbox.readVault()
    for fake in ["sk-\\u001b[31m…xyz", "sk-…xyz\\u001b]0;x", "sk-proj-…xyz", "0123456789abcdef", ""] {
      let edited = withKeyLine(original) { line in
        let start = line.range(of: "\"masked\":\"")!.upperBound
        let end = line.range(of: "\",\"created\"")!.lowerBound
        return line.replacingCharacters(in: start..<end, with: fake)
      }
      try assertRefusedQuickly(sandbox, edited, mentioning: "keys[0].masked is not a masked form")
    }
  }

  func testAVaultFileLargerThanTheCapIsRefusedWithoutBeingRead() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    // A sparse file: 100 MiB long, no disk used.
    let descriptor = open(sandbox.vaultPath, O_WRONLY | O_TRUNC)
    XCTAssertGreaterThanOrEqual(descriptor, 0)
    XCTAssertEqual(ftruncate(descriptor, 100 << 20), 0)
    close(descriptor)
    let started = Date()
    let result = try sandbox.run(["list"])
    assertFailure(result, 6, mentioning: ["larger than 64 MiB"])
    XCTAssertLessThan(Date().timeIntervalSince(started), 1)
  }

  func testModelAndVariableCountsPerKeyAreCapped() throws {
    let sandbox = try VaultSandbox()
    try sandbox.initVault()
    try sandbox.addOK("MY_API", value: Robust.fakeSecret())
    let before = try sandbox.readVault()
    let models = (0...256).flatMap { ["--model", "m\($0)"] }
    assertFailure(try sandbox.run(["link", "MY_API"] + models), 65, mentioning: ["at most 256 models"])
    let variables = (0...32).flatMap { ["--env", "V\($0)"] }
    assertFailure(try sandbox.run(["link", "MY_API"] + variables), 65, mentioning: ["at most 32 variable names"])
    XCTAssertEqual(try sandbox.readVault(), before)
  }
}
