import COpenSSL

#if canImport(Glibc)
  import Glibc
#endif

/// Key material that wipes itself: the bytes live in one heap buffer owned by this object,
/// are locked in memory where the system allows it, and are cleansed with
/// `OPENSSL_cleanse` when the last reference goes.
///
/// A class rather than a struct so the buffer has exactly one owner and is never copied
/// implicitly; `@unchecked Sendable` because the buffer is never mutated after `init`.
public final class SecretBytes: @unchecked Sendable {
  private let buffer: UnsafeMutableRawBufferPointer

  /// The number of bytes held.
  public var count: Int { buffer.count }

  /// Fresh zeroed storage of `count` bytes, filled by `initializer` before anyone else sees it.
  public init(count: Int, initializer: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
    let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
    let exact = UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
    exact.initializeMemory(as: UInt8.self, repeating: 0)
    // Best effort: keep the page out of swap; refusal (RLIMIT_MEMLOCK) is not an error.
    _ = mlock(storage.baseAddress!, storage.count)
    do {
      try initializer(exact)
    } catch {
      OPENSSL_cleanse(storage.baseAddress, storage.count)
      _ = munlock(storage.baseAddress!, storage.count)
      storage.deallocate()
      throw error
    }
    buffer = exact
  }

  /// A copy of `bytes`. The caller's copy is not wiped: prefer building secrets in place.
  public convenience init<Bytes: Collection>(copying bytes: Bytes) where Bytes.Element == UInt8 {
    self.init(count: bytes.count) { destination in
      destination.copyBytes(from: bytes)
    }
  }

  deinit {
    if let base = buffer.baseAddress {
      OPENSSL_cleanse(base, buffer.count)
      _ = munlock(base, max(buffer.count, 1))
    }
    UnsafeMutableRawBufferPointer(start: buffer.baseAddress, count: max(buffer.count, 1)).deallocate()
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
