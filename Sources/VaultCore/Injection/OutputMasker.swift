/// Rewrites every occurrence of a secret in a byte stream to its masked form, byte-exact
/// otherwise, however the stream is split into writes: the longest suffix that could still be
/// the start of a secret is held back until the next write (or the end) decides it.
///
/// The secrets it looks for stay in `SecretBytes` (locked, wiped on release): the masker holds
/// references to them, never copies. What it buffers of the stream (which may hold a value the
/// program printed) is wiped before the buffer is dropped or reused.
public struct OutputMasker: Sendable {
  private let secrets: [(value: SecretBytes, mask: [UInt8])]
  private var pending: [UInt8] = []

  /// `secrets` as (value, masked form) pairs; empty values are ignored.
  public init(secrets: [(value: SecretBytes, mask: [UInt8])]) {
    // Longest first, so a value that contains another is masked whole.
    self.secrets = secrets.filter { $0.value.count > 0 }.sorted { $0.value.count > $1.value.count }
  }

  /// Feeds `chunk`; returns what can be written out now.
  public mutating func feed(_ chunk: UnsafeRawBufferPointer) -> [UInt8] {
    var joined = [UInt8]()
    joined.reserveCapacity(pending.count + chunk.count)
    joined += pending
    joined += chunk
    Self.wipe(&pending)
    // Swapped, not assigned: a second reference would make the later wipe copy the buffer
    // and free this one unwiped.
    swap(&pending, &joined)
    return drain(final: false)
  }

  /// Feeds `chunk`; returns what can be written out now.
  public mutating func feed(_ chunk: [UInt8]) -> [UInt8] {
    chunk.withUnsafeBytes { feed($0) }
  }

  /// Ends the stream; returns the rest.
  public mutating func finish() -> [UInt8] {
    drain(final: true)
  }

  private mutating func drain(final: Bool) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(pending.count)
    var index = 0
    scan: while index < pending.count {
      for secret in secrets {
        let verdict = secret.value.withUnsafeBytes { value -> Int in
          guard pending[index] == value[0] else { return 0 }
          let available = pending.count - index
          if available >= value.count {
            return pending[index..<(index + value.count)].elementsEqual(value) ? 1 : 0
          }
          // Could still become this secret: hold the rest back.
          return !final && pending[index...].elementsEqual(value[0..<available]) ? 2 : 0
        }
        if verdict == 1 {
          output += secret.mask
          index += secret.value.count
          continue scan
        }
        if verdict == 2 { break scan }
      }
      output.append(pending[index])
      index += 1
    }
    var rest = index < pending.count ? Array(pending[index...]) : []
    Self.wipe(&pending)
    swap(&pending, &rest)
    return output
  }

  /// Zeroes every byte of `bytes`' storage in place, then empties it.
  private static func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { raw in
      for offset in raw.indices { raw[offset] = 0 }
    }
    bytes = []
  }
}
