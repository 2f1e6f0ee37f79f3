import Foundation
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Helpers for the functional CLI suites (Command*, InputRules*, Storage*, HelpAndUsage*).

/// A distinctive fake secret: `prefix` and random hex, never a real key.
func fakeSecret(_ prefix: String = "sk-test-", hexBytes: Int = 16) -> String {
  prefix + (0..<hexBytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
}

/// The masked form the issue specifies: first 3 and last 3 characters around an ellipsis, or
/// `********` for 12 characters or fewer.
func expectedMask(_ value: String) -> String {
  let scalars = Array(value.unicodeScalars)
  guard scalars.count > 12 else { return "********" }
  var view = String.UnicodeScalarView()
  view.append(contentsOf: scalars.prefix(3))
  view.append("\u{2026}")
  view.append(contentsOf: scalars.suffix(3))
  return String(view)
}

/// The environment changes that leave a command with no passphrase source at all.
let noPassphrase: [String: String?] = [
  "VAULT_PASSPHRASE_FILE": nil, "VAULT_PASSPHRASE": nil, "VAULT_NEW_PASSPHRASE_FILE": nil,
  "VAULT_NEW_PASSPHRASE": nil,
]

extension RunResult {
  var stderrLines: [String] { stderrText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
}

/// The permission bits of `path` (following links unless `followLinks` is false), or nil.
func fileMode(_ path: String, followLinks: Bool = true) -> mode_t? {
  var status = stat()
  let result = followLinks ? stat(path, &status) : lstat(path, &status)
  return result == 0 ? status.st_mode & 0o7777 : nil
}

func fileType(_ path: String) -> mode_t? {
  var status = stat()
  return lstat(path, &status) == 0 ? status.st_mode & S_IFMT : nil
}

func fileExists(_ path: String) -> Bool {
  var status = stat()
  return lstat(path, &status) == 0
}

func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
  guard mkdir(path, mode) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
}

func resolvedPath(_ path: String) -> String {
  guard let resolved = realpath(path, nil) else { return path }
  defer { free(resolved) }
  return String(cString: resolved)
}

/// Holds an exclusive flock on `path` (created if needed) until `release()`.
final class HeldLock {
  private var descriptor: Int32

  init(_ path: String) throws {
    descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
      close(descriptor)
      throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
  }

  func release() {
    if descriptor >= 0 {
      close(descriptor)
      descriptor = -1
    }
  }

  deinit { release() }
}

extension VaultSandbox {
  /// The vault's bytes, or nil when there is no file.
  func vaultBytes() -> [UInt8]? {
    FileManager.default.contents(atPath: vaultPath).map { [UInt8]($0) }
  }

  /// Adds `name` and fails the test unless it worked.
  func addOK(
    _ name: String, value: String, _ options: [String] = [], file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let result = try add(name, value: value, options)
    XCTAssertEqual(result.status, 0, "add \(name): \(result.stderrText)", file: file, line: line)
    assertNoLeak(result, [value], file: file, line: line)
  }

  /// `vault get NAME`'s stdout, failing the test unless it exited 0.
  func getValue(
    _ name: String, environment: [String: String?] = [:], file: StaticString = #filePath, line: UInt = #line
  ) throws -> [UInt8] {
    let result = try run(["get", name], environment: environment)
    XCTAssertEqual(result.status, 0, "get \(name): \(result.stderrText)", file: file, line: line)
    return result.stdout
  }

  /// `vault list --json` without a passphrase, as dictionaries keyed by name.
  func listJSON(file: StaticString = #filePath, line: UInt = #line) throws -> [String: [String: Any]] {
    let result = try run(["list", "--json"], environment: noPassphrase)
    XCTAssertEqual(result.status, 0, result.stderrText, file: file, line: line)
    let entries = try jsonArray(result.stdout)
    var byName: [String: [String: Any]] = [:]
    for entry in entries {
      guard let name = entry["name"] as? String else {
        XCTFail("entry without a name: \(entry)", file: file, line: line)
        continue
      }
      byName[name] = entry
    }
    XCTAssertEqual(byName.count, entries.count, "duplicate names in list --json", file: file, line: line)
    return byName
  }

  /// `vault show NAME --json` without a passphrase.
  func showJSON(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let result = try run(["show", name, "--json"], environment: noPassphrase)
    XCTAssertEqual(result.status, 0, result.stderrText, file: file, line: line)
    return try jsonObject(result.stdout)
  }

  /// Runs `body` and asserts the vault file is byte-identical (or still absent) afterwards.
  func assertUnchanged<T>(
    file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
  ) rethrows -> T {
    let before = vaultBytes()
    let result = try body()
    let after = vaultBytes()
    if before != after {
      XCTFail("the vault file changed (\(before?.count ?? -1) -> \(after?.count ?? -1) bytes)", file: file, line: line)
    }
    return result
  }
}

func jsonArray(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
  let parsed = try JSONSerialization.jsonObject(with: Data(bytes))
  guard let array = parsed as? [[String: Any]] else {
    XCTFail("not a JSON array of objects: \(String(decoding: bytes, as: UTF8.self))", file: file, line: line)
    return []
  }
  return array
}

func jsonObject(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
  let parsed = try JSONSerialization.jsonObject(with: Data(bytes))
  guard let object = parsed as? [String: Any] else {
    XCTFail("not a JSON object: \(String(decoding: bytes, as: UTF8.self))", file: file, line: line)
    return [:]
  }
  return object
}

/// Asserts a failed run: the exact exit code, nothing on stdout, and stderr's first line
/// `vault: error: ...`, every line of it prefixed `vault: `.
func assertFailure(
  _ result: RunResult, _ status: Int32, mentioning fragments: [String] = [], file: StaticString = #filePath,
  line: UInt = #line
) {
  XCTAssertEqual(result.status, status, "stderr: \(result.stderrText)", file: file, line: line)
  XCTAssertEqual(result.stdoutText, "", "a failed command printed to stdout", file: file, line: line)
  let lines = result.stderrLines.filter { !$0.isEmpty }
  let errors = lines.filter { $0.hasPrefix("vault: error: ") }
  XCTAssertEqual(errors.count, 1, "expected one 'vault: error:' line: \(result.stderrText)", file: file, line: line)
  XCTAssertTrue(
    lines.first?.hasPrefix("vault: error: ") ?? false, "stderr: \(result.stderrText)", file: file, line: line)
  for text in lines {
    XCTAssertTrue(text.hasPrefix("vault: "), "unprefixed stderr line: \(text)", file: file, line: line)
  }
  for fragment in fragments {
    XCTAssertTrue(
      result.stderrText.contains(fragment), "stderr lacks '\(fragment)': \(result.stderrText)", file: file, line: line)
  }
}

/// The `vault: hint: ` line, if any.
func hintLine(_ result: RunResult) -> String? {
  result.stderrLines.first { $0.hasPrefix("vault: hint: ") }
}

/// Asserts none of `secrets` appears in stderr, nor (unless `allowStdout`) in stdout.
func assertNoLeak(
  _ result: RunResult, _ secrets: [String], allowStdout: Bool = false, file: StaticString = #filePath,
  line: UInt = #line
) {
  for secret in secrets {
    XCTAssertFalse(contains(result.stderr, Array(secret.utf8)), "stderr shows a secret", file: file, line: line)
    if !allowStdout {
      XCTAssertFalse(contains(result.stdout, Array(secret.utf8)), "stdout shows a secret", file: file, line: line)
    }
  }
}

func assertNoLeak(
  _ result: RunResult, bytes secrets: [[UInt8]], file: StaticString = #filePath, line: UInt = #line
) {
  for secret in secrets {
    XCTAssertFalse(contains(result.allOutput, secret), "output shows a secret", file: file, line: line)
  }
}
