/// Bounds on what a peer can make the gateway hold or read.
public struct HTTPLimits: Sendable, Equatable {
  /// The whole head, from the first byte through the empty line that ends it.
  public var maxHeaderBytes = 65_536
  /// A request body, whether framed by Content-Length or chunked.
  public var maxBodyBytes = 33_554_432
  /// Header field lines in one head.
  public var maxHeaderCount = 256

  public init(maxHeaderBytes: Int = 65_536, maxBodyBytes: Int = 33_554_432, maxHeaderCount: Int = 256) {
    self.maxHeaderBytes = maxHeaderBytes
    self.maxBodyBytes = maxBodyBytes
    self.maxHeaderCount = maxHeaderCount
  }
}
