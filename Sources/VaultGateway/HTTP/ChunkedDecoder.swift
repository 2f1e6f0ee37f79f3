/// Removes chunked framing (RFC 9112 section 7.1) from a body as it arrives, in any pieces,
/// holding no body bytes: data is handed on as slices of the input. Strict: hex sizes only (no
/// sign, space or "0x"), sizes checked against the body limit before they can overflow, chunk
/// extensions only as `;name[=value]` tokens (no quoted strings, no whitespace), CRLF exactly
/// after every size line and every chunk's data, and trailer fields checked like header fields,
/// counted against their own limit, then dropped (nothing in them is trusted or forwarded).
public struct ChunkedDecoder: Sendable {
  private enum State: Sendable, Equatable {
    case sizeStart, size, extensionNameStart, extensionName, extensionValueStart, extensionValue, sizeLF
    case data, dataCR, dataLF
    case trailerLineStart, trailerName, trailerValue, trailerLF, finalLF
    case done, failed
  }

  /// A size line (digits and extensions) longer than this is refused: nothing legitimate needs it.
  static let maxSizeLineBytes = 1_024

  private let maxBodyBytes: Int
  private let maxTrailerBytes: Int
  private var state = State.sizeStart
  private var chunkSize = 0
  private var remaining = 0
  private var lineBytes = 0
  private var bodyBytes = 0
  private var trailerBytes = 0
  private var failure = HTTPParseError.badRequest("chunked body already refused")

  /// `maxBodyBytes` bounds the decoded body (413 past it); `maxTrailerBytes` the trailer
  /// section after the last chunk (431 past it).
  public init(maxBodyBytes: Int, maxTrailerBytes: Int = 16_384) {
    self.maxBodyBytes = max(0, maxBodyBytes)
    self.maxTrailerBytes = max(0, maxTrailerBytes)
  }

  /// Whether the last chunk and the trailer section have been read: the body is over.
  public var isComplete: Bool { state == .done }

  /// Consumes input; calls `emit` with each run of body data in order; returns how many input
  /// bytes were consumed (all of them unless the body ended inside this input; 0 once it has
  /// ended). Throws `HTTPParseError` on any framing error (and again on every later call), or
  /// whatever `emit` throws, unchanged (the decoder is then past that data).
  public mutating func decode(
    _ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void
  ) throws -> Int {
    if state == .failed { throw failure }
    let count = input.count
    var index = 0
    while index < count {
      switch state {
      case .done:
        return index
      case .data:
        let run = min(remaining, count - index)
        remaining -= run
        if remaining == 0 { state = .dataCR }
        let start = index
        index += run
        try emit(UnsafeRawBufferPointer(rebasing: input[start..<index]))
      default:
        do {
          try step(input[index])
        } catch {
          failure = error
          state = .failed
          throw error
        }
        index += 1
      }
    }
    return index
  }

  private mutating func step(_ byte: UInt8) throws(HTTPParseError) {
    switch state {
    case .sizeStart, .size, .extensionNameStart, .extensionName, .extensionValueStart, .extensionValue:
      lineBytes += 1
      if lineBytes > Self.maxSizeLineBytes { throw .badRequest("chunk size line too long") }
      try sizeLine(byte)
    case .sizeLF:
      guard byte == HTTPSyntax.lf else { throw .badRequest("bare CR after a chunk size") }
      lineBytes = 0
      if chunkSize == 0 {
        state = .trailerLineStart
      } else {
        bodyBytes += chunkSize
        remaining = chunkSize
        state = .data
      }
    case .dataCR:
      guard byte == HTTPSyntax.cr else { throw .badRequest("chunk data longer than its size") }
      state = .dataLF
    case .dataLF:
      guard byte == HTTPSyntax.lf else { throw .badRequest("bare CR after chunk data") }
      state = .sizeStart
    case .trailerLineStart, .trailerName, .trailerValue, .trailerLF, .finalLF:
      trailerBytes += 1
      if trailerBytes > maxTrailerBytes { throw HTTPParseError(status: 431, reason: "trailer section too large") }
      try trailer(byte)
    case .data, .done, .failed:
      preconditionFailure("not a per-byte state")
    }
  }

  private mutating func sizeLine(_ byte: UInt8) throws(HTTPParseError) {
    switch state {
    case .sizeStart, .size:
      if HTTPSyntax.isHexDigit(byte) {
        let digit = HTTPSyntax.hexValue(byte)
        let room = maxBodyBytes - bodyBytes
        let size = state == .sizeStart ? 0 : chunkSize
        // size * 16 + digit <= room, without computing anything that could overflow.
        guard room >= digit, size <= (room - digit) / 16 else {
          throw HTTPParseError(status: 413, reason: "body larger than the limit")
        }
        chunkSize = size * 16 + digit
        state = .size
      } else if state == .size && byte == 0x3B {
        state = .extensionNameStart
      } else if state == .size && byte == HTTPSyntax.cr {
        state = .sizeLF
      } else {
        throw .badRequest("malformed chunk size")
      }
    case .extensionNameStart, .extensionValueStart:
      guard HTTPSyntax.isTchar(byte) else { throw .badRequest("malformed chunk extension") }
      state = state == .extensionNameStart ? .extensionName : .extensionValue
    case .extensionName, .extensionValue:
      if HTTPSyntax.isTchar(byte) { return }
      if byte == 0x3D && state == .extensionName {
        state = .extensionValueStart
      } else if byte == 0x3B {
        state = .extensionNameStart
      } else if byte == HTTPSyntax.cr {
        state = .sizeLF
      } else {
        throw .badRequest("malformed chunk extension")
      }
    default:
      preconditionFailure("not a size-line state")
    }
  }

  private mutating func trailer(_ byte: UInt8) throws(HTTPParseError) {
    switch state {
    case .trailerLineStart:
      if byte == HTTPSyntax.cr {
        state = .finalLF
      } else if HTTPSyntax.isTchar(byte) {
        state = .trailerName
      } else if HTTPSyntax.isWhitespace(byte) {
        throw .badRequest("folded or indented trailer line")
      } else {
        throw .badRequest("malformed trailer field")
      }
    case .trailerName:
      if HTTPSyntax.isTchar(byte) { return }
      guard byte == 0x3A else { throw .badRequest("malformed trailer field") }
      state = .trailerValue
    case .trailerValue:
      if byte == HTTPSyntax.cr {
        state = .trailerLF
      } else if !HTTPSyntax.isFieldByte(byte) {
        throw .badRequest("malformed trailer field")
      }
    case .trailerLF:
      guard byte == HTTPSyntax.lf else { throw .badRequest("bare CR in the trailer section") }
      state = .trailerLineStart
    case .finalLF:
      guard byte == HTTPSyntax.lf else { throw .badRequest("bare CR in the trailer section") }
      state = .done
    default:
      preconditionFailure("not a trailer state")
    }
  }
}
