#if canImport(Glibc)
  import Glibc
#endif

/// Every socket call the gateway makes, each wrapped the same way: retried on EINTR, -1 turned
/// into a `SocketError` naming the call. The gateway's only system-call file besides threads.
public struct SocketError: Error, Equatable, Sendable {
  public var message: String

  init(_ call: String, _ code: Int32 = errno) {
    message = "\(call): \(String(cString: strerror(code)))"
  }

  init(message: String) {
    self.message = message
  }
}

/// Package-wide so the unlock agent (VaultCommandLine) uses the same wrapped calls.
package enum Sockets {
  package static func retrying<Result: BinaryInteger>(_ call: () -> Result) -> Result {
    while true {
      let result = call()
      if result == -1 && errno == EINTR { continue }
      return result
    }
  }

  /// A listening TCP socket on a loopback address only (127.0.0.0/8 or ::1).
  static func listenTCP(host: String, port: Int, backlog: Int32 = 1_024) throws(SocketError) -> Int32 {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE
    var result: UnsafeMutablePointer<addrinfo>? = nil
    guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
      throw SocketError(message: "'\(host)' is not a numeric IP address")
    }
    defer { freeaddrinfo(result) }
    let descriptor = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw SocketError("socket") }
    var one: Int32 = 1
    setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    try listening(
      descriptor, bound: bind(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen), "\(host):\(port)", backlog)
    return descriptor
  }

  /// Checks `bound` (bind's result) and listens; closes `descriptor` on either failure.
  private static func listening(_ descriptor: Int32, bound: Int32, _ what: String, _ backlog: Int32)
    throws(SocketError)
  {
    guard bound == 0 else {
      let error = SocketError("bind \(what)")
      close(descriptor)
      throw error
    }
    guard listen(descriptor, backlog) == 0 else {
      let error = SocketError("listen")
      close(descriptor)
      throw error
    }
  }

  /// The port a listening socket got (for `--listen 127.0.0.1:0`).
  static func localPort(_ descriptor: Int32) -> Int {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    let family = storage.ss_family
    return withUnsafePointer(to: &storage) { pointer in
      if family == sa_family_t(AF_INET6) {
        return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
          Int(UInt16(bigEndian: $0.pointee.sin6_port))
        }
      }
      return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
        Int(UInt16(bigEndian: $0.pointee.sin_port))
      }
    }
  }

  /// A listening unix socket at `path`, mode 0600 from the moment it exists (umask around
  /// bind), replacing a stale socket left by a killed gateway but never any other file.
  package static func listenUnix(path: String, backlog: Int32 = 1_024) throws(SocketError) -> Int32 {
    var address = try unixAddress(path)
    var status = stat()
    if lstat(path, &status) == 0 {
      guard status.st_mode & S_IFMT == S_IFSOCK else {
        throw SocketError(message: "\(path) exists and is not a socket")
      }
      if connectUnixOnce(path) {
        throw SocketError(message: "another gateway is already serving on \(path)")
      }
      unlink(path)
    }
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw SocketError("socket") }
    let previous = umask(0o177)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    umask(previous)
    try listening(descriptor, bound: bound, path, backlog)
    return descriptor
  }

  private static func unixAddress(_ path: String) throws(SocketError) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
      throw SocketError(message: "the socket path \(path) is longer than 107 bytes")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
      for (index, byte) in bytes.enumerated() { buffer[index] = byte }
    }
    return address
  }

  /// Whether something answers at the unix socket `path`.
  private static func connectUnixOnce(_ path: String) -> Bool {
    guard let descriptor = try? connectUnix(path: path) else { return false }
    close(descriptor)
    return true
  }

  /// A connected unix socket.
  package static func connectUnix(path: String) throws(SocketError) -> Int32 {
    var address = try unixAddress(path)
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw SocketError("socket") }
    let connected = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
        retrying { connect(descriptor, socketAddress, socklen_t(MemoryLayout<sockaddr_un>.size)) }
      }
    }
    guard connected == 0 else {
      let error = SocketError("connect \(path)")
      close(descriptor)
      throw error
    }
    return descriptor
  }

  /// A connected TCP socket to `host:port` (resolved with getaddrinfo), with `timeout` seconds
  /// for connecting and for each later read and write.
  static func connectTCP(host: String, port: Int, timeout: Int) throws(SocketError) -> Int32 {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var result: UnsafeMutablePointer<addrinfo>? = nil
    let status = getaddrinfo(host, String(port), &hints, &result)
    guard status == 0, result != nil else {
      throw SocketError(message: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
    }
    defer { freeaddrinfo(result) }
    var lastError = SocketError(message: "cannot connect to \(host):\(port)")
    var next = result
    while let info = next {
      next = info.pointee.ai_next
      let descriptor = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      guard descriptor >= 0 else { continue }
      setTimeouts(descriptor, seconds: timeout)
      if retrying({ connect(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) }) == 0 {
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return descriptor
      }
      lastError = SocketError("connect \(host):\(port)")
      close(descriptor)
    }
    throw lastError
  }

  /// Accepts one connection; nil when the listening socket was shut down or on a transient error.
  package static func accept(_ listener: Int32) -> Int32? {
    let descriptor = retrying { Glibc.accept(listener, nil, nil) }
    guard descriptor >= 0 else { return nil }
    _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
    return descriptor
  }

  package static func setTimeouts(_ descriptor: Int32, seconds: Int, milliseconds: Int = 0) {
    var time = timeval(tv_sec: seconds, tv_usec: milliseconds * 1_000)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
  }

  static func setNoDelay(_ descriptor: Int32) {
    var one: Int32 = 1
    setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
  }

  /// The uid of the process at the other end of a unix socket (SO_PEERCRED).
  package static func peerUID(_ descriptor: Int32) -> uid_t? {
    // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Glibc hides it without _GNU_SOURCE).
    var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
    var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
    guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
    return credentials.uid
  }

  /// Reads what is there, up to buffer.count; 0 at end of stream; -1 on error or timeout.
  package static func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    retrying { recv(descriptor, buffer.baseAddress, buffer.count, 0) }
  }

  /// Writes every byte; false on error, timeout or a peer that went away (no SIGPIPE).
  package static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
      let written = retrying {
        send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
      }
      if written <= 0 { return false }
      offset += written
    }
    return true
  }

  /// Whether `descriptor` has data to read or was closed by the peer within `milliseconds`.
  package static func waitReadable(_ descriptor: Int32, milliseconds: Int32) -> Bool {
    var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    return retrying { poll(&entry, 1, milliseconds) } > 0
  }

  static func shutdownWrite(_ descriptor: Int32) {
    shutdown(descriptor, Int32(SHUT_WR))
  }

  static func shutdownBoth(_ descriptor: Int32) {
    shutdown(descriptor, Int32(SHUT_RDWR))
  }

  package static func close(_ descriptor: Int32) {
    _ = Glibc.close(descriptor)
  }
}
