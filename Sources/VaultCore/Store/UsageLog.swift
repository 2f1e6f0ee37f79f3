/// The usage log, `<vault>.state.log` (docs/FORMAT.md, "Files beside the vault"): the uses of
/// `vault run`, `env` and `inject` since the snapshot (`<vault>.state`) was last rewritten, one
/// appended line each. A run appends a line instead of replacing the snapshot: on ext4 a rename
/// over an existing file forces the new file's data to disk, which was a third of a bare exec
/// (bench/README.md). The log is folded into the snapshot now and then (`UsageState.update`).
///
/// The first line, `llm-vault-usage-log 1 FOLD`, names the fold that made the log; readers add
/// its uses only to a snapshot of the same fold number, so a crash between a fold's new snapshot
/// and its new log cannot count a use twice. Each use line ends in ` .`: a line a crash or a
/// power cut cut short, or left as NUL bytes, lacks it and adds nothing.
public enum UsageLog {
  /// What a log holds.
  public enum Contents: Equatable, Sendable {
    /// No bytes, or only NUL bytes (a power cut's leftover of a log just made): no uses.
    case empty
    /// Its first line is no log header: whose uses these are cannot be told.
    case damaged
    /// The fold number in the header and the complete use lines that follow.
    case uses(fold: Int64, UsageTally)
  }

  static func path(forVault vaultPath: String) -> String { vaultPath + ".state.log" }

  /// A run that would make the log larger than this folds it instead of appending. A run of
  /// 1,000 keys appends about 33 KB, so about one such run in eight folds, and one of 10 keys one
  /// in 700: the median run only appends, and a reader (`list`, `show`) replays at most this.
  static let foldByteCount = 256 << 10

  /// A larger log is set aside unread, like a state file past its limit: runs never let it grow
  /// past `foldByteCount`, so only someone else made it so.
  static let maximumByteCount = 8 << 20

  private static let headerPrefix = Array("llm-vault-usage-log 1 ".utf8)
  private static let usePrefix = Array("use ".utf8)

  /// The first line of a log made by the fold numbered `fold`.
  static func header(fold: Int64) -> [UInt8] { PlainDecimal.line(headerPrefix, fold) }

  /// The line for one use at `epoch` of `agent` (if any) and of `keys` (sorted, each once):
  /// `use EPOCH AGENT|- ID ... .` and LF. It starts with LF when `lastByte`, the log's last
  /// byte, is not one: a line a crash left unfinished ends there instead of swallowing this one.
  public static func line(agent: RecordID?, keys: [RecordID], at epoch: Int64, after lastByte: UInt8?) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(64 + keys.count * 33)
    if let lastByte, lastByte != 0x0A { bytes.append(0x0A) }
    bytes += usePrefix
    PlainDecimal.append(&bytes, epoch)
    bytes.append(0x20)
    if let agent { agent.appendHex(to: &bytes) } else { bytes.append(UInt8(ascii: "-")) }
    for id in keys {
      bytes.append(0x20)
      id.appendHex(to: &bytes)
    }
    bytes += [0x20, UInt8(ascii: "."), 0x0A]
    return bytes
  }

  /// The fold number of the header at the start of `bytes`, and where the header ends.
  static func header(in bytes: UnsafeBufferPointer<UInt8>) -> (fold: Int64, end: Int)? {
    PlainDecimal.scanLine(headerPrefix, in: bytes).map { (fold: $0.value, end: $0.end) }
  }

  /// Reads a log: its fold number and the uses of every complete line. A line that is not
  /// exactly as `line` writes it (cut short, NUL bytes, ids out of order) is skipped.
  public static func parse(_ bytes: [UInt8]) -> Contents {
    bytes.withUnsafeBufferPointer { input in
      if input.allSatisfy({ $0 == 0 }) { return .empty }
      guard let (fold, start) = header(in: input) else { return .damaged }
      var tally = UsageTally()
      var ids: [RecordID] = []
      var position = start
      while position < input.count {
        var end = position
        while end < input.count, input[end] != 0x0A { end += 1 }
        if let (epoch, agent) = useLine(input, position..<end, ids: &ids) {
          tally.add(agent: agent, keys: ids, at: epoch)
        }
        position = end + 1
      }
      return .uses(fold: fold, tally)
    }
  }

  /// The time and agent of a complete use line in `range`, its key ids in `ids`; nil for
  /// anything else.
  private static func useLine(_ input: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, ids: inout [RecordID])
    -> (Int64, RecordID?)?
  {
    ids.removeAll(keepingCapacity: true)
    let end = range.upperBound
    var position = range.lowerBound
    guard end - position >= usePrefix.count + 5,
      usePrefix.elementsEqual(input[position..<(position + usePrefix.count)]),
      let (epoch, afterEpoch) = PlainDecimal.scan(input, at: position + usePrefix.count),
      afterEpoch + 1 < end, input[afterEpoch] == 0x20
    else { return nil }
    position = afterEpoch + 1
    let agent: RecordID?
    if input[position] == UInt8(ascii: "-") {
      agent = nil
      position += 1
    } else {
      guard let id = id(input, at: position, before: end) else { return nil }
      agent = id
      position += 32
    }
    // Then ` ID` in increasing order, and ` .` closing the line.
    while true {
      guard position + 1 < end, input[position] == 0x20 else { return nil }
      if input[position + 1] == UInt8(ascii: "."), position + 2 == end { return (epoch, agent) }
      guard let id = id(input, at: position + 1, before: end), ids.last.map({ $0 < id }) ?? true else { return nil }
      ids.append(id)
      position += 33
    }
  }

  private static func id(_ input: UnsafeBufferPointer<UInt8>, at position: Int, before end: Int) -> RecordID? {
    guard position + 32 <= end else { return nil }
    return RecordID(hexDigits: UnsafeBufferPointer(rebasing: input[position..<(position + 32)]))
  }
}
