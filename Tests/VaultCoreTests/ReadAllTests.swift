import XCTest

@testable import VaultCore

#if canImport(Glibc)
  import Glibc
#endif

/// `SystemCalls.readAll` reads into an array sized from fstat; these cover a size hint that is
/// right, too small (the file grew since fstat), missing, and the limit on each path.
final class ReadAllTests: XCTestCase {
  private var path = ""

  override func setUp() {
    let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    path = directory + "/read-all-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
  }

  override func tearDown() {
    unlink(path)
  }

  private func write(_ bytes: [UInt8]) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    XCTAssertGreaterThanOrEqual(descriptor, 0)
    XCTAssertEqual(bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }, bytes.count)
    close(descriptor)
  }

  private func read(limit: Int, expectedSize: Int) -> Result<[UInt8], SystemCalls.ReadFailure> {
    let descriptor = open(path, O_RDONLY)
    defer { close(descriptor) }
    return SystemCalls.readAll(descriptor, limit: limit, expectedSize: expectedSize)
  }

  func testEveryHintReadsTheWholeFile() throws {
    let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    write(bytes)
    for hint in [bytes.count, 0, 1, 65_536, bytes.count - 1, bytes.count + 5_000, 1 << 30] {
      guard case .success(let read) = read(limit: 1 << 20, expectedSize: hint) else {
        return XCTFail("hint \(hint): read failed")
      }
      XCTAssertEqual(read, bytes, "hint \(hint)")
    }
  }

  func testTheLimitHoldsWhateverTheHint() {
    write([UInt8](repeating: 7, count: 100_000))
    for hint in [0, 50_000, 100_000, 200_000] {
      guard case .failure(.tooLarge) = read(limit: 99_999, expectedSize: hint) else {
        return XCTFail("hint \(hint): a file over the limit was read")
      }
      guard case .success(let read) = read(limit: 100_000, expectedSize: hint) else {
        return XCTFail("hint \(hint): a file at the limit was refused")
      }
      XCTAssertEqual(read.count, 100_000)
    }
  }

  func testAnEmptyFileIsEmpty() {
    write([])
    guard case .success(let read) = read(limit: 10, expectedSize: 0) else { return XCTFail("read failed") }
    XCTAssertEqual(read, [])
  }

  /// The writer's second read under the lock: nil when the file still holds exactly the bytes
  /// read before, else the file as it is now, whatever differs (a byte in any 64 KiB chunk, the
  /// last byte, a longer or a shorter file).
  func testReadingAgainFindsEveryDifference() throws {
    let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    write(bytes)
    XCTAssertNil(try VaultFile.read(path, unlessStill: bytes))
    var edits: [[UInt8]] = [[], Array(bytes.dropLast()), bytes + [0], Array(bytes.prefix(65_536))]
    for index in [0, 65_535, 65_536, 131_071, 150_000, bytes.count - 1] {
      var edited = bytes
      edited[index] &+= 1
      edits.append(edited)
    }
    for edited in edits {
      write(edited)
      let reread = try VaultFile.read(path, unlessStill: bytes)
      XCTAssertTrue(reread == edited, "a file of \(edited.count) bytes was taken for the one read before")
    }
    // A file that is no longer safe to read is refused, as by the first read.
    write(bytes)
    chmod(path, 0o666)
    XCTAssertThrowsError(try VaultFile.read(path, unlessStill: bytes))
  }
}
