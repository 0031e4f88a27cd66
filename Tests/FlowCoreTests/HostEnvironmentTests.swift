import FlowCore
import Foundation
import Testing

@Suite("flow's own environment")
struct HostEnvironmentTests {
    @Test("read from environ, it is what Foundation reports")
    func matchesFoundation() {
        #expect(HostEnvironment.all == ProcessInfo.processInfo.environment)
        #expect(HostEnvironment.all["PATH"] == HostEnvironment.value("PATH"))
    }
}
