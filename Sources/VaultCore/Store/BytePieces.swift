#if canImport(Glibc)
  import Glibc
#endif

/// A file's bytes as the pieces they are written in (`VaultCodec.EncodedFile`): the writer's
/// own buffers and slices of the file read, which a save of 10,000 keys does not copy into one.
enum BytePieces {
  /// How many bytes the pieces hold together.
  static func count(_ pieces: [ArraySlice<UInt8>]) -> Int {
    pieces.reduce(0) { $0 + $1.count }
  }

  /// Whether the bytes of `pieces`, one after the other, begin with those of `prefix` (cut
  /// anywhere). A slice that is the very same memory as its counterpart (a run of key lines of
  /// the file read, as both sides took it) is equal without a byte being compared. Not for
  /// secrets: it stops at the first difference.
  static func begin(_ pieces: [ArraySlice<UInt8>], with prefix: [ArraySlice<UInt8>]) -> Bool {
    var index = 0
    var offset = 0
    for expected in prefix {
      var remaining = expected[...]
      while !remaining.isEmpty {
        guard index < pieces.count else { return false }
        let piece = pieces[index]
        guard offset < piece.count else {
          (index, offset) = (index + 1, 0)
          continue
        }
        let length = min(piece.count - offset, remaining.count)
        let start = piece.startIndex + offset
        guard same(piece[start..<start + length], remaining.prefix(length)) else { return false }
        remaining = remaining.dropFirst(length)
        offset += length
      }
    }
    return true
  }

  /// The bytes of `pieces` after the first `count`, as slices of the same memory.
  static func dropping(_ count: Int, from pieces: [ArraySlice<UInt8>]) -> [ArraySlice<UInt8>] {
    var skip = count
    var rest: [ArraySlice<UInt8>] = []
    for piece in pieces {
      if skip >= piece.count {
        skip -= piece.count
        continue
      }
      rest.append(piece.dropFirst(skip))
      skip = 0
    }
    return rest
  }

  /// Two slices of one length, compared; the same address is the same bytes.
  private static func same(_ left: ArraySlice<UInt8>, _ right: ArraySlice<UInt8>) -> Bool {
    left.withUnsafeBytes { first in
      right.withUnsafeBytes { second in
        first.count == second.count
          && (first.baseAddress == second.baseAddress
            || memcmp(first.baseAddress!, second.baseAddress!, first.count) == 0)
      }
    }
  }
}
