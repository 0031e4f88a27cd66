import FlowServe
import Foundation

// flow-serve OPTIONS: started by `flow serve`, which has checked its options already.
var options = ServeOptions()
var words = Array(CommandLine.arguments.dropFirst())
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("flow serve: \(message)\n".utf8))
    exit(2)
}
while !words.isEmpty {
    let word = words.removeFirst()
    func value() -> String {
        guard !words.isEmpty else { fail("\(word) needs a value") }
        return words.removeFirst()
    }
    switch word {
    case "--listen":
        let text = value()
        guard options.listen(text) else { fail("--listen takes HOST:PORT, such as 127.0.0.1:8080, not '\(text.prefix(60))'") }
    case "--token": options.token = value()
    case "--read-only": options.readOnly = true
    case "--workflows": options.workflows = value()
    case "--state": options.state = value()
    default: fail("unknown option '\(word.prefix(60))'")
    }
}
if !ServeOptions.isLoopback(options.host), options.token == nil, !options.readOnly {
    fail("refusing to listen on \(options.host) without --token: anyone who can reach it could run workflows (or use --read-only)")
}
if let token = options.token, token.count < 16 { fail("--token must be at least 16 characters") }
let host = options.host
do {
    try await Server.run(options) { port in
        FileHandle.standardOutput.write(Data("flow serve: http://\(host.contains(":") ? "[\(host)]" : host):\(port)/\n".utf8))
    }
} catch {
    FileHandle.standardError.write(Data("flow serve: \(error)\n".utf8))
    exit(70)
}
