import XCTest

@testable import VaultGateway

final class TokenUsageScannerTests: XCTestCase {
  private static let openAIJSON = """
    {"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant",\
    "content":"Say \\"prompt_tokens\\": 999 and \\\\\\"completion_tokens\\\\\\": 998"},"finish_reason":"stop"}],\
    "usage": {"prompt_tokens": 19, "completion_tokens":\t10, "total_tokens": 29,
    "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}}
    """

  private static let openAISSE = """
    data: {"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"usage":null}

    data: {"id":"c1","choices":[{"index":0,"delta":{"content":"usage: \\"prompt_tokens\\":7"}}],"usage":null}

    data: {"id":"c1","choices":[],"usage":{"prompt_tokens":1234,"completion_tokens":56789,"total_tokens":58023}}

    data: [DONE]


    """

  private static let anthropicSSE = """
    event: message_start
    data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],\
    "usage":{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":4,"output_tokens":1}}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\"output_tokens\\": 5000"}}

    event: message_delta
    data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}

    event: message_stop
    data: {"type":"message_stop"}


    """

  private static let googleStream = """
    [{"candidates": [{"content": {"parts": [{"text": "Hi"}],"role": "model"}}],
      "usageMetadata": {"promptTokenCount": 8,"candidatesTokenCount": 1,"totalTokenCount": 9}}
    ,
    {"candidates": [{"content": {"parts": [{"text": " there, \\"candidatesTokenCount\\" : 77"}],"role": "model"},
      "finishReason": "STOP"}],
      "usageMetadata": {"promptTokenCount": 8,"candidatesTokenCount": 12,"totalTokenCount": 20,
      "promptTokensDetails": [{"modality": "TEXT","tokenCount": 8}]}}
    ]
    """

  private static let bodies: [(String, String, Int?, Int?)] = [
    ("OpenAI JSON", openAIJSON, 19, 10),
    ("OpenAI SSE", openAISSE, 1234, 56_789),
    ("Anthropic SSE", anthropicSSE, 25, 15),
    ("Google stream", googleStream, 8, 12),
  ]

  private func scan(_ pieces: [[UInt8]]) -> (Int?, Int?) {
    var scanner = TokenUsageScanner()
    for piece in pieces { piece.withUnsafeBytes { scanner.feed($0) } }
    return (scanner.inputTokens, scanner.outputTokens)
  }

  func testRealShapedBodiesInOneFeed() {
    for (name, body, input, output) in Self.bodies {
      let (foundInput, foundOutput) = scan([body.bytes])
      XCTAssertEqual(foundInput, input, name)
      XCTAssertEqual(foundOutput, output, name)
    }
  }

  /// Split in two at every position, and in three around every position, and one byte at a time.
  func testEverySplitFindsTheSameCounts() {
    for (name, body, input, output) in Self.bodies {
      let bytes = body.bytes
      for cut in 0...bytes.count {
        let (foundInput, foundOutput) = scan([Array(bytes[..<cut]), Array(bytes[cut...])])
        XCTAssertEqual(foundInput, input, "\(name), cut at \(cut)")
        XCTAssertEqual(foundOutput, output, "\(name), cut at \(cut)")
      }
      for cut in 0..<(bytes.count - 2) {
        let (foundInput, foundOutput) = scan([
          Array(bytes[..<cut]), [bytes[cut]], [bytes[cut + 1]], Array(bytes[(cut + 2)...]),
        ])
        XCTAssertEqual(foundInput, input, "\(name), single bytes at \(cut)")
        XCTAssertEqual(foundOutput, output, "\(name), single bytes at \(cut)")
      }
      let (foundInput, foundOutput) = scan(bytes.map { [$0] })
      XCTAssertEqual(foundInput, input, "\(name), byte by byte")
      XCTAssertEqual(foundOutput, output, "\(name), byte by byte")
    }
  }

  func testMembers() {
    let cases: [(String, Int?, Int?, String)] = [
      (#"{"prompt_tokens":3}"#, 3, nil, "input only"),
      (#"{"output_tokens" : 4 }"#, nil, 4, "spaces around colon"),
      ("{\"input_tokens\"\r\n:\n\t5}", 5, nil, "newlines around colon"),
      (#"{"promptTokenCount":1,"promptTokenCount":2}"#, 2, nil, "last wins"),
      (#"{"candidatesTokenCount":9,"completion_tokens":8}"#, nil, 8, "last output name wins"),
      (#"{"prompt_tokens":null,"completion_tokens":-1}"#, nil, nil, "not integers"),
      (#"{"prompt_tokens":"7"}"#, nil, nil, "string value"),
      (#"{"prompt_tokens":5,"prompt_tokens":null}"#, 5, nil, "null does not erase"),
      (#"{"Prompt_tokens":5,"prompt_Tokens":6,"prompt_tokens_x":7,"xprompt_tokens":8}"#, nil, nil, "other names"),
      (#"{"cached_prompt_tokens":5,"cache_creation_input_tokens":6}"#, nil, nil, "longer names"),
      (#"{"text":"\"prompt_tokens\":5"}"#, nil, nil, "escaped inside a string"),
      (#"{"a":"\\","prompt_tokens":6}"#, 6, nil, "after a string ending in a backslash"),
      (#"{"a\"prompt_tokens":5}"#, nil, nil, "a name whose quote is escaped"),
      (#"{"prompt_tokens"5}"#, nil, nil, "no colon"),
      (#"{"prompt_tokens"::5}"#, nil, nil, "two colons"),
      (#"{"prompt_tokens":99999999999999999999999999}"#, Int.max, nil, "saturates"),
      (#"{"prompt_tokens":0012}"#, 12, nil, "leading zeros"),
      (#"{"prompt_tokens":12"#, 12, nil, "number at the end of the body"),
      (#""prompt_tokens"prompt_tokens":3"#, nil, nil, "closing quote right after"),
      (#"{"prompt_tokens"""#, nil, nil, "truncated"),
    ]
    for (body, input, output, name) in cases {
      let (foundInput, foundOutput) = scan([body.bytes])
      XCTAssertEqual(foundInput, input, name)
      XCTAssertEqual(foundOutput, output, name)
      let (bytewiseInput, bytewiseOutput) = scan(body.bytes.map { [$0] })
      XCTAssertEqual(bytewiseInput, input, "\(name), byte by byte")
      XCTAssertEqual(bytewiseOutput, output, "\(name), byte by byte")
    }
  }

  func testBackslashBeforeAFeedBoundary() {
    XCTAssertEqual(scan(["{\"text\":\"\\".bytes, "\"prompt_tokens\":5".bytes]).0, nil)
    XCTAssertEqual(scan(["{\"a\":1,".bytes, "\"prompt_tokens\":5}".bytes]).0, 5)
  }

  func testEmptyAndNothingFound() {
    XCTAssertEqual(scan([]).0, nil)
    XCTAssertEqual(scan([[], "{}".bytes, []]).1, nil)
  }
}
