import FlowWeb
import Testing

@Suite("html escaping")
struct HTMLTests {
    @Test("markup, quotes and control characters in any value are shown as text")
    func escaping() {
        #expect(HTML.escape(#"<script>alert("x")</script> & 'y'"#) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;")
        #expect(HTML.escape("a\u{1B}[2Jb") == "a\\u{1b}[2Jb")
    }
}
