import Foundation
import VaultCore
import VaultCrypto
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Shared pieces of the robustness tests (tamper, crash, concurrency, passphrase and leaks).
/// Everything lives in this namespace so it cannot clash with other helpers of the target.
enum Robust {
  /// Length of the fixed suffix `"checksum":"<64 hex>","mac":"<64 hex>"}` + LF.
  static let suffixLength = 152
  static let checksumOffsetInSuffix = 12  // after `"checksum":"`
  static let macOffsetInSuffix = 12 + 64 + 9  // after `","mac":"`

  /// A distinctive fake secret: `sk-test-` and 32 random hex digits.
  static func fakeSecret(_ prefix: String = "sk-test-") -> String {
    var generator = SystemRandomNumberGenerator()
    return prefix + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
  }

  static func hexSHA256(_ bytes: [UInt8]) -> String {
    Hex.encode(SHA256.hash(bytes))
  }

  /// `bytes` with the checksum recomputed over the covered part, the MAC left as it was: an
  /// edit only the keyed MAC can catch.
  static func recomputingChecksum(_ bytes: [UInt8]) -> [UInt8] {
    precondition(bytes.count > suffixLength)
    var result = bytes
    let covered = bytes.count - suffixLength
    let digest = Array(Hex.encode(SHA256.hash(Array(bytes[0..<covered]))).utf8)
    let start = covered + checksumOffsetInSuffix
    result.replaceSubrange(start..<(start + 64), with: digest)
    return result
  }

  /// The file's lines (each without its LF).
  static func lines(_ bytes: [UInt8]) -> [[UInt8]] {
    var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
    if lines.last == [] { lines.removeLast() }
    return lines
  }

  /// The record lines' bodies (without their trailing comma), and a way to put a file back
  /// together from the lines around them and a new list of bodies.
  struct RecordLines {
    var head: [[UInt8]]
    var records: [[UInt8]]
    var tail: [[UInt8]]

    init(_ bytes: [UInt8]) throws {
      let all = Robust.lines(bytes)
      guard let open = all.firstIndex(of: Array("\"keys\":[".utf8)),
        let close = all.firstIndex(of: Array("],".utf8)), open < close
      else { throw POSIXError(.EINVAL) }
      head = Array(all[...open])
      tail = Array(all[close...])
      records = all[(open + 1)..<close].map { line in line.last == UInt8(ascii: ",") ? Array(line.dropLast()) : line }
    }

    var bytes: [UInt8] {
      var out: [UInt8] = []
      for line in head { out += line + [0x0A] }
      for (index, record) in records.enumerated() {
        out += record + (index == records.count - 1 ? [] : [UInt8(ascii: ",")]) + [0x0A]
      }
      for line in tail { out += line + [0x0A] }
      return out
    }
  }

  // MARK: Field map

  enum FieldKind: Equatable {
    case stringValue, numberValue, literalValue, memberName, punctuation
  }

  /// A run of bytes of the file and what it is, e.g. `.keys[1].dataKey`, a string value.
  struct FieldSpan {
    var label: String
    var kind: FieldKind
    var range: Range<Int>
  }

  /// Labels every byte of a vault file with the JSON path of the value or member name it belongs
  /// to, or as punctuation (braces, brackets, quotes, colons, commas, line feeds).
  static func fieldSpans(_ bytes: [UInt8]) -> [FieldSpan] {
    enum Container {
      case object(path: String, key: String?, expectingKey: Bool)
      case array(path: String, index: Int)
    }
    var stack: [Container] = []
    var spans: [FieldSpan] = []
    func valuePath() -> String {
      switch stack.last {
      case .object(let path, let key, _)?: return path + "." + (key ?? "?")
      case .array(let path, let index)?: return path == ".keys" ? "\(path)[\(index)]" : path
      case nil: return ""
      }
    }
    var index = 0
    while index < bytes.count {
      let byte = bytes[index]
      switch byte {
      case UInt8(ascii: "{"):
        spans.append(FieldSpan(label: "punctuation", kind: .punctuation, range: index..<(index + 1)))
        stack.append(.object(path: valuePath(), key: nil, expectingKey: true))
        index += 1
      case UInt8(ascii: "["):
        spans.append(FieldSpan(label: "punctuation", kind: .punctuation, range: index..<(index + 1)))
        stack.append(.array(path: valuePath(), index: 0))
        index += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        spans.append(FieldSpan(label: "punctuation", kind: .punctuation, range: index..<(index + 1)))
        stack.removeLast()
        index += 1
      case UInt8(ascii: ":"):
        spans.append(FieldSpan(label: "punctuation", kind: .punctuation, range: index..<(index + 1)))
        if case .object(let path, let key, _)? = stack.last {
          stack[stack.count - 1] = .object(path: path, key: key, expectingKey: false)
        }
        index += 1
      case UInt8(ascii: ","):
        spans.append(FieldSpan(label: "punctuation", kind: .punctuation, range: index..<(index + 1)))
        switch stack.last {
        case .object(let path, let key, _)?: stack[stack.count - 1] = .object(path: path, key: key, expectingKey: true)
        case .array(let path, let count)?: stack[stack.count - 1] = .array(path: path, index: count + 1)
        case nil: break
        }
        index += 1
      case 0x0A, 0x20:
        spans.append(FieldSpan(label: "punctuation", kind: .punctuation, range: index..<(index + 1)))
        index += 1
      case UInt8(ascii: "\""):
        spans.append(FieldSpan(label: "punctuation", kind: .punctuation, range: index..<(index + 1)))
        var end = index + 1
        while end < bytes.count, bytes[end] != UInt8(ascii: "\"") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
        let inner = (index + 1)..<end
        if case .object(let path, _, true)? = stack.last {
          let name = String(decoding: bytes[inner], as: UTF8.self)
          stack[stack.count - 1] = .object(path: path, key: name, expectingKey: true)
          if !inner.isEmpty {
            spans.append(FieldSpan(label: "\(path).\(name) (member name)", kind: .memberName, range: inner))
          }
        } else if !inner.isEmpty {
          spans.append(FieldSpan(label: valuePath(), kind: .stringValue, range: inner))
        }
        spans.append(FieldSpan(label: "punctuation", kind: .punctuation, range: end..<(end + 1)))
        index = end + 1
      default:
        var end = index
        while end < bytes.count, !Array(",:{}[]\" \n".utf8).contains(bytes[end]) { end += 1 }
        let isNumber = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
        spans.append(FieldSpan(label: valuePath(), kind: isNumber ? .numberValue : .literalValue, range: index..<end))
        index = end
      }
    }
    return spans
  }

