import CLinux
import VaultCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// A save of the vault begun beside scrypt, before the write lock is taken. While this thread
/// stretches the passphrase, the second one (which has just parsed the records) writes what the
/// new file most likely begins with (`VaultCodec.likelyOpening`: the opening with the generation
/// one higher, then every key line as it stands) to the save's temporary file, hashes it and
/// syncs it. Under the lock, `VaultFile.replace` writes only what follows when the new file
/// really begins with those bytes, and its fsync has little left to flush: at 10,000 keys the
/// durable write of 3.9 MB (about 10 ms here) and its SHA-256 move beside scrypt. Any other save
/// empties the same temporary and writes the whole file into it, so a save never needs room for
/// two. Until `replace` takes the temporary, it is removed when this is released (a wrong
/// passphrase, a refused change).
///
/// The temporary is `flock`ed for as long as its descriptor is open: a save removes only the
/// temporaries nobody holds so (`VaultFile.removeStaleTemporaries`), those of writers killed or
/// gone, whatever pid their names carry.
///
/// `@unchecked Sendable`: made on the second thread and handed over by `BackgroundWork`'s join,
/// it is never used by two threads at once.
final class PreparedReplacement: @unchecked Sendable {
  /// The file it will replace.
  let target: String
  /// The bytes written, from the start of the file, and their SHA-256 so far.
  let prefix: VaultCodec.HashedPrefix
  private let temporary: String
  private let descriptor: Int32
  private var taken = false

  private init(target: String, prefix: VaultCodec.HashedPrefix, temporary: String, descriptor: Int32) {
    self.target = target
    self.prefix = prefix
    self.temporary = temporary
    self.descriptor = descriptor
  }

  /// The temporary for `target` with `pieces` written and synced; nil when any step fails (the
  /// save then writes whole, and reports what fails then).
  static func begin(_ target: String, writing pieces: [ArraySlice<UInt8>]) -> PreparedReplacement? {
    guard let temporary = try? VaultFile.temporaryPath(for: target) else { return nil }
    // Armed before the file exists: Ctrl-C or SIGTERM from here on removes it (until it is
    // taken or released).
    _ = vault_arm_cleanup(temporary)
    guard let descriptor = try? VaultFile.createTemporary(at: temporary) else {
      vault_disarm_cleanup()
      return nil
    }
    func abandon() -> PreparedReplacement? {
      vault_disarm_cleanup()
      unlink(temporary)
      SystemCalls.close(descriptor)
      return nil
    }
    // Never contended: the file was just made (O_EXCL), unless a save's cleanup opened it in
    // between, which then removes it.
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return abandon() }
    let stream = SHA256.Stream()
    for piece in pieces {
      guard SystemCalls.writeAll(descriptor, piece) == nil else { return abandon() }
      piece.withUnsafeBytes { stream.update($0) }
    }
    // The data now, the name and the rest at the save's fsync: this thread has time to wait.
    guard SystemCalls.dataSync(descriptor) == 0 else { return abandon() }
    let prefix = VaultCodec.HashedPrefix(pieces: pieces, count: BytePieces.count(pieces), digest: stream)
    return PreparedReplacement(target: target, prefix: prefix, temporary: temporary, descriptor: descriptor)
  }

  /// The temporary's path and descriptor, and what is left to write to it for the new file
  /// `pieces` of `path`: what follows the prefix when the file begins with it, else every piece,
  /// the temporary emptied first. Nil when the temporary's name no longer leads to this file (a
  /// save by an older build, under the lock, removes every temporary it finds). The caller then
  /// owns both (closes, renames or removes).
  func take(for path: String, writing pieces: [ArraySlice<UInt8>]) -> (
    temporary: String, descriptor: Int32, rest: [ArraySlice<UInt8>]
  )? {
    guard !taken, path == target, isStillAtItsPath else { return nil }
    // From here the save renames or removes it, as any save its temporary.
    vault_disarm_cleanup()
    if BytePieces.begin(pieces, with: prefix.pieces) {
      taken = true
      SystemCalls.record("take")
      return (temporary, descriptor, BytePieces.dropping(prefix.count, from: pieces))
    }
    guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else { return nil }
    taken = true
    SystemCalls.record("take emptied")
    return (temporary, descriptor, pieces)
  }

  /// Whether the temporary's name still leads to the file this descriptor writes.
  private var isStillAtItsPath: Bool {
    guard let named = SystemCalls.pathStatus(temporary, followLinks: false),
      let open = SystemCalls.fileStatus(descriptor)
    else { return false }
    return named.st_dev == open.st_dev && named.st_ino == open.st_ino
  }

  deinit {
    guard !taken else { return }
    vault_disarm_cleanup()
    // Only the file this wrote: a name someone else reused is not this one's to remove.
    if isStillAtItsPath { unlink(temporary) }
    SystemCalls.close(descriptor)
  }
}
