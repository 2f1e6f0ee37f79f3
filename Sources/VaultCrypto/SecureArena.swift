import COpenSSL

#if canImport(Glibc)
  import Glibc
#endif

/// Memory for secrets, locked in RAM where the system allows it. Small secrets (keys, values
/// up to 4 KiB) share chunks that are locked once, instead of paying an mlock and an munlock
/// system call each: `vault run` with a thousand keys made four thousand of them. The first
/// chunk is 16 KiB, the second 32, then 64 each: mlock faults in every page it locks, and a
/// 10-key `vault run` needs about 2 KiB of secrets, not the 16 pages of a 64 KiB chunk.
/// Every slot is wiped when released; a chunk is unlocked and freed when its last slot goes.
final class SecureArena: @unchecked Sendable {
  /// One locked chunk and how many of its slots are still in use.
  final class Chunk {
    let base: UnsafeMutableRawPointer
    let size: Int
    /// Whether mlock took it (refused past RLIMIT_MEMLOCK).
    let locked: Bool
    var used = 0
    var live = 0

    init?(size: Int) {
      var memory: UnsafeMutableRawPointer? = nil
      guard posix_memalign(&memory, Int(sysconf(Int32(_SC_PAGESIZE))), size) == 0, let memory else { return nil }
      base = memory
      self.size = size
      // Best effort: refusal (RLIMIT_MEMLOCK) is not an error.
      locked = mlock(base, size) == 0
    }

    func free() {
      OPENSSL_cleanse(base, size)
      _ = munlock(base, size)
      Glibc.free(base)
    }
  }

  static let shared = SecureArena()
  /// Secrets larger than this get memory of their own.
  static let largestPooled = 4096
  private static let firstChunkSize = 16 * 1024
  private static let largestChunkSize = 64 * 1024

  // The arena is shared by every thread; SecretBytes are Sendable. The mutex lives at a fixed
  // address of its own (the arena is never freed): taken `&` as a stored property, every lock
  // and unlock also went through Swift's run-time exclusivity check, twice per secret.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private var current: Chunk? = nil
  /// The size of the next chunk: it doubles from `firstChunkSize` up to `largestChunkSize`.
  private var nextChunkSize = SecureArena.firstChunkSize

  private init() {
    mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    pthread_mutex_init(mutex, nil)
  }

  /// Memory for `count` bytes (at least 1), the chunk it came from (nil: its own allocation),
  /// and whether it is locked in RAM.
  func allocate(_ count: Int) -> (memory: UnsafeMutableRawPointer, chunk: Chunk?, locked: Bool) {
    let rounded = max(16, (count + 15) & ~15)
    guard rounded <= Self.largestPooled else {
      let memory = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: 16)
      return (memory, nil, mlock(memory, rounded) == 0)
    }
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    if current == nil || current!.used + rounded > current!.size {
      // The full chunk stops being current before anything else, so a failure below can never
      // leave `current` pointing at freed memory.
      if let old = current {
        current = nil
        if old.live == 0 { old.free() }
      }
      let size = nextChunkSize
      nextChunkSize = min(size * 2, Self.largestChunkSize)
      guard let chunk = Chunk(size: size) else {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: 16)
        return (memory, nil, mlock(memory, rounded) == 0)
      }
      current = chunk
    }
    let chunk = current!
    let memory = chunk.base + chunk.used
    chunk.used += rounded
    chunk.live += 1
    return (memory, chunk, chunk.locked)
  }

  /// Wipes and returns memory from `allocate`.
  func release(_ memory: UnsafeMutableRawPointer, count: Int, chunk: Chunk?) {
    let rounded = max(16, (count + 15) & ~15)
    OPENSSL_cleanse(memory, rounded)
    guard let chunk else {
      _ = munlock(memory, rounded)
      memory.deallocate()
      return
    }
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    chunk.live -= 1
    if chunk.live == 0 && chunk !== current { chunk.free() }
  }
}
