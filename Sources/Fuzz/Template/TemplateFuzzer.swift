import VaultCore

/// libFuzzer entry: the `vault inject` template parser. Rendering with every reference set to
/// an empty value must give back exactly the template's literal text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTemplate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let template = try? Template(bytes) {
    let literal = template.parts.flatMap { part -> [UInt8] in
      if case .text(let text) = part { return text }
      return []
    }
    precondition(template.render([:]) == literal, "rendering lost or invented text")
    precondition(template.references.allSatisfy(Names.isIdentifier), "a reference that is not a name")
  }
  return 0
}
