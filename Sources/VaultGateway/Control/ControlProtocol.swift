import VaultCore
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// Lines over the control socket, and the client side the command line uses.
public enum ControlProtocol {
  static let maximumLineBytes = 4_096

  /// One LF-terminated line (without the LF), or nil on EOF, timeout or an over-long line.
  static func readLine(_ descriptor: Int32, timeoutMilliseconds: Int32) -> [UInt8]? {
    var line: [UInt8] = []
    var byte: UInt8 = 0
    while line.count <= maximumLineBytes {
      guard Sockets.waitReadable(descriptor, milliseconds: timeoutMilliseconds) else { return nil }
      guard withUnsafeMutableBytes(of: &byte, { Sockets.read(descriptor, into: $0) }) == 1 else {
        return nil
      }
      if byte == 0x0A { return line }
      line.append(byte)
    }
    return nil
  }

  static func writeLine(_ descriptor: Int32, _ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { Sockets.writeAll(descriptor, $0) }
  }

  /// A session opened with a running gateway; it ends when this value's connection closes.
  public final class Session: @unchecked Sendable {
    public let token: SecretBytes
    public let baseURL: String
    public let providers: [String]
    private let descriptor: Int32

    init(token: SecretBytes, baseURL: String, providers: [String], descriptor: Int32) {
      self.token = token
      self.baseURL = baseURL
      self.providers = providers
      self.descriptor = descriptor
    }

    /// Ends the session now (also on deinit, and when the process exits).
    public func close() { Sockets.close(descriptor) }
  }

  public enum ClientError: Error, Sendable {
    /// No gateway answers on the control socket.
    case noGateway(String)
    /// The gateway refused: its HTTP-like status and message.
    case refused(status: Int, message: String)
  }

  private static func connect(_ controlPath: String) throws(ClientError) -> Int32 {
    do {
      return try Sockets.connectUnix(path: controlPath)
    } catch {
      throw .noGateway(error.message)
    }
  }

  /// Opens a session for the agent key `token` with the gateway whose control socket is
  /// `controlPath`.
  public static func openSession(controlPath: String, token: SecretBytes, detached: Bool = false) throws(ClientError)
    -> Session
  {
    let descriptor = try connect(controlPath)
    var request = Array((detached ? "open-detached " : "open ").utf8)
    token.withUnsafeBytes { request.append(contentsOf: $0) }
    request.append(0x0A)
    let sent = request.withUnsafeBytes { Sockets.writeAll(descriptor, $0) }
    request.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) }
    guard sent, var line = readLine(descriptor, timeoutMilliseconds: 10_000) else {
      Sockets.close(descriptor)
      throw .noGateway("the gateway did not answer")
    }
    defer { line.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
    let fields = line.split(separator: 0x20, maxSplits: 3)
    if fields.first?.elementsEqual("ok".utf8) == true, fields.count == 4 {
      let providers = String(decoding: fields[3], as: UTF8.self)
      return Session(
        token: SecretBytes(copying: fields[1]), baseURL: String(decoding: fields[2], as: UTF8.self),
        providers: providers == "-" ? [] : providers.split(separator: ",").map(String.init), descriptor: descriptor)
    }
    Sockets.close(descriptor)
    throw refusal(line)
  }

  /// The gateway's status JSON.
  public static func status(controlPath: String) throws(ClientError) -> String {
    let descriptor = try connect(controlPath)
    defer { Sockets.close(descriptor) }
    writeLine(descriptor, "status")
    guard let line = readLine(descriptor, timeoutMilliseconds: 10_000) else {
      throw .noGateway("the gateway did not answer")
    }
    guard line.starts(with: "ok ".utf8) else { throw refusal(line) }
    return String(decoding: line.dropFirst(3), as: UTF8.self)
  }

  private static func refusal(_ line: [UInt8]) -> ClientError {
    let fields = line.split(separator: 0x20, maxSplits: 2)
    guard fields.count == 3, fields[0].elementsEqual("error".utf8),
      let status = Int(String(decoding: fields[1], as: UTF8.self))
    else { return .refused(status: 500, message: "the gateway's answer is malformed") }
    return .refused(status: status, message: String(decoding: fields[2], as: UTF8.self))
  }
}
