import COpenSSL

#if canImport(Glibc)
  import Glibc
#endif

/// The allocator OpenSSL uses in the `vault` process: the C library's, except that a buffer of
/// a huge page or more (scrypt's, 16 MiB at N=2^14 and 128 MiB at the default N=2^17) starts on
/// a huge-page boundary and is marked `MADV_HUGEPAGE`.
///
/// scrypt's second loop reads its buffer at random. In 4 KiB pages nearly every read misses the
/// TLB and the first touch of each page is a fault of its own (4,096 of them at N=2^14); in
/// 2 MiB pages the buffer is 8 (or 64) entries. Where the system leaves transparent huge pages
/// to `madvise` (Debian's default), OpenSSL's own `malloc` gets none. A static program calling
/// `EVP_PBE_scrypt` ran 9 to 11 % faster with this allocator, at N=2^14 and at N=2^17
/// (bench/README.md). The derivation is the same function, byte for byte; only where its
/// memory lies changes. OpenSSL still wipes the buffer (`OPENSSL_clear_free`) before it is
/// freed, and a system without huge pages (or with them `never`) ignores the advice.
public enum OpenSSLMemory {
  /// Installs the allocator. Call first thing in the process, before any other thread and any
  /// use of OpenSSL: OpenSSL takes one only before its first allocation, and keeps its own after
  /// that (false then, which is harmless: scrypt is as fast as before).
  @discardableResult
  public static func useHugePagesForLargeBuffers() -> Bool {
    CRYPTO_set_mem_functions(allocate, reallocate, release) == 1
  }

  /// A huge page on x86-64 and arm64 (4 KiB base pages); the alignment asked of large buffers.
  static let hugePageSize = 2 << 20

  /// `CRYPTO_malloc`'s contract: nil for 0 bytes, as OpenSSL's default returns.
  static let allocate: @convention(c) (Int, UnsafePointer<CChar>?, Int32) -> UnsafeMutableRawPointer? = {
    count, _, _ in
    guard count > 0 else { return nil }
    guard count >= OpenSSLMemory.hugePageSize else { return malloc(count) }
    var memory: UnsafeMutableRawPointer? = nil
    // posix_memalign keeps the buffer the C library's (free and realloc take it as any other);
    // the advice is best effort, and the buffer is valid either way.
    guard posix_memalign(&memory, OpenSSLMemory.hugePageSize, count) == 0, let memory else { return nil }
    _ = madvise(memory, count, MADV_HUGEPAGE)
    return memory
  }

  /// `CRYPTO_realloc`'s contract as OpenSSL's default keeps it: nil grows into a fresh
  /// allocation, 0 bytes frees and returns nil.
  static let reallocate:
    @convention(c) (UnsafeMutableRawPointer?, Int, UnsafePointer<CChar>?, Int32) -> UnsafeMutableRawPointer? = {
      memory, count, file, line in
      guard let memory else { return OpenSSLMemory.allocate(count, file, line) }
      guard count > 0 else {
        free(memory)
        return nil
      }
      return realloc(memory, count)
    }

  static let release: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int32) -> Void = {
    memory, _, _ in free(memory)
  }
}
