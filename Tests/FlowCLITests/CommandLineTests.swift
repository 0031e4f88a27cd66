@testable import FlowCLI
import FlowCore
import Foundation
import FlowTestSupport
import Testing

@Suite("the command line parser")
struct CommandLineTests {
    static let spec = CommandSpec(
        name: "run", abstract: "Run.",
        arguments: [.init(name: "workflow", help: "Name."), .init(name: "extra", help: "More.", optional: true)],
        options: [
            .init(name: "param", short: "p", value: "name=value", repeatable: true, help: "Set a parameter."),
            .init(name: "fresh", help: "New run."),
            .init(name: "grace", value: "duration", help: "Grace."),
        ])

    @Test("options take values as the next word, after '=', or glued to a short name; flags and positionals in any order")
    func forms() throws {
        let parsed = try ParsedArguments(["--param", "a=1", "w", "-pb=2", "--fresh", "--param=c=3", "x", "--grace", "-5s"], for: Self.spec)
        #expect(parsed.values("param") == ["a=1", "b=2", "c=3"])
        #expect(parsed.flag("fresh"))
        #expect(parsed.value("grace") == "-5s", "an option's value may begin with a dash")
        #expect(parsed.argument("workflow") == "w")
        #expect(parsed.argument("extra") == "x")
        #expect(!parsed.wantsHelp)
    }

    @Test("after '--' every word is an argument, even one that looks like an option")
    func endOfOptions() throws {
        let parsed = try ParsedArguments(["--", "--fresh", "-p"], for: Self.spec)
        #expect(parsed.argument("workflow") == "--fresh")
        #expect(parsed.argument("extra") == "-p")
        #expect(!parsed.flag("fresh"))
    }

    @Test("usage errors name the problem, the usage line and where help is", arguments: [
        (["w", "--frsh"], "flow run: unknown option '--frsh' (did you mean '--fresh'?)"),
        (["w", "-x"], "flow run: unknown option '-x'"),
        (["w", "-1"], "flow run: unknown option '-1'"),
        ([], "flow run: missing <workflow>"),
        (["w", "x", "y"], "flow run: unexpected argument 'y'"),
        (["w", "--grace"], "flow run: --grace needs a value <duration>"),
        (["w", "--grace", "1s", "--grace", "2s"], "flow run: --grace given more than once"),
        (["w", "--fresh=yes"], "flow run: --fresh takes no value"),
    ])
    func usageErrors(words: [String], first: String) {
        #expect {
            _ = try ParsedArguments(words, for: Self.spec)
        } throws: { error in
            guard let failure = error as? CommandFailure else { return false }
            let lines = failure.message.split(separator: "\n").map(String.init)
            return failure.exit == .usage && lines == [first, "usage: flow run <workflow> [<extra>] [options]", "see 'flow run --help'"]
        }
    }

    @Test("--help and -h anywhere ask for help instead of checking the rest")
    func help() throws {
        #expect(try ParsedArguments(["--help"], for: Self.spec).wantsHelp)
        #expect(try ParsedArguments(["w", "x", "y", "-h"], for: Self.spec).wantsHelp)
        let text = Self.spec.helpText
        #expect(text.contains("USAGE: flow run <workflow> [<extra>] [options]"))
        #expect(text.contains("-p, --param <name=value>  Set a parameter (repeatable)."))
        #expect(text.contains("--fresh"))
        #expect(text.contains("-h, --help"))
    }

    @Test("every command's spec is consistent: unique option names and short names, help for everything")
    func specs() {
        for type in FlowCommand.subcommands {
            let spec = type.spec
            let names = spec.allOptions.map(\.name)
            #expect(Set(names).count == names.count, "\(spec.name): duplicate option")
            let shorts = spec.allOptions.compactMap(\.short)
            #expect(Set(shorts).count == shorts.count, "\(spec.name): duplicate short option")
            #expect(spec.allOptions.allSatisfy { !$0.help.isEmpty } && spec.arguments.allSatisfy { !$0.help.isEmpty })
        }
    }
}

