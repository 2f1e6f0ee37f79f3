/// `vault run`'s update of the usage state, straight from bytes to bytes: a run adds one use of
/// its agent key and of each provider key it read, and every other line is copied as it is.
/// No record, string or dictionary is built per line, so a state file of a thousand keys costs
/// a copy and a scan, not a parse and a re-encoding (bench/README.md).
///
/// It reads only the canonical form `UsageState.encoded()` writes: the version-2 header, then
/// `agent ID` lines and `key ID` lines, each kind in increasing id order, each line eleven
/// numbers in plain decimal. Any deviation returns nil, and the caller falls back to the
/// general parser (which also decides whether the file is damaged).
enum UsageStateScanner {
  private static let header = Array("llm-vault-usage 2\n".utf8)
  private static let agentPrefix = Array("agent ".utf8)
  private static let keyPrefix = Array("key ".utf8)
  private static let numberCount = 11

  /// `bytes` with one more use at `now` of `agentID` (if any) and of each of `keyIDs`, new
  /// records inserted in id order; nil when `bytes` is not in the canonical form.
  static func recordingUse(in bytes: [UInt8], agentID: RecordID?, keyIDs: [RecordID], now: Int64) -> [UInt8]? {
    let wantedAgents = agentID.map { [$0] } ?? []
    // Sorted, then each id once: no set of a thousand ids to hash.
    var wantedKeys = keyIDs.sorted()
    wantedKeys.removeDuplicatesInOrder()
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count + (wantedAgents.count + wantedKeys.count) * 96)
    let complete = bytes.withUnsafeBufferPointer { input -> Bool in
      guard input.count >= header.count, header.elementsEqual(input[0..<header.count]) else { return false }
      output += header
      var position = header.count
      // Agents, then keys; each section merged with the wanted ids, both in id order.
      for (prefix, wanted) in [(agentPrefix, wantedAgents), (keyPrefix, wantedKeys)] {
        var next = 0
        var previous: RecordID? = nil
        while position < input.count, startsWith(input, at: position, prefix) {
          guard let line = scanLine(input, at: position + prefix.count) else { return false }
          if let previous, !(previous < line.id) { return false }
          previous = line.id
          while next < wanted.count, wanted[next] < line.id {
            appendNew(&output, prefix, wanted[next], lastUsed: now)
            next += 1
          }
          if next < wanted.count, wanted[next] == line.id {
            let uses = line.uses == .max ? Int64.max : line.uses + 1
            // The kind and id as they are, then the two new numbers and the rest as it was.
            output.append(contentsOf: UnsafeBufferPointer(rebasing: input[position..<(position + prefix.count + 32)]))
            appendNumbers(&output, lastUsed: now, uses: uses)
            output.append(contentsOf: UnsafeBufferPointer(rebasing: input[line.rest]))
            next += 1
          } else {
            output.append(contentsOf: UnsafeBufferPointer(rebasing: input[position..<line.end]))
          }
          position = line.end
        }
        for id in wanted[next...] { appendNew(&output, prefix, id, lastUsed: now) }
      }
      return position == input.count
    }
    return complete ? output : nil
  }

  /// One line's id, its use count, where its last nine numbers (and the LF) lie, and where the
  /// next line starts.
  private struct Line {
    var id: RecordID
    var uses: Int64
    var rest: Range<Int>
    var end: Int
  }

  private static func scanLine(_ input: UnsafeBufferPointer<UInt8>, at start: Int) -> Line? {
    guard start + 32 < input.count,
      let id = RecordID(hexDigits: UnsafeBufferPointer(rebasing: input[start..<(start + 32)]))
    else { return nil }
    var position = start + 32
    var uses: Int64 = 0
    var rest = position
    for index in 0..<numberCount {
      guard position < input.count, input[position] == 0x20 else { return nil }
      position += 1
      guard let (number, end) = scanNumber(input, at: position) else { return nil }
      if index == 1 {
        uses = number
        rest = end
      }
      position = end
    }
    guard position < input.count, input[position] == 0x0A else { return nil }
    return Line(id: id, uses: uses, rest: rest..<(position + 1), end: position + 1)
  }

  /// A non-negative decimal as `String(Int64)` writes it: no sign, no leading zero. Up to 18
  /// digits cannot overflow and are summed unchecked; a longer run is checked digit by digit.
  private static func scanNumber(_ input: UnsafeBufferPointer<UInt8>, at start: Int) -> (Int64, Int)? {
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

  private static func startsWith(_ input: UnsafeBufferPointer<UInt8>, at position: Int, _ prefix: [UInt8]) -> Bool {
    position + prefix.count <= input.count && prefix.elementsEqual(input[position..<(position + prefix.count)])
  }

  /// A new record's line: one use at `lastUsed`, every other number zero.
  private static func appendNew(_ output: inout [UInt8], _ prefix: [UInt8], _ id: RecordID, lastUsed: Int64) {
    output += prefix
    output += id.description.utf8
    appendNumbers(&output, lastUsed: lastUsed, uses: 1)
    for _ in 0..<(numberCount - 2) { output += [0x20, UInt8(ascii: "0")] }
    output.append(0x0A)
  }

  /// ` lastUsed uses`.
  private static func appendNumbers(_ output: inout [UInt8], lastUsed: Int64, uses: Int64) {
    output.append(0x20)
    appendDecimal(&output, lastUsed)
    output.append(0x20)
    appendDecimal(&output, uses)
  }

  private static func appendDecimal(_ output: inout [UInt8], _ value: Int64) {
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

extension Array where Element: Equatable {
  /// Keeps the first of each run of equal neighbours (a sorted array: each element once).
  fileprivate mutating func removeDuplicatesInOrder() {
    guard count > 1 else { return }
    var kept = 1
    for index in 1..<count where self[index] != self[kept - 1] {
      self[kept] = self[index]
      kept += 1
    }
    removeLast(count - kept)
  }
}
