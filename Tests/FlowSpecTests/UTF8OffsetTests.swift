@testable import FlowSpec
import Testing

@Suite("byte offsets of a needle")
struct UTF8OffsetTests {
    @Test("the first full match, in UTF-8 bytes, past partial matches and multi-byte characters", arguments: [
        ("echo ${{ x }}", "${{", 5),
        ("$${{", "${{", 1),
        ("${ ${{", "${{", 3),
        ("é ${{", "${{", 3),
        ("a\rb", "\r", 1),
        ("abc", "\r", nil),
        ("${", "${{", nil),
        ("", "${{", nil),
        ("tail ${{", "${{", 5),
    ] as [(String, String, Int?)])
    func offsets(text: String, needle: String, expected: Int?) {
        #expect(text.utf8Offset(of: needle) == expected)
    }
}
