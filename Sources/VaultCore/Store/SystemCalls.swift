import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Every raw system call the store makes, each wrapped the same way: retried on `EINTR`, and a
/// failure turned into a `VaultError` that names the operation and the path (never contents).
enum SystemCalls {
  /// The text of `errno` for messages.
  static func describe(_ code: Int32) -> String {
    String(cString: strerror(code))
  }

  static func ioError(_ what: String, _ path: String, _ code: Int32 = errno) -> VaultError {
    if code == ENOSPC || code == EDQUOT {
      return .io("disk full while trying to \(what) \(path); the vault file was not changed")
    }
    return .io("cannot \(what) \(path): \(describe(code))")
  }

  /// Retries `call` while it fails with `EINTR`.
  static func retrying<Result: BinaryInteger>(_ call: () -> Result) -> Result {
    while true {
      let result = call()
      if result == -1 && errno == EINTR { continue }
      return result
    }
  }

  /// The corresponding C function is `open`; always with `O_CLOEXEC`.
  static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) -> Int32 {
    retrying { Glibc.open(path, flags | O_CLOEXEC, mode) }
  }

  /// Writes every byte or fails; the corresponding C function is `write`, called until done.
  static func writeAll(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>) -> Int32? {
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes { buffer in
        retrying { Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset) }
      }
      if written < 0 { return errno }
      offset += written
    }
    return nil
  }

  /// Reads to end of file, refusing more than `limit` bytes.
  static func readAll(_ descriptor: Int32, limit: Int, expectedSize: Int = 0) -> Result<[UInt8], ReadFailure> {
    // Straight into an array of the size fstat gave, plus one byte so that the end of the file
    // shows in the same reads: a 4 MB vault is read without growing and copying the array (and
    // touching twice its memory) chunk by chunk.
    let capacity = min(max(expectedSize, 0), limit) + 1
    var failure: Int32 = 0
    var bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
      count = 0
      while count < buffer.count {
        let read = retrying { Glibc.read(descriptor, buffer.baseAddress! + count, buffer.count - count) }
        if read < 0 { failure = errno }
        if read <= 0 { return }
        count += read
      }
    }
    if failure != 0 { return .failure(.system(failure)) }
    if bytes.count < capacity { return .success(bytes) }
    // Longer than expected (it grew since fstat, or no size was given): the rest in chunks.
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      if bytes.count > limit { return .failure(.tooLarge) }
      let count = chunk.withUnsafeMutableBytes { buffer in
        retrying { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
      }
      if count < 0 { return .failure(.system(errno)) }
      if count == 0 { return .success(bytes) }
      bytes.append(contentsOf: chunk[0..<count])
    }
  }

  /// Up to `count` bytes from `offset`, without moving the file position; empty on failure.
  /// The corresponding C function is `pread`.
  static func read(_ descriptor: Int32, count: Int, at offset: Int) -> [UInt8] {
    guard count > 0 else { return [] }
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, filled in
      let read = retrying { pread(descriptor, buffer.baseAddress, count, off_t(offset)) }
      filled = max(read, 0)
    }
  }

  /// Whether reading `descriptor` to its end gives exactly `known`, read in 64 KiB chunks and
  /// compared with `memcmp` as they come. False on a read error too (the caller reads again,
  /// and reports it then). Not for secrets (it stops at the first difference).
  static func readMatches(_ descriptor: Int32, _ known: [UInt8]) -> Bool {
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    return known.withUnsafeBytes { expected in
      chunk.withUnsafeMutableBytes { buffer in
        var offset = 0
        while true {
          let read = retrying { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
          if read < 0 { return false }
          if read == 0 { return offset == expected.count }
          guard read <= expected.count - offset,
            memcmp(buffer.baseAddress!, expected.baseAddress! + offset, read) == 0
          else { return false }
          offset += read
        }
      }
    }
  }

  enum ReadFailure: Error {
    case system(Int32)
    case tooLarge
  }

  /// The corresponding C function is `fsync`.
  static func fsync(_ descriptor: Int32) -> Int32 {
    let result = retrying { Glibc.fsync(descriptor) }
    record(result == 0 ? "fsync" : "fsync failed")
    return result
  }

  /// The corresponding C function is `fdatasync`.
  static func dataSync(_ descriptor: Int32) -> Int32 {
    let result = retrying { Glibc.fdatasync(descriptor) }
    record(result == 0 ? "fdatasync" : "fdatasync failed")
    return result
  }

  /// The corresponding C function is `rename`.
  static func rename(_ from: String, _ to: String) -> Int32 {
    let result = Glibc.rename(from, to)
    record(result == 0 ? "rename" : "rename failed")
    return result
  }

  /// The durability calls of this process in order (`fsync`, `fdatasync`, `rename`, and `take`
  /// or `take emptied` when a save writes the rest of a temporary begun beside scrypt, or all of
  /// the file into it), kept only while a test has turned tracing on: a save whose fsyncs were
  /// skipped still looks right after a SIGKILL (the page cache survives), so tests check the
  /// calls themselves.
  static let trace = Mutex<[String]?>(nil)

  static func record(_ event: String) {
    trace.withLock { events in events?.append(event) }
  }

  /// Runs `body` on a new thread; nil when no thread could be made (the caller then runs it
  /// itself). The corresponding C function is `pthread_create`.
  static func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
    final class Start: Sendable {
      let body: @Sendable () -> Void
      init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let start = Unmanaged.passRetained(Start(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(
      &thread, nil,
      { raw in
        Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
      }, start)
    guard result == 0 else {
      Unmanaged<Start>.fromOpaque(start).release()
      return nil
    }
    return thread
  }

  /// Runs `body` on a detached thread, one nobody waits for (here, when no thread can be had):
  /// for work whose end nobody needs to see, which a process's exit may cut short.
  static func runDetached(_ body: @escaping @Sendable () -> Void) {
    guard let thread = startThread(body) else { return body() }
    pthread_detach(thread)
  }

  /// Waits for a thread `startThread` made to end. The corresponding C function is `pthread_join`.
  static func joinThread(_ thread: pthread_t) {
    _ = pthread_join(thread, nil)
  }

  static func close(_ descriptor: Int32) {
    // close is not retried on EINTR: on Linux the descriptor is gone either way.
    _ = Glibc.close(descriptor)
  }

  static func fileStatus(_ descriptor: Int32) -> stat? {
    var status = stat()
    return fstat(descriptor, &status) == 0 ? status : nil
  }

  static func pathStatus(_ path: String, followLinks: Bool = true) -> stat? {
    var status = stat()
    let result = followLinks ? stat(path, &status) : lstat(path, &status)
    return result == 0 ? status : nil
  }

  static func isRegular(_ status: stat) -> Bool { status.st_mode & S_IFMT == S_IFREG }
  /// Whether this user owns it and none of the `forbidden` permission bits is set (0o022: no
  /// one else may write it; 0o077: no one else may read or write it).
  static func isOwn(_ status: stat, forbidding forbidden: mode_t) -> Bool {
    status.st_uid == geteuid() && status.st_mode & forbidden == 0
  }
  static func isDirectory(_ status: stat) -> Bool { status.st_mode & S_IFMT == S_IFDIR }
  static func isSymbolicLink(_ status: stat) -> Bool { status.st_mode & S_IFMT == S_IFLNK }

  /// The text of the symbolic link at `path`. The corresponding C function is `readlink`.
  static func linkTarget(_ path: String) -> String? {
    var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = buffer.withUnsafeMutableBytes {
      readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1)
    }
    guard count > 0 else { return nil }
    return String(decoding: buffer[0..<count], as: UTF8.self)
  }

  /// The absolute path with every symbolic link resolved, or nil when it does not exist.
  static func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// The parent directory of `path` (`.` for a bare file name).
  static func directory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
  }

  static func baseName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
  }

  /// The names in `directory`, without `.` and `..`; nil when it cannot be opened. The
  /// corresponding C functions are `opendir` and `readdir`.
  static func entryNames(of directory: String) -> [String]? {
    guard let stream = opendir(directory) else { return nil }
    defer { closedir(stream) }
    var names: [String] = []
    while let entry = readdir(stream) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }

  /// Creates `path` and any missing parents with mode 0700 (`mkdir -p`, private by default).
  static func makeDirectories(_ path: String) throws {
    if let status = pathStatus(path) {
      guard isDirectory(status) else { throw VaultError.io("cannot create directory \(path): a file is in the way") }
      return
    }
    let parent = directory(of: path)
    if parent != path, parent != "." { try makeDirectories(parent) }
    if mkdir(path, 0o700) != 0 && errno != EEXIST { throw ioError("create directory", path) }
  }
}
