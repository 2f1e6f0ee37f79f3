#if canImport(Glibc)
  import Glibc
#endif

/// Which file, and which contents of it: device, inode, size and the modification and change
/// times, to the nanosecond. Any write to a file changes its change time (ctime), which no
/// user can set back, and a save replaces the vault with a new inode; so while a file's
/// identity is unchanged, so are its bytes, provided the identity was taken after its last
/// write could still share a clock tick with it (`isSettled`).
public struct FileIdentity: Equatable, Sendable {
  var device: UInt64
  var inode: UInt64
  var size: Int64
  var modified: timespec
  var changed: timespec

  init(_ status: stat) {
    device = UInt64(status.st_dev)
    inode = UInt64(status.st_ino)
    size = Int64(status.st_size)
    modified = status.st_mtim
    changed = status.st_ctim
  }

  public static func == (left: FileIdentity, right: FileIdentity) -> Bool {
    left.device == right.device && left.inode == right.inode && left.size == right.size
      && left.modified.tv_sec == right.modified.tv_sec && left.modified.tv_nsec == right.modified.tv_nsec
      && left.changed.tv_sec == right.changed.tv_sec && left.changed.tv_nsec == right.changed.tv_nsec
  }

  /// The file at `path` (links followed), or nil when it cannot be stat'ed.
  static func of(_ path: String) -> FileIdentity? {
    SystemCalls.pathStatus(path).map(FileIdentity.init)
  }

  /// The open file `descriptor`. On a network file system an open checks with the server,
  /// where a `stat` of the path may answer from attributes cached for up to a minute.
  static func of(descriptor: Int32) -> FileIdentity? {
    SystemCalls.fileStatus(descriptor).map(FileIdentity.init)
  }

  /// Whether the last change is at least `seconds` in the past. The kernel stamps a write with
  /// a clock read at a tick's granularity, so a write in the same tick as an identity taken
  /// just before it could leave the identity unchanged (as git's "racily clean" index entries);
  /// a change time seconds old cannot be shared with a write still to come.
  func isSettled(seconds: Int64, now: timespec) -> Bool {
    let age = Int64(now.tv_sec) - Int64(changed.tv_sec)
    return age > seconds || (age == seconds && now.tv_nsec >= changed.tv_nsec)
  }

  /// `DEVICE:INODE:SIZE:MTIME:CTIME`, times as `SECONDS.NANOSECONDS` with nine digits after the
  /// point: the form bound into the run cache (docs/FORMAT.md, "The run cache").
  var text: String {
    "\(device):\(inode):\(size):\(Self.time(modified)):\(Self.time(changed))"
  }

  private static func time(_ time: timespec) -> String {
    let nanoseconds = String(time.tv_nsec)
    return "\(time.tv_sec)." + String(repeating: "0", count: max(0, 9 - nanoseconds.count)) + nanoseconds
  }
}
