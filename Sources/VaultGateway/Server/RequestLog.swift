import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// One line per request (time, agent key name, provider, model, key name, status, latency,
/// tokens), as text or JSON, on stderr or in a file that SIGHUP reopens (for logrotate). Never a
/// value or a token: names and numbers only, and names are sanitised like any output.
public final class RequestLog: Sendable {
  public enum Format: Sendable { case text, json }

  struct Entry {
    var agent: String?
    var provider: String?
    var model: String?
    var key: String?
    var method: String
    var status: Int
    var milliseconds: Double
    var tokensIn: Int64
    var tokensOut: Int64
  }

  let format: Format
  let path: String?
  private let descriptor: Lock<Int32>

  init(format: Format, path: String?) throws(SocketError) {
    self.format = format
    self.path = path
    descriptor = Lock(try Self.open(path))
  }

  private static func open(_ path: String?) throws(SocketError) -> Int32 {
    guard let path else { return STDERR_FILENO }
    let descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard descriptor >= 0 else { throw SocketError("open \(path)") }
    return descriptor
  }

  /// Reopens the log file (SIGHUP), keeping the old one if the new cannot be opened.
  func reopen() {
    guard path != nil, let fresh = try? Self.open(path) else { return }
    let old = descriptor.withLock { current -> Int32 in
      defer { current = fresh }
      return current
    }
    if old != STDERR_FILENO { Glibc.close(old) }
  }

  func write(_ entry: Entry) {
    let time = Timestamp.now().rfc3339
    let line: [UInt8]
    switch format {
    case .text:
      let text =
        "\(time) \(entry.status) \(entry.method) agent=\(clean(entry.agent)) provider=\(clean(entry.provider)) "
        + "model=\(clean(entry.model)) key=\(clean(entry.key)) ms=\(Self.milliseconds(entry.milliseconds)) "
        + "tokens_in=\(entry.tokensIn) tokens_out=\(entry.tokensOut)\n"
      line = Array(text.utf8)
    case .json:
      var writer = JSONWriter()
      writer.raw("{\"time\":")
      writer.string(time)
      writer.raw(",\"status\":")
      writer.integer(Int64(entry.status))
      writer.raw(",\"method\":")
      writer.string(entry.method)
      writer.raw(",\"agent\":")
      writer.optionalString(entry.agent)
      writer.raw(",\"provider\":")
      writer.optionalString(entry.provider)
      writer.raw(",\"model\":")
      writer.optionalString(entry.model)
      writer.raw(",\"key\":")
      writer.optionalString(entry.key)
      writer.raw(",\"ms\":")
      writer.raw("")
      line =
        writer.bytes + Array(Self.milliseconds(entry.milliseconds).utf8)
        + Array(",\"tokens_in\":\(entry.tokensIn),\"tokens_out\":\(entry.tokensOut)}\n".utf8)
    }
    descriptor.withLock { descriptor in
      line.withUnsafeBytes { _ = Glibc.write(descriptor, $0.baseAddress, $0.count) }
    }
  }

  /// A note from the gateway itself (start, stop, warnings).
  func note(_ text: String) {
    var line: [UInt8]
    switch format {
    case .text:
      line = Array("vault serve: \(text)\n".utf8)
    case .json:
      var writer = JSONWriter()
      writer.raw("{\"time\":")
      writer.string(Timestamp.now().rfc3339)
      writer.raw(",\"note\":")
      writer.string(text)
      writer.raw("}\n")
      line = writer.bytes
    }
    descriptor.withLock { descriptor in
      line.withUnsafeBytes { _ = Glibc.write(descriptor, $0.baseAddress, $0.count) }
    }
  }

  private static func milliseconds(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
  }

  /// A field as one printable token: a model name from the request body could hold anything.
  private func clean(_ text: String?) -> String {
    guard let text, !text.isEmpty else { return "-" }
    let scalars = text.unicodeScalars.prefix(128).map { scalar -> Character in
      scalar.value < 0x21 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) ? "?" : Character(scalar)
    }
    return String(scalars)
  }
}
