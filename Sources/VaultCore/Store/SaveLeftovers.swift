import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// What a save read and wrote (the file's bytes, its records parsed, the document changed, the
/// pieces written), freed on a detached thread of its own: at 10,000 keys, freeing them one by
/// one (the keys' boxes and buffers, `malloc_consolidate`) took the main thread 4 ms after the
/// save was done. A command that exits right after does not wait for it (the process's exit
/// ends the thread); a long-lived process gets the memory back all the same. Only ciphertext
/// and metadata: the keyring, which holds the master key, is released as always, where it is
/// wiped.
final class SaveLeftovers: Sendable {
  private let files: [LockedVault]
  private let documents: [VaultDocument]
  private let pieces: [ArraySlice<UInt8>]

  /// Which thread freed which leftovers, kept only while a test has turned this on (not nil).
  static let freeingThreads = Mutex<[ObjectIdentifier: pthread_t]?>(nil)

  init(files: [LockedVault], documents: [VaultDocument], pieces: [ArraySlice<UInt8>]) {
    self.files = files
    self.documents = documents
    self.pieces = pieces
  }

  deinit {
    let freed = ObjectIdentifier(self)
    Self.freeingThreads.withLock { $0?[freed] = pthread_self() }
  }

  /// Drops `leftovers` on a detached thread. The caller passes its last reference (`consume`),
  /// so the thread's is the one that frees.
  static func release(_ leftovers: consuming SaveLeftovers) {
    let owned = Owned(leftovers)
    SystemCalls.runDetached { owned.drop() }
  }

  /// The one reference, taken out when dropped, so the thread that drops it is the one that frees.
  private final class Owned: @unchecked Sendable {
    // @unchecked: set once here, taken once by `drop`, on the one thread that runs it.
    private var leftovers: SaveLeftovers?
    init(_ leftovers: consuming SaveLeftovers) { self.leftovers = leftovers }
    func drop() { leftovers = nil }
  }
}
