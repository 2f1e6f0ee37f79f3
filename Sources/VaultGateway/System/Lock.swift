#if canImport(Glibc)
  import Glibc
#endif

/// State behind a plain pthread mutex. The gateway's threads take these locks for a few
/// instructions per request; Synchronization's Mutex on Linux spins and then takes a
/// priority-inheritance futex, which under 32 busy connections on 2 cores cost 15% of the
/// gateway's time in its slow path (perf, bench/gateway). A normal mutex sleeps at once.
/// `@unchecked Sendable`: every access to `state` happens under `mutex`.
final class Lock<State>: @unchecked Sendable {
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private var state: State

  init(_ state: State) {
    self.state = state
    mutex = .allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    pthread_mutex_init(mutex, nil)
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deinitialize(count: 1)
    mutex.deallocate()
  }

  func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&state)
  }
}