  // MARK: Byte replacement

  private static let hexDigits = Array("0123456789abcdef".utf8)
  private static let base64Digits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  private static let decimalDigits = Array("0123456789".utf8)
  private static let structural = Array("{}[]:,\" \n".utf8)

  /// A byte that is not `original`. `plausible` picks one of the same class (another hex digit,
  /// base64 digit, decimal digit, letter or punctuation mark), so the file stays as well-formed
  /// as possible and only the checksum or MAC can catch the change; otherwise one random bit
  /// is flipped, which may make the byte non-ASCII or invalid UTF-8.
  static func replacement(
    for original: UInt8, label: String, plausible: Bool, using generator: inout some RandomNumberGenerator
  ) -> UInt8 {
    if !plausible || original >= 0x80 {
      return original ^ (1 << UInt8.random(in: 0...7, using: &generator))
    }
    let pool: [UInt8]
    let isHexField =
      label.hasSuffix(".id") || label == ".checksum" || label == ".mac"
    if isHexField && hexDigits.contains(original) {
      pool = hexDigits
    } else if decimalDigits.contains(original) && !label.hasSuffix("Key") && !label.hasSuffix(".value")
      && !label.hasSuffix(".salt")
    {
      pool = decimalDigits
    } else if base64Digits.contains(original) {
      pool = base64Digits
    } else {
      pool = structural
    }
    var candidate = original
    while candidate == original { candidate = pool.randomElement(using: &generator)! }
    return candidate
  }

  /// A deterministic generator (SplitMix64), so a failing position can be reproduced.
  struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  // MARK: Output checks

  /// How many `vault: error:` lines stderr holds (a failure prints exactly one).
  static func errorLineCount(_ result: RunResult) -> Int {
    result.stderrText.split(separator: "\n").filter { $0.hasPrefix("vault: error:") }.count
  }

  /// Whether any `window`-byte slice of `secret` occurs in `haystack`: catches a value stored
  /// or printed in part, not only whole.
  static func containsAnyWindow(of secret: String, window: Int, in haystack: [UInt8]) -> Bool {
    let bytes = Array(secret.utf8)
    guard bytes.count >= window else { return contains(haystack, bytes) }
    for start in 0...(bytes.count - window) where contains(haystack, Array(bytes[start..<(start + window)])) {
      return true
    }
    return false
  }

  // MARK: Oracle

  /// Opens the vault in-process with the library (an independent check of what the binary left
  /// on disk): every key's name and plaintext value, in file order.
  static func decryptAll(path: String, passphrase: String = VaultSandbox.passphrase) throws -> [(String, String)] {
    let unlocked = try VaultStore(path: path).unlock(passphrase: { SecretBytes(copying: Array(passphrase.utf8)) })
    return try unlocked.document.keys.map { key in
      (key.name, String(decoding: try unlocked.keyring.open(key).copyBytes(), as: UTF8.self))
    }
  }

  /// Names of the temp files a save leaves beside the vault while it runs (or when killed).
  static func temporaryFiles(besides vaultPath: String) -> [String] {
    let directory = (vaultPath as NSString).deletingLastPathComponent
    let prefix = "." + (vaultPath as NSString).lastPathComponent + ".tmp-"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.filter { $0.hasPrefix(prefix) }.sorted()
  }

  /// The names `vault list --json` prints.
  static func listedNames(_ result: RunResult) throws -> [String] {
    let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout))
    guard let array = parsed as? [[String: Any]] else { throw POSIXError(.EINVAL) }
    return array.compactMap { $0["name"] as? String }
  }

  // MARK: Threads

  /// Runs `body(0..<count)` on `count` threads at once and waits for all of them. Real threads
  /// (not `concurrentPerform`, which caps at the number of cores) so every worker starts now.
  static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for worker in 0..<count {
      group.enter()
      let thread = Thread {
        body(worker)
        group.leave()
      }
      thread.stackSize = 1 << 20
      thread.start()
    }
    group.wait()
  }

  /// Lets a non-Sendable test object (the sandbox) be used from worker threads that only read it.
  struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
  }

  /// A lock-guarded value that worker threads add to.
  final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    func update<Result>(_ body: (inout Value) -> Result) -> Result {
      lock.lock()
      defer { lock.unlock() }
      return body(&stored)
    }
    var value: Value { update { $0 } }
  }
}
