import VaultGateway

/// libFuzzer entry: the strict request head parser, with the default limits and with small
/// ones. A head it accepts must be consistent with its own bytes: within what was given,
/// framing backed by exactly one header, a Host on HTTP/1.1, a target that splits back, and
/// every proper prefix merely incomplete.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: data, count: size)
  for limits in [HTTPLimits(), HTTPLimits(maxHeaderBytes: 256, maxBodyBytes: 100, maxHeaderCount: 4)] {
    guard let (head, consumed) = try? HTTPRequestParser.parse(bytes, limits: limits) else { continue }
    check(head, consumed: consumed, size: size, limits: limits)
    let exact = UnsafeRawBufferPointer(rebasing: bytes[..<consumed])
    precondition(
      (try? HTTPRequestParser.parse(exact, limits: limits))??.consumed == consumed, "the head alone parses differently")
    for end in [0, consumed / 2, consumed - 1] {
      let prefix = UnsafeRawBufferPointer(rebasing: bytes[..<end])
      guard case .success(nil) = Result(catching: { try HTTPRequestParser.parse(prefix, limits: limits) }) else {
        preconditionFailure("a prefix of a valid head is not incomplete")
      }
    }
  }
  return 0
}

private func check(_ head: HTTPRequestHead, consumed: Int, size: Int, limits: HTTPLimits) {
  precondition(consumed <= size && consumed <= limits.maxHeaderBytes, "consumed more than allowed")
  precondition(head.headers.count <= limits.maxHeaderCount, "too many headers")
  precondition(head.minorVersion == 0 || head.minorVersion == 1, "bad version")
  precondition(head.target.hasPrefix("/"), "not origin-form")
  precondition(head.target == head.path + (head.query.map { "?" + $0 } ?? ""), "target does not split back")
  precondition(!head.method.isEmpty, "empty method")
  let lengths = head.headers.filter { $0.name.lowercased() == "content-length" }
  let codings = head.headers.filter { $0.name.lowercased() == "transfer-encoding" }
  let hosts = head.headers.filter { $0.name.lowercased() == "host" }
  precondition(hosts.count <= 1 && (head.minorVersion == 0 || hosts.count == 1), "Host rule broken")
  switch head.framing {
  case .none:
    precondition(lengths.isEmpty && codings.isEmpty, "framing header ignored")
  case .contentLength(let length):
    precondition(lengths.count == 1 && codings.isEmpty, "ambiguous length")
    precondition(length >= 0 && length <= limits.maxBodyBytes && Int(lengths[0].value) == length, "wrong length")
  case .chunked:
    precondition(codings.count == 1 && lengths.isEmpty && head.minorVersion == 1, "ambiguous chunked")
    precondition(codings[0].value.lowercased() == "chunked", "not chunked")
  }
  for header in head.headers {
    precondition(!header.name.isEmpty, "empty name")
    for byte in header.name.utf8 { precondition(byte > 0x20 && byte < 0x7F && byte != 0x3A, "bad name byte") }
    for byte in header.value.utf8 { precondition(byte >= 0x20 && byte != 0x7F || byte == 0x09, "bad value byte") }
    if let first = header.value.utf8.first, let last = header.value.utf8.last {
      precondition(first != 0x20 && first != 0x09 && last != 0x20 && last != 0x09, "value not trimmed")
    }
  }
}
