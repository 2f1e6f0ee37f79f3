import COpenSSL

#if canImport(Glibc)
  import Glibc
#endif

/// Key material that wipes itself: the bytes live in memory from `SecureArena`, locked in RAM
/// where the system allows it, and are cleansed with `OPENSSL_cleanse` when the last
/// reference goes.
///
/// A class rather than a struct so the buffer has exactly one owner and is never copied
/// implicitly; `@unchecked Sendable` because the buffer is never mutated after `init`.
public final class SecretBytes: @unchecked Sendable {
  private let buffer: UnsafeMutableRawBufferPointer
  private let chunk: SecureArena.Chunk?
  /// For a view (`init(viewing:range:)`): the secret whose bytes these are, kept alive by the
  /// view and alone in charge of wiping them.
  private let owner: SecretBytes?

  /// Whether the bytes are locked in RAM (mlock may be refused past RLIMIT_MEMLOCK; they are
  /// then still wiped, but may be swapped out).
  public let isLocked: Bool

  /// The number of bytes held.
  public var count: Int { buffer.count }

  /// Fresh zeroed storage of `count` bytes, filled by `initializer` before anyone else sees it.
  public init(count: Int, initializer: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
    let (memory, chunk, locked) = SecureArena.shared.allocate(count)
    let exact = UnsafeMutableRawBufferPointer(start: memory, count: count)
    exact.initializeMemory(as: UInt8.self, repeating: 0)
    do {
      try initializer(exact)
    } catch {
      SecureArena.shared.release(memory, count: count, chunk: chunk)
      throw error
    }
    buffer = exact
    self.chunk = chunk
    owner = nil
    isLocked = locked
  }

  /// `range` of `owner`'s bytes, without a copy: a run cache record holds a thousand values,
  /// and copying each into a slot of its own cost an allocation and a wipe apiece. The bytes
  /// are wiped when `owner` goes, which the view keeps alive.
  public init(viewing owner: SecretBytes, range: Range<Int>) {
    precondition(range.lowerBound >= 0 && range.upperBound <= owner.count, "a view past its owner's bytes")
    buffer = UnsafeMutableRawBufferPointer(rebasing: owner.buffer[range])
    chunk = nil
    self.owner = owner
    isLocked = owner.isLocked
  }

  /// A copy of `bytes`. The caller's copy is not wiped: prefer building secrets in place.
  public convenience init<Bytes: Collection>(copying bytes: Bytes) where Bytes.Element == UInt8 {
    self.init(count: bytes.count) { destination in
      destination.copyBytes(from: bytes)
    }
  }

  deinit {
    // A view's bytes are its owner's to wipe.
    if owner == nil { SecureArena.shared.release(buffer.baseAddress!, count: buffer.count, chunk: chunk) }
  }

  /// Calls `body` with the secret bytes; the pointer must not escape.
  public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
    try body(UnsafeRawBufferPointer(buffer))
  }

  /// A plain array copy, for values that leave the vault on purpose (`vault get`, injection).
  public func copyBytes() -> [UInt8] {
    [UInt8](UnsafeRawBufferPointer(buffer))
  }
}
