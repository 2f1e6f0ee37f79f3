#if canImport(Glibc)
  import Glibc
#endif

/// Detached POSIX threads: one per client connection, so a blocked read or a long stream holds
/// only its own thread. The stack is reserved small (256 KiB): a thousand idle connections
/// then cost address space, not resident memory.
enum Threads {
  private final class Box: @unchecked Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
  }

  /// Runs `body` on a new detached thread; false when the system refuses another thread.
  @discardableResult
  static func detach(stackSize: Int = 256 << 10, _ body: @escaping @Sendable () -> Void) -> Bool {
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    pthread_attr_setstacksize(&attributes, stackSize)
    let box = Unmanaged.passRetained(Box(body))
    var thread = pthread_t()
    let result = pthread_create(
      &thread, &attributes,
      { argument in
        let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
        box.body()
        return nil
      }, box.toOpaque())
    if result != 0 {
      box.release()
      return false
    }
    return true
  }

  static func sleep(milliseconds: Int) {
    var time = timespec(tv_sec: milliseconds / 1_000, tv_nsec: (milliseconds % 1_000) * 1_000_000)
    var remaining = timespec()
    while nanosleep(&time, &remaining) == -1 && errno == EINTR { time = remaining }
  }

  /// Seconds on the monotonic clock, for timeouts and rate limits (never the wall clock).
  static func monotonicSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }
}
