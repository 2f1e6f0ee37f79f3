import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// What a running `vault` keeps in memory outside the locked region: read from the outside,
/// through `/proc/PID/mem`, as an attacker with the same privileges as the review would.
final class MemoryScanTests: XCTestCase {
  /// Every readable, writable mapping of `pid` (heap, anonymous memory, stacks, data) that is
  /// not locked (`lo` in VmFlags), with the name smaps gives it.
  private func unlockedWritableRegions(of pid: pid_t) throws -> [(start: UInt64, end: UInt64, name: String)] {
    let smaps = String(decoding: try readFile("/proc/\(pid)/smaps"), as: UTF8.self)
    var regions: [(start: UInt64, end: UInt64, name: String)] = []
    var current: (start: UInt64, end: UInt64, name: String, usable: Bool)?
    func close(locked: Bool) {
      if let region = current, region.usable, !locked { regions.append((region.start, region.end, region.name)) }
      current = nil
    }
    for line in smaps.split(separator: "\n") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      if let range = fields.first, range.contains("-"), fields.count >= 5,
        let dash = range.firstIndex(of: "-"), let start = UInt64(range[..<dash], radix: 16),
        let end = UInt64(range[range.index(after: dash)...], radix: 16)
      {
        let permissions = fields[1]
        let name = fields.count >= 6 ? fields[5...].joined(separator: " ") : "[anonymous]"
        current = (start, end, name, permissions.hasPrefix("rw") && !name.hasPrefix("[v"))
      } else if line.hasPrefix("VmFlags:") {
        close(locked: fields.contains("lo"))
      }
    }
    return regions
  }

  /// How many times each needle occurs in those regions, and where.
  private func occurrences(in pid: pid_t, of needles: [String: [UInt8]]) throws -> [String: [String]] {
    let descriptor = open("/proc/\(pid)/mem", O_RDONLY)
    guard descriptor >= 0 else { throw XCTSkip("cannot open /proc/\(pid)/mem: \(String(cString: strerror(errno)))") }
    defer { Glibc.close(descriptor) }
    var found: [String: [String]] = [:]
    for region in try unlockedWritableRegions(of: pid) {
      var bytes = [UInt8](repeating: 0, count: Int(region.end - region.start))
      let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(region.start)) }
      guard count > 0 else { continue }
      let data = Data(bytes[0..<count])
      for (label, needle) in needles {
        var from = data.startIndex
        while let range = data.range(of: Data(needle), in: from..<data.endIndex) {
          found[label, default: []].append(region.name)
          from = range.upperBound
        }
      }
    }
    return found
  }

  /// During `vault run --mask`, with the program printing the value, no copy of the value and
  /// none of the passphrase is left in `vault`'s memory outside the locked region: the
  /// matcher refers to the values in `SecretBytes`, the child's environment is wiped once the
  /// child has it, output buffers are wiped, and the passphrase is dropped once the key is
  /// derived.
  func testRunMaskKeepsNoValueOrPassphraseOutsideLockedMemory() throws {
    guard geteuid() == 0 else {
      throw XCTSkip("reading the memory of a non-dumpable vault needs root (CAP_SYS_PTRACE); not checked")
    }
    var fixture = try RunFixture([])
    try fixture.add("MASKED_KEY", ["--provider", "openai"])
    let sandbox = fixture.sandbox
    let value = try XCTUnwrap(fixture.values["MASKED_KEY"])
    // The passphrase from its file, and from VAULT_PASSPHRASE (which must not live on as a string).
    let modes: [(String, [String: String?])] = [
      ("VAULT_PASSPHRASE_FILE", [:]),
      ("VAULT_PASSPHRASE", ["VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": VaultSandbox.passphrase]),
    ]
    for (mode, environment) in modes {
      try scanDuringMaskedRun(sandbox: sandbox, value: value, environment: environment, mode: mode)
    }
  }

  private func scanDuringMaskedRun(sandbox: VaultSandbox, value: String, environment: [String: String?], mode: String)
    throws
  {
    let marker = sandbox.root + "/printed"
    unlink(marker)
    let running = try sandbox.start(
      [
        "run", "--mask", "--", "/bin/sh", "-c",
        "printf '%s\\n' \"$MASKED_KEY\" \"$OPENAI_API_KEY\"; touch \"$0\"; exec sleep 30", marker,
      ], environment: environment)
    defer { running.kill(SIGKILL) }
    XCTAssertTrue(RunKit.waitFor(marker), "the program did not start")
    usleep(500_000)  // Time for vault to read and mask what the program printed.
    let found = try occurrences(
      in: running.pid, of: ["the value": Array(value.utf8), "the passphrase": Array(VaultSandbox.passphrase.utf8)])
    for (label, regions) in found.sorted(by: { $0.key < $1.key }) {
      XCTFail(
        "\(mode): \(label) is in vault's memory outside the locked region \(regions.count) time(s), in \(regions)")
    }
    running.kill(SIGTERM)
    let result = try running.wait()
    XCTAssertEqual(result.status, 143, result.stderrText)
    XCTAssertFalse(
      result.stdout.isEmpty || String(decoding: result.stdout, as: UTF8.self).contains(value),
      "the program's output was not masked (not shown)")
  }
}
