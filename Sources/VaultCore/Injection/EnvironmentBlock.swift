#if canImport(Glibc)
  import Glibc
#endif

/// A child's environment as `execve` and `posix_spawn` take it: every `NAME=value` entry,
/// NUL-terminated, one after the other in one allocation, and the NULL-terminated array of
/// pointers to them. Written in place at its final size, so a launch with a thousand keys makes
/// two allocations here instead of a thousand arrays and a second copy of them all
/// (bench/README.md, "Ninth round").
///
/// It holds values: `wipe()` zeroes the entries once the child has them, and the last
/// reference wipes them too. A successful `execve` replaces the whole process, this included.
public final class EnvironmentBlock {
  private let bytes: UnsafeMutableRawBufferPointer
  private let pointers: UnsafeMutableBufferPointer<UnsafeMutablePointer<CChar>?>
  /// The entries written so far, and the first free byte.
  private var written = 0
  private var offset = 0

  /// Room for `count` entries of `byteCount` bytes in all, their NULs included.
  init(count: Int, byteCount: Int) {
    bytes = .allocate(byteCount: max(byteCount, 1), alignment: 1)
    bytes.initializeMemory(as: UInt8.self, repeating: 0)
    pointers = .allocate(capacity: count + 1)
    pointers.initialize(repeating: nil)
  }

  deinit {
    wipe()
    bytes.deallocate()
    pointers.deallocate()
  }

  /// The number of entries.
  public var count: Int { written }

  /// The bytes an entry `name=value` takes, its NUL included.
  static func byteCount(name: String, valueByteCount: Int) -> Int { name.utf8.count + valueByteCount + 2 }

  /// Appends `name=value`, copying both. The entry must fit the room `init` was given.
  func append(name: String, value: UnsafeRawBufferPointer) {
    let size = Self.byteCount(name: name, valueByteCount: value.count)
    precondition(written < pointers.count - 1 && offset + size <= bytes.count, "an entry past the block's room")
    let entry = UnsafeMutableRawBufferPointer(rebasing: bytes[offset..<(offset + size)])
    var name = name
    let nameCount = name.withUTF8 { utf8 in
      entry.copyMemory(from: UnsafeRawBufferPointer(utf8))
      return utf8.count
    }
    entry[nameCount] = UInt8(ascii: "=")
    UnsafeMutableRawBufferPointer(rebasing: entry[(nameCount + 1)..<(size - 1)]).copyMemory(from: value)
    entry[size - 1] = 0
    pointers[written] = entry.baseAddress!.assumingMemoryBound(to: CChar.self)
    written += 1
    offset += size
  }

  /// Calls `body` with the NULL-terminated array of entries (`envp`); it must not escape.
  public func withPointers<Result>(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Result) -> Result {
    body(pointers.baseAddress!)
  }

  /// Each entry's bytes, without its NUL: copies, for tests and for callers that inspect the
  /// environment (never for the launch itself).
  public var entries: [[UInt8]] {
    (0..<written).map { index in
      let entry = pointers[index]!
      return [UInt8](UnsafeRawBufferPointer(start: entry, count: strlen(entry)))
    }
  }

  /// Zeroes every entry in place (the pointers stay: a wiped block is a block of empty strings
  /// to no one, since it is only wiped once the child has its copy).
  public func wipe() {
    // explicit_bzero, not memset: the last wipe comes just before the free, a store a compiler
    // may drop.
    explicit_bzero(bytes.baseAddress!, bytes.count)
  }
}