@Suite("progress lines")
struct ProgressLineTests {
    @Test("counter padded to the total's width, status word to nine columns, id to the run's widest id")
    func layout() {
        var line = ProgressLine(color: false)
        line.counter(done: 3, total: 120)
        line.word("ok", "32")
        line.id(TaskID("build"), width: 8)
        line.text("  2ms")
        #expect(line.text == "[  3/120] ok       build     2ms")
        var long = ProgressLine(color: false)
        long.counter(done: 10, total: 10)
        long.word("interrupted", "33")
        long.id(TaskID("a-very-long-id"), width: 8)
        #expect(long.text == "[10/10] interrupted a-very-long-id", "a long word or id still leaves one space")
        var painted = ProgressLine(color: true)
        painted.counter(done: 0, total: 1)
        painted.word("start", "36")
        #expect(painted.text == "[0/1] \u{1B}[36mstart\u{1B}[0m    ", "colour codes do not count towards the padding")
    }

    @Test("every status reads as words: underscores become spaces")
    func statusWords() {
        for status in TaskStatus.allCases {
            #expect(Console.word(status) == status.rawValue.replacingOccurrences(of: "_", with: " "))
        }
        #expect(Console.word(.timedOut) == "timed out")
    }
}

extension EndToEnd {
    @Suite("flow's command line, end to end")
    struct CommandLineEndToEndTests {
        @Test("help and version go to stdout and exit 0; an unknown or missing command is a usage error with a suggestion")
        func rootCommand() async throws {
            let p = Project()
            let help = try await p.flow("--help")
            #expect(help.status == 0)
            for name in ["run", "resume", "plan", "validate", "status", "history", "logs", "list", "graph"] {
                #expect(help.stdout.contains("\n  \(name) "), "\(name) is listed")
            }
            let runHelp = try await p.flow("help", "run")
            #expect(runHelp.status == 0 && runHelp.stdout.hasPrefix("OVERVIEW: Run a workflow"))
            #expect(try await p.flow("run", "--help").stdout == runHelp.stdout)
            let version = try await p.flow("--version")
            #expect(version.status == 0 && version.stdout == "0.1.0\n")
            let typo = try await p.flow("stauts", "x")
            #expect(typo.status == 2)
            #expect(typo.stderr == "flow: unknown command 'stauts' (did you mean 'status'?)\nsee 'flow --help'\n")
            let early = try await p.flow("--state", "x.db", "run", "hello")
            #expect(early.status == 2)
            #expect(early.stderr.hasPrefix("flow: '--state' before the command: options go after it, as in 'flow run NAME --state'"))
            let none = try await p.flow(arguments: [])
            #expect(none.status == 2 && none.stderr.hasPrefix("flow: missing command\n"))
        }

        @Test("options reach the command: --param=, -p glued, --max-parallel range, --format choices")
        func optionsReachCommands() async throws {
            let p = Project()
            try p.workflow("hello", """
                params:
                  who: world
                tasks:
                  greet:
                    env:
                      WHO: ${{ params.who }}
                    run: echo "hello $WHO" > out.txt
                """)
            #expect(try await p.flow("run", "hello", "--param=who=flow").status == 0)
            #expect(p.dir.read("out.txt") == "hello flow\n")
            #expect(try await p.flow("run", "hello", "--fresh", "-pwho=glued").status == 0)
            #expect(p.dir.read("out.txt") == "hello glued\n")
            let range = try await p.flow("run", "hello", "--max-parallel", "0")
            #expect(range.status == 2 && range.stderr.contains("--max-parallel must be between 1 and 1024"))
            let format = try await p.flow("graph", "hello", "--format", "svg")
            #expect(format.status == 2 && format.stderr.hasPrefix("flow graph: --format takes mermaid or dot, not 'svg'"))
            #expect(try await p.flow("graph", "hello", "--format=dot").stdout.hasPrefix("digraph"))
        }
    }
}
