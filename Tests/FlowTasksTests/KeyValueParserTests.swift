import FlowTasks
import Testing

@Suite("FLOW_OUTPUT format")
struct KeyValueParserTests {
    @Test("key=value lines and heredoc blocks")
    func parses() {
        let text = "a=1\nempty=\nwith_eq=x=y\nnotes<<EOF\nline 1\nline 2\nEOF\nb=2"
        let result = KeyValueParser.parse(text)
        #expect(result.values.map { "\($0.0)=\($0.1)" } == ["a=1", "empty=", "with_eq=x=y", "notes=line 1\nline 2", "b=2"])
        #expect(result.errors.isEmpty)
    }

    @Test("incremental feeding yields only complete entries")
    func incremental() {
        var parser = KeyValueParser()
        #expect(parser.feed(Array("day=1\nda".utf8)).map(\.0) == ["day"])
        #expect(parser.feed(Array("y=2".utf8)).isEmpty)
        #expect(parser.feed(Array("\nblock<<X\nv".utf8)).map(\.1) == ["2"])
        #expect(parser.feed(Array("\nX\n".utf8)).map(\.1) == ["v"])
        #expect(parser.finish().isEmpty)
    }

    @Test("malformed lines are reported with their line numbers")
    func malformed() {
        let result = KeyValueParser.parse("ok=1\nno equals sign\n1bad=2\nopen<<END\nnever closed")
        #expect(result.values.map(\.0) == ["ok"])
        #expect(result.errors.map(\.line) == [2, 3, 5])
    }
}
