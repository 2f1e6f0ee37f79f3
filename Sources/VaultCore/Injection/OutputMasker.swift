/// Rewrites every occurrence of a secret in a byte stream to its masked form, byte-exact
/// otherwise, however the stream is split into writes: the longest suffix that could still be
/// the start of a secret is held back until the next write (or the end) decides it.
public struct OutputMasker: Sendable {
  private let secrets: [(value: [UInt8], mask: [UInt8])]
  private var pending: [UInt8] = []

  /// `secrets` as (value, masked form) pairs; empty values are ignored.
  public init(secrets: [(value: [UInt8], mask: [UInt8])]) {
    // Longest first, so a value that contains another is masked whole.
    self.secrets = secrets.filter { !$0.value.isEmpty }.sorted { $0.value.count > $1.value.count }
  }

  /// Feeds `chunk`; returns what can be written out now.
  public mutating func feed(_ chunk: [UInt8]) -> [UInt8] {
    pending += chunk
    return drain(final: false)
  }

  /// Ends the stream; returns the rest.
  public mutating func finish() -> [UInt8] {
    drain(final: true)
  }

  private mutating func drain(final: Bool) -> [UInt8] {
    guard !secrets.isEmpty else {
      defer { pending = [] }
      return pending
    }
    var output: [UInt8] = []
    output.reserveCapacity(pending.count)
    var index = 0
    scan: while index < pending.count {
      for secret in secrets where pending[index] == secret.value[0] {
        let available = pending.count - index
        if available >= secret.value.count {
          if pending[index..<(index + secret.value.count)].elementsEqual(secret.value) {
            output += secret.mask
            index += secret.value.count
            continue scan
          }
        } else if !final, pending[index...].elementsEqual(secret.value[0..<available]) {
          // Could still become this secret: hold the rest back.
          break scan
        }
      }
      output.append(pending[index])
      index += 1
    }
    pending.removeFirst(index)
    return output
  }
}
