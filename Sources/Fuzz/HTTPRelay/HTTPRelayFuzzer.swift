import VaultGateway

/// libFuzzer entry: the relay's incremental parts. The first byte picks a piece size; the rest
/// runs through ChunkedDecoder and TokenUsageScanner in pieces of that size and in one piece,
/// and the two runs must agree on everything: body bytes, bytes consumed, end, error, counts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRelay(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size > 0 else { return 0 }
  let piece = Int(data[0]) % 64 + 1
  let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
  let whole = relay(input, pieceSize: input.count)
  let split = relay(input, pieceSize: piece)
  precondition(whole.body == split.body, "chunked body differs when split")
  precondition(whole.consumed == split.consumed, "consumed differs when split")
  precondition(whole.complete == split.complete, "end differs when split")
  precondition(whole.error == split.error, "error differs when split")
  precondition(whole.bodyUsage == split.bodyUsage, "usage in the decoded body differs when split")
  precondition(whole.rawUsage == split.rawUsage, "usage in the raw input differs when split")
  precondition(whole.body.count <= 4_096, "body over the limit")
  return 0
}

private struct Usage: Equatable {
  var input: Int?
  var output: Int?
}

private func relay(
  _ input: UnsafeRawBufferPointer, pieceSize: Int
) -> (body: [UInt8], consumed: Int, complete: Bool, error: HTTPParseError?, bodyUsage: Usage, rawUsage: Usage) {
  var decoder = ChunkedDecoder(maxBodyBytes: 4_096, maxTrailerBytes: 64)
  var bodyScanner = TokenUsageScanner()
  var rawScanner = TokenUsageScanner()
  var body: [UInt8] = []
  var consumed = 0
  var error: HTTPParseError?
  var start = 0
  var decoding = true
  while start < input.count || (start == 0 && input.isEmpty) {
    let end = min(start + max(pieceSize, 1), input.count)
    let part = UnsafeRawBufferPointer(rebasing: input[start..<end])
    rawScanner.feed(part)
    if decoding {
      do {
        let used = try decoder.decode(part) { run in
          body.append(contentsOf: run)
          bodyScanner.feed(run)
        }
        consumed += used
        if used < part.count { decoding = false }
      } catch let failure as HTTPParseError {
        error = failure
        consumed = -1
        decoding = false
      } catch {
        preconditionFailure("an error that is not an HTTPParseError")
      }
    }
    if end == input.count { break }
    start = end
  }
  return (
    body, consumed, decoder.isComplete, error,
    Usage(input: bodyScanner.inputTokens, output: bodyScanner.outputTokens),
    Usage(input: rawScanner.inputTokens, output: rawScanner.outputTokens)
  )
}
