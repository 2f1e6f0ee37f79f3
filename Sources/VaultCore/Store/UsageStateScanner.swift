/// The fold of the usage log into the snapshot, straight from bytes to bytes: the uses the log
/// (and the run that folds it) add are merged into the snapshot's lines, and every other line is
/// copied as it is. No record, string or dictionary is built per line, so a snapshot of a
/// thousand keys costs a copy and a scan, not a parse and a re-encoding (bench/README.md).
///
/// It reads only the canonical form `UsageState.encoded(fold:)` writes: the version-3 header
/// (or version 2's, which has no fold number), then `agent ID` lines and `key ID` lines, each
/// kind in increasing id order, each line eleven numbers in plain decimal. Any deviation returns
/// nil, and the caller falls back to the general parser (which also decides whether the file is
/// damaged).
enum UsageStateScanner {
  private static let headerVersion2 = Array("llm-vault-usage 2\n".utf8)
  private static let agentPrefix = Array("agent ".utf8)
  private static let keyPrefix = Array("key ".utf8)
  private static let numberCount = 11

  /// `bytes` with `tally`'s uses added, new records inserted in id order, under a version-3
  /// header numbered `fold`; nil when `bytes` is not in the canonical form.
  static func folding(_ tally: UsageTally, into bytes: [UInt8], fold: Int64) -> [UInt8]? {
    let wantedAgents = tally.agents.sorted { $0.key < $1.key }
    let wantedKeys = tally.keys.sorted { $0.key < $1.key }
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count + 32 + (wantedAgents.count + wantedKeys.count) * 96)
    let complete = bytes.withUnsafeBufferPointer { input -> Bool in
      guard let headerEnd = headerEnd(input) else { return false }
      output += UsageState.header(fold: fold)
      var position = headerEnd
      // Agents, then keys; each section merged with the wanted ids, both in id order.
      for (prefix, wanted) in [(agentPrefix, wantedAgents), (keyPrefix, wantedKeys)] {
        var next = 0
        var previous: RecordID? = nil
        while position < input.count, startsWith(input, at: position, prefix) {
          guard let line = scanLine(input, at: position + prefix.count) else { return false }
          if let previous, !(previous < line.id) { return false }
          previous = line.id
          while next < wanted.count, wanted[next].key < line.id {
            appendNew(&output, prefix, wanted[next].key, wanted[next].value)
            next += 1
          }
          if next < wanted.count, wanted[next].key == line.id {
            let uses = wanted[next].value
            // The kind and id as they are, then the two new numbers and the rest as it was.
            output.append(contentsOf: UnsafeBufferPointer(rebasing: input[position..<(position + prefix.count + 32)]))
            appendNumbers(&output, lastUsed: uses.lastUsed, uses: GatewayCounts.sum(line.uses, uses.count))
            output.append(contentsOf: UnsafeBufferPointer(rebasing: input[line.rest]))
            next += 1
          } else {
            output.append(contentsOf: UnsafeBufferPointer(rebasing: input[position..<line.end]))
          }
          position = line.end
        }
        for (id, uses) in wanted[next...] { appendNew(&output, prefix, id, uses) }
      }
      return position == input.count
    }
    return complete ? output : nil
  }

  /// Where the header of a version-2 or canonical version-3 snapshot ends.
  private static func headerEnd(_ input: UnsafeBufferPointer<UInt8>) -> Int? {
    if startsWith(input, at: 0, headerVersion2) { return headerVersion2.count }
    return UsageState.header(in: input)?.end
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
      guard let (number, end) = PlainDecimal.scan(input, at: position) else { return nil }
      if index == 1 {
        uses = number
        rest = end
      }
      position = end
    }
    guard position < input.count, input[position] == 0x0A else { return nil }
    return Line(id: id, uses: uses, rest: rest..<(position + 1), end: position + 1)
  }

  private static func startsWith(_ input: UnsafeBufferPointer<UInt8>, at position: Int, _ prefix: [UInt8]) -> Bool {
    position + prefix.count <= input.count && prefix.elementsEqual(input[position..<(position + prefix.count)])
  }

  /// A new record's line: `uses`, every gateway number zero.
  private static func appendNew(_ output: inout [UInt8], _ prefix: [UInt8], _ id: RecordID, _ uses: UsageTally.Uses) {
    output += prefix
    id.appendHex(to: &output)
    appendNumbers(&output, lastUsed: uses.lastUsed, uses: uses.count)
    for _ in 0..<(numberCount - 2) { output += [0x20, UInt8(ascii: "0")] }
    output.append(0x0A)
  }

  /// ` lastUsed uses`.
  private static func appendNumbers(_ output: inout [UInt8], lastUsed: Int64, uses: Int64) {
    output.append(0x20)
    PlainDecimal.append(&output, lastUsed)
    output.append(0x20)
    PlainDecimal.append(&output, uses)
  }
}

extension Array where Element: Equatable {
  /// Keeps the first of each run of equal neighbours (a sorted array: each element once).
  mutating func removeDuplicatesInOrder() {
    guard count > 1 else { return }
    var kept = 1
    for index in 1..<count where self[index] != self[kept - 1] {
      self[kept] = self[index]
      kept += 1
    }
    removeLast(count - kept)
  }
}
