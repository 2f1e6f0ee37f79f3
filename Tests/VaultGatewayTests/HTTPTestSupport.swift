import XCTest

@testable import VaultGateway

/// The outcome of one parse, comparable in a table: incomplete, or the status it was refused with.
enum ParseOutcome: Equatable {
  case incomplete
  case refused(Int)
  case parsed(consumed: Int)
}

func parseRequest(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits()) -> Result<
  (head: HTTPRequestHead, consumed: Int)?, HTTPParseError
> {
  bytes.withUnsafeBytes { buffer in
    Result { () throws(HTTPParseError) in try HTTPRequestParser.parse(buffer, limits: limits) }
  }
}

func parseResponse(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits()) -> Result<
  (head: HTTPResponseHead, consumed: Int)?, HTTPParseError
> {
  bytes.withUnsafeBytes { buffer in
    Result { () throws(HTTPParseError) in try HTTPResponseParser.parse(buffer, limits: limits) }
  }
}

func outcome<Head>(_ result: Result<(head: Head, consumed: Int)?, HTTPParseError>) -> ParseOutcome {
  switch result {
  case .success(nil): return .incomplete
  case .success(let parsed?): return .parsed(consumed: parsed.consumed)
  case .failure(let error): return .refused(error.status)
  }
}

extension String {
  var bytes: [UInt8] { Array(utf8) }
}
