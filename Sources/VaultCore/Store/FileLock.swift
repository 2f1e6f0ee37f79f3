#if canImport(Glibc)
  import Glibc
#endif

/// An exclusive `flock` on the vault's lock file (`<vault>.lock`), held for the life of this
/// object. A separate file, because the vault file itself is replaced by rename on every save
/// and a lock on the old inode would not stop the next writer. The lock file is never deleted:
/// deleting it would let two writers lock two different inodes.
public final class FileLock {
  private let descriptor: Int32

  /// Waits up to `timeout` seconds for the lock, then fails with `busy`.
  public init(path: String, timeout: Double) throws {
    // O_NOFOLLOW: a symlink planted at the lock path must not redirect the open.
    let descriptor = SystemCalls.open(path, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600)
    guard descriptor >= 0 else { throw SystemCalls.ioError("open the lock file", path) }
    let deadline = Self.monotonicSeconds() + timeout
    var pause: useconds_t = 2_000
    while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
      let code = errno
      guard code == EWOULDBLOCK || code == EINTR else {
        SystemCalls.close(descriptor)
        throw SystemCalls.ioError("lock", path, code)
      }
      guard Self.monotonicSeconds() < deadline else {
        SystemCalls.close(descriptor)
        throw VaultError.busy(path: path)
      }
      usleep(pause)
      // Back off to 50 ms so a long wait does not spin, but a short one stays short.
      pause = min(pause * 2, 50_000)
    }
    self.descriptor = descriptor
  }

  deinit {
    // Closing the descriptor releases the flock.
    SystemCalls.close(descriptor)
  }

  static func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
  }
}
