/// Non-negative decimals as `String(Int64)` writes them, no sign and no leading zero: the one
/// spelling of numbers in the usage snapshot and the usage log, read and written straight from
/// bytes (both are handled on every `vault run`, with up to thousands of lines or ids).
enum PlainDecimal {
  /// The number at `start` and where it ends; nil when there is none there, it has a leading
  /// zero, or it passes Int64.max. Up to 18 digits cannot overflow and are summed unchecked; a
  /// longer run is checked digit by digit.
  static func scan(_ input: UnsafeBufferPointer<UInt8>, at start: Int) -> (Int64, Int)? {
    var position = start
    while position < input.count, input[position] &- UInt8(ascii: "0") < 10 { position += 1 }
    guard position > start, input[start] != UInt8(ascii: "0") || position == start + 1 else { return nil }
    var value: Int64 = 0
    if position - start <= 18 {
      for index in start..<position { value = value &* 10 &+ Int64(input[index] &- UInt8(ascii: "0")) }
      return (value, position)
    }
    for index in start..<position {
      let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
      let (sum, overflow2) = times.addingReportingOverflow(Int64(input[index] - UInt8(ascii: "0")))
      guard !overflow1, !overflow2 else { return nil }
      value = sum
    }
    return (value, position)
  }

  /// The number of a line `prefix` + number + LF at the start of `bytes` (as `line` writes it),
  /// and where the line ends; nil for anything else.
  static func scanLine(_ prefix: [UInt8], in bytes: UnsafeBufferPointer<UInt8>) -> (value: Int64, end: Int)? {
    guard bytes.count > prefix.count, prefix.elementsEqual(bytes[0..<prefix.count]),
      let (value, end) = scan(bytes, at: prefix.count), end < bytes.count, bytes[end] == 0x0A
    else { return nil }
    return (value, end + 1)
  }

  /// `prefix`, `value` and LF: a header line such as `llm-vault-usage 3 FOLD`.
  static func line(_ prefix: [UInt8], _ value: Int64) -> [UInt8] {
    var bytes = prefix
    append(&bytes, value)
    bytes.append(0x0A)
    return bytes
  }

  /// Appends `value` (a negative one as 0).
  static func append(_ output: inout [UInt8], _ value: Int64) {
    // At most 19 digits: written backwards into a fixed buffer, no allocation.
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
    withUnsafeMutableBytes(of: &digits) { buffer in
      var remaining = UInt64(max(0, value))
      var start = buffer.count
      repeat {
        start -= 1
        buffer[start] = UInt8(ascii: "0") + UInt8(remaining % 10)
        remaining /= 10
      } while remaining > 0
      buffer.withMemoryRebound(to: UInt8.self) {
        output.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start...]))
      }
    }
  }
}
