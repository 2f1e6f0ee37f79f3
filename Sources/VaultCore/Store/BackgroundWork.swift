import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Work done on a second thread while this one does something else: a vault of 10,000 keys is
/// parsed while scrypt stretches the passphrase, which takes about as long. `wait` returns its
/// result (or throws its error); the thread is always joined, by `wait` or at the latest by
/// `deinit`, so it never outlives the call that started it. Without a thread to be had, the
/// work runs in `wait`.
final class BackgroundWork<Value: Sendable>: Sendable {
  /// What the thread fills in; it holds this, not the BackgroundWork, so `deinit` can join it.
  private final class Outcome: Sendable {
    let result = Mutex<Result<Value, any Error>?>(nil)
  }

  private let work: @Sendable () throws -> Value
  private let outcome = Outcome()
  private let thread: Mutex<pthread_t?>

  init(_ work: @escaping @Sendable () throws -> Value) {
    self.work = work
    let outcome = self.outcome
    thread = Mutex(
      SystemCalls.startThread {
        let result = Result { try work() }
        outcome.result.withLock { $0 = result }
      })
  }

  /// The work's value, once it has finished.
  func wait() throws -> Value {
    join()
    if let done = outcome.result.withLock({ $0 }) { return try done.get() }
    let result = Result { try work() }
    outcome.result.withLock { $0 = result }
    return try result.get()
  }

  private func join() {
    let started = thread.withLock { state -> pthread_t? in
      defer { state = nil }
      return state
    }
    if let started { SystemCalls.joinThread(started) }
  }

  deinit {
    join()
  }
}
