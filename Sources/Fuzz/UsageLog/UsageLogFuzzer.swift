import VaultCore

private let agent = RecordID(hex: "f123456789abcdef0123456789abcdef")!
private let key = RecordID(hex: "0123456789abcdef0123456789abcdef")!

/// libFuzzer entry: the usage log's reader. Any input reads as empty, damaged or a tally whose
/// counts its lines can hold, never a crash; and a use line appended as `vault run` appends it
/// adds exactly that use, whatever the input left at its end (a line cut short, NUL bytes).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUsageLog(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  let contents = UsageLog.parse(bytes)
  guard case .uses(let fold, let before) = contents else { return 0 }
  let lines = Int64(bytes.filter { $0 == 0x0A }.count)
  for uses in Array(before.agents.values) + Array(before.keys.values) {
    precondition(uses.count >= 1 && uses.count <= lines, "a count its lines cannot hold")
  }
  let epoch: Int64 = 1_800_000_000
  let line = UsageLog.line(agent: agent, keys: [key], at: epoch, after: bytes.last)
  guard case .uses(let foldAfter, let after) = UsageLog.parse(bytes + line) else {
    preconditionFailure("an appended line made the log unreadable")
  }
  precondition(foldAfter == fold, "an appended line changed the fold number")
  for (table, tableAfter, id) in [(before.agents, after.agents, agent), (before.keys, after.keys, key)] {
    let expected = (table[id]?.count ?? 0) == .max ? Int64.max : (table[id]?.count ?? 0) + 1
    precondition(tableAfter[id]?.count == expected, "an appended use was not counted once")
    precondition(tableAfter[id]?.lastUsed == epoch, "an appended use is not the last")
    precondition(
      tableAfter.filter { $0.key != id } == table.filter { $0.key != id }, "an appended line changed other counts")
  }
  precondition(after.agents.count - before.agents.count <= 1 && after.keys.count - before.keys.count <= 1)
  return 0
}
