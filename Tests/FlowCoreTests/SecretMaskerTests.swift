import FlowCore
import Foundation
import Testing

@Suite("secret masking")
struct SecretMaskerTests {
    let secret = "sk-live-4f9a2Q/x+y"

    /// Feeds `text` through a stream in pieces of the given sizes, cycling.
    func streamed(_ text: String, _ masker: SecretMasker, pieces: [Int]) -> String {
        var stream = MaskingStream(masker)
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var at = 0
        var k = 0
        while at < bytes.count {
            let n = min(pieces[k % pieces.count], bytes.count - at)
            bytes[at..<(at + n)].withUnsafeBytes { stream.feed($0, into: &out) }
            at += n
            k += 1
        }
        stream.finish(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("a value, its URL-encoded and base64 forms are replaced; other text is left as it is")
    func forms() throws {
        let masker = SecretMasker(secrets: [secret])
        #expect(masker.mask("key=\(secret); done") == "key=***; done")
        let encoded = try #require(secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
        #expect(encoded != secret)
        #expect(!masker.mask("q=\(encoded)&x=1").contains(encoded))
        let lowerHex = encoded.replacingOccurrences(of: "%2D", with: "%2d").replacingOccurrences(of: "%2F", with: "%2f")
            .replacingOccurrences(of: "%2B", with: "%2b")
        #expect(lowerHex != encoded && !masker.mask("q=\(lowerHex)").contains(lowerHex))
        // Inside a longer base64 text at each alignment, as in `Authorization: Basic base64(user:secret)`.
        for prefix in ["", "u:", "us:", "use:", "user:"] {
            let b64 = Data((prefix + secret + "!tail").utf8).base64EncodedString()
            let masked = masker.mask("Authorization: Basic \(b64)")
            // All but the two or three characters that also carry bits of the neighbours are gone.
            let removed = b64.count - (masked.count - "Authorization: Basic ".count - 3)
            #expect(masked.contains("***") && removed >= (4 * secret.utf8.count) / 3 - 3, "prefix '\(prefix)': \(masked)")
        }
        #expect(masker.mask("nothing secret here, not even sk-live") == "nothing secret here, not even sk-live")
        #expect(SecretMasker.none.mask(secret) == secret)
        #expect(SecretMasker(secrets: [""]).isEmpty, "an empty value masks nothing")
    }

    @Test("each line of a multi-line secret is masked on its own; the longer match wins")
    func lines() {
        let pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----"
        let masker = SecretMasker(secrets: [pem, "abcd", "abcdefgh"])
        #expect(masker.mask("line: MIIEvQIBADANBgkq") == "line: ***")
        #expect(masker.mask("abcdefgh abcd") == "*** ***")
    }

    @Test("a stream finds a secret split across any write boundary, and holds back no more than it must")
    func streaming() {
        let masker = SecretMasker(secrets: [secret])
        let text = "start \(secret) middle \(secret)\(secret) end s"
        let want = "start *** middle ****** end s"
        for pieces in [[1], [2], [3], [5, 1], [7], [17, 3], [64], [1000]] {
            #expect(streamed(text, masker, pieces: pieces) == want, "pieces \(pieces)")
        }
        // A piece that ends in the first bytes of a secret waits; anything else goes out at once.
        var stream = MaskingStream(masker)
        var out: [UInt8] = []
        Array("hello sk-li".utf8).withUnsafeBytes { stream.feed($0, into: &out) }
        #expect(String(decoding: out, as: UTF8.self) == "hello ")
        out.removeAll()
        Array("ne\n".utf8).withUnsafeBytes { stream.feed($0, into: &out) }
        #expect(String(decoding: out, as: UTF8.self) == "sk-line\n")
    }

    @Test("random text with secrets planted at random places: the stream equals masking the whole")
    func randomised() {
        var generator = SystemRandomNumberGenerator()
        let secrets = ["tok3n-ABC", "pa55word!", "xyzzy-42"]
        let masker = SecretMasker(secrets: secrets)
        for _ in 0..<200 {
            var text = ""
            for _ in 0..<Int.random(in: 1...30, using: &generator) {
                if Bool.random(using: &generator) { text += secrets.randomElement(using: &generator) ?? "" }
                text += String((0..<Int.random(in: 0...12, using: &generator)).map { _ in "abcxyz-t0p5 \n".randomElement(using: &generator) ?? "a" })
            }
            let pieces = (0..<4).map { _ in Int.random(in: 1...9, using: &generator) }
            let whole = masker.mask(text)
            #expect(streamed(text, masker, pieces: pieces) == whole)
            for s in secrets { #expect(!whole.contains(s)) }
        }
    }

    @Test("fingerprint maskers replace exact values by their own stand-ins")
    func replacing() {
        let masker = SecretMasker(replacing: [("hunter2", "hmac-sha256:ab"), ("tok", "***")])
        #expect(masker.mask("p=hunter2 t=tok") == "p=hmac-sha256:ab t=***")
    }

    @Test("HMAC-SHA256 matches RFC 4231's test vectors")
    func hmac() {
        #expect(KeyedHash.hmacSHA256(key: [UInt8](repeating: 0x0b, count: 20), "Hi There")
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(KeyedHash.hmacSHA256(key: Array("Jefe".utf8), "what do ya want for nothing?")
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // A key longer than a block is hashed first (case 6).
        #expect(KeyedHash.hmacSHA256(key: [UInt8](repeating: 0xaa, count: 131), "Test Using Larger Than Block-Size Key - Hash Key First")
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test("env files: comments, export, quotes, escapes, no expansion; errors name the line")
    func envFile() throws {
        let text = """
            # a comment
            export A=plain value  
            B='single $HOME \\n'
            C="double \\"q\\" \\\\ \\$X\\nnext"
              D = spaced
            E=
            E2=a#b
            A=again
            """
        let values = try EnvFile.parse(text)
        #expect(values == ["A": "again", "B": "single $HOME \\n", "C": "double \"q\" \\ $X\nnext", "D": "spaced", "E": "", "E2": "a#b"])
        for (bad, line, words) in [("A=1\nnoequals", 2, "no '='"), ("1X=2", 1, "not a variable name"), ("A='open", 1, "does not close"),
                                   ("A=\"x\\q\"", 1, "unknown escape"), ("A-B=1", 1, "not a variable name")] {
            #expect(throws: EnvFile.Failure.self) { try EnvFile.parse(bad) }
            do {
                _ = try EnvFile.parse(bad)
            } catch {
                #expect(error.line == line && error.message.contains(words), "\(bad): \(error)")
            }
        }
    }
}
