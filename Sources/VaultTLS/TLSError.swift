/// Why a TLS context or connection failed, as one lower-case line.
///
/// Concrete ("certificate verify failed: unable to get local issuer certificate", "hostname
/// mismatch", "read timed out", "connection reset"), with OpenSSL's reason strings from the
/// error queue where there are any. Never contains application data: only names the caller
/// chose (a CA file path, a server name), OpenSSL's reasons and `errno` descriptions.
public struct TLSError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The one-line description.
  public var message: String

  /// An error with this message.
  public init(_ message: String) {
    self.message = message
  }

  /// The message.
  public var description: String { message }
}
