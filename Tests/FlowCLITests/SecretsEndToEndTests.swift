import Foundation
import FlowTestSupport
import Testing

extension EndToEnd {
    /// `secrets:`, `env_file:` and `secret: true` params with the built binary: what a secret reaches, and that
    /// it is in no output, log, document or file flow keeps.
    @Suite("secrets, end to end")
    struct SecretsEndToEndTests {
        static let token = "tok-9Fq2/zX+7Lw=Rk"
        static let fileSecret = "file-secret-Q7w3e9"
        static let password = "hunter2-Pa55-word"

        /// The forms a careless task or server prints a secret in.
        static func forms(_ secret: String) -> [String] {
            [secret, Data(secret.utf8).base64EncodedString(), secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? secret]
        }

        /// Every file under `.flow/` (the state database, its WAL, logs, scratch), as text.
        static func everyFile(_ p: Project) -> [(String, String)] {
            let base = p.root + "/.flow"
            return (FileManager.default.enumerator(atPath: base)?.allObjects as? [String] ?? []).compactMap { file in
                FileManager.default.contents(atPath: base + "/" + file).map { (file, String(decoding: $0, as: UTF8.self)) }
            }
        }

        static func expectNowhere(_ secrets: [String], in p: Project, outputs: [String]) {
            for secret in secrets {
                for form in forms(secret) {
                    for (file, text) in everyFile(p) { #expect(!text.contains(form), "\(form) in .flow/\(file)") }
                    for output in outputs { #expect(!output.contains(form), "\(form) in output:\n\(output)") }
                }
            }
        }

        static let leaky = """
            secrets: [TOKEN, FROM_FILE]
            env_file: .env
            tasks:
              print:
                env:
                  T: ${{ secrets.TOKEN }}
                  F: ${{ secrets.FROM_FILE }}
                run: |
                  echo "token: $T"
                  echo "file: $F"
                  printf '%s' "$T" | base64
                  printf 'encoded: %s\\n' "$(printf '%s' "$T" | od -An -tx1 | tr -d ' \\n' | sed 's/../%&/g')"
                  printf 'split: '
                  printf '%s\\n' "$T" | fold -w1 | while read c; do printf '%s' "$c"; sleep 0.01; done
                  echo
                  echo "tok=$T" >> "$FLOW_OUTPUT"
                  echo "plain=ok" >> "$FLOW_OUTPUT"
              bystander:
                needs: [print]
                env:
                  SEEN: ${{ tasks.print.outputs.tok }}
                run: |
                  echo "inherited TOKEN: '${TOKEN-none}' FROM_FILE: '${FROM_FILE-none}'"
                  echo "upstream output: $SEEN"
                  cat .env.copy
              echo-error:
                needs: [print]
                uses: market.detect-gap
                with:
                  db: /dev/null/${{ secrets.TOKEN }}/market.db
                  symbols: MGC
              health-check:
                uses: sqlite.health-check
                with:
                  db: /dev/null/${{ secrets.TOKEN }}/market.db
            """

        @Test("a secret printed plainly, split across writes, in base64 and URL-encoded, written to $FLOW_OUTPUT and echoed by an action's error is *** everywhere and in no file under .flow/")
        func maskedEverywhere() async throws {
            let p = Project()
            try p.workflow("w", Self.leaky)
            try p.dir.write(".env", "# secrets for w\nFROM_FILE='\(Self.fileSecret)'\nTOKEN=not-this-one\n")
            chmod(p.root + "/.env", 0o600)
            // A task that prints a file holding the secret: its output is masked too, though it never asked.
            try p.dir.write(".env.copy", "copied: \(Self.token)\n")
            let run = try await p.flow("run", "w", "--keep-going", env: ["TOKEN": Self.token])
            #expect(run.status == 1, "echo-error fails: \(run.stdout)\(run.stderr)")
            let print = p.dir.read(".flow/logs/1/print.1.log") ?? ""
            #expect(print.contains("token: ***") && print.contains("file: ***") && print.contains("split: ***")
                    && print.contains("encoded: ***"), "\(print)")
            #expect(print.split(separator: "\n").contains("***"), "the base64 line: \(print)")
            let bystander = p.dir.read(".flow/logs/1/bystander.1.log") ?? ""
            #expect(bystander.contains("inherited TOKEN: 'none' FROM_FILE: 'none'"), "a task that does not ask gets neither: \(bystander)")
            #expect(bystander.contains("upstream output: ***") && bystander.contains("copied: ***"), "\(bystander)")
            let status = try await p.flow("status", "w", "--json")
            #expect(status.stdout.contains("\"tok\" : \"***\"") && status.stdout.contains("\"plain\" : \"ok\""), "\(status.stdout)")
            #expect(status.stdout.contains("cannot open market database '/dev/null/***/market.db'"), "the action's error names the path, masked: \(status.stdout)")
            #expect(status.stdout.contains("cannot create the folder of database '/dev/null/***/market.db': Not a directory"), "\(status.stdout)")
            var outputs = [run.stdout, run.stderr, status.stdout]
            for command in [["logs", "1"], ["history", "w", "--json"], ["status", "w"], ["report", "1", "--html"]] {
                let result = try await p.flow(arguments: command)
                outputs.append(result.stdout + result.stderr)
            }
            #expect(outputs.last?.contains("***") == true)
            Self.expectNowhere([Self.token, Self.fileSecret], in: p, outputs: outputs)
        }

        @Test("a resumed run reads its secrets again; a rotated secret re-runs nothing that succeeded")
        func rotatedSecretReusesWork() async throws {
            let p = Project()
            try p.workflow("w", """
                secrets: [TOKEN]
                tasks:
                  fetch:
                    env: { T: "${{ secrets.TOKEN }}" }
                    run: echo "fetch with $T" >> fetched.txt
                  load:
                    needs: [fetch]
                    env: { T: "${{ secrets.TOKEN }}" }
                    run: test -f ok && echo "load with $T" >> loaded.txt
                """)
            #expect(try await p.flow("run", "w", env: ["TOKEN": "first-token-1"]).status == 1)
            try p.dir.write("ok", "")
            let resumed = try await p.flow("run", "w", env: ["TOKEN": "second-token-2"])
            #expect(resumed.status == 0 && resumed.stdout.contains("resuming run 1"), "\(resumed.stdout)")
            #expect(p.lines("fetched.txt") == ["fetch with first-token-1"], "fetch is not redone for a new key")
            #expect(p.lines("loaded.txt") == ["load with second-token-2"], "the resumed task has the secret of now")
            Self.expectNowhere(["first-token-1", "second-token-2"], in: p, outputs: [resumed.stdout, resumed.stderr])
        }

        @Test("a secret param is stored as a keyed hash, never in clear; -p warns; resume needs the same value")
        func secretParam() async throws {
            let p = Project()
            try p.workflow("w", """
                params:
                  user: alice
                  password: { secret: true, default: "" }
                tasks:
                  login:
                    env: { P: "${{ params.password }}", U: "${{ params.user }}" }
                    run: echo "login $U with $P"
                  after:
                    needs: [login]
                    run: test -f ok
                """)
            let first = try await p.flow("run", "w", "-p", "password=\(Self.password)")
            #expect(first.status == 1)
            #expect(first.stderr.contains("warning: -p password: a secret on the command line can be seen by other users"), "\(first.stderr)")
            #expect(first.stdout.contains("with params: password=***"), "\(first.stdout)")
            #expect(first.stdout.contains("resume: flow run w -p password=VALUE"), "the hint never repeats the value: \(first.stdout)")
            #expect(p.dir.read(".flow/logs/1/login.1.log") == "login alice with ***\n")
            let stored = try await SQLiteFile.rows(p.root + "/.flow/state.db", "SELECT params_json || overrides_json FROM runs")
            #expect(stored.count == 1 && stored[0].contains("hmac-sha256:") && !stored[0].contains(Self.password), "\(stored)")
            let key = try FileManager.default.attributesOfItem(atPath: p.root + "/.flow/secret.key")
            #expect((key[.posixPermissions] as? NSNumber)?.intValue == 0o600 && (key[.size] as? NSNumber)?.intValue == 32)

            try p.dir.write("ok", "")
            let other = try await p.flow("run", "w", "-p", "password=another-one")
            #expect(other.stdout.contains("not resuming run 1: its params differ (password (secret))"), "\(other.stdout)")
            let refused = try await p.flow("resume", "1")
            #expect(refused.status == 2 && refused.stderr.contains("run 1 was started with another value of the secret param 'password'"),
                    "\(refused.stderr)")
            let resumed = try await p.flow("resume", "1", "-p", "password=\(Self.password)")
            #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
            #expect(!p.dir.exists(".flow/logs/1/login.2.log"), "login succeeded with this value: reused, not run again")
            let history = try await p.flow("history", "w", "--json")
            Self.expectNowhere([Self.password, "another-one"], in: p, outputs: [first.stdout, first.stderr, other.stdout, resumed.stdout, history.stdout])
        }

        @Test("env_file problems stop the run before it starts, naming the file and line")
        func envFileErrors() async throws {
            let p = Project()
            try p.workflow("w", "secrets: [TOKEN]\nenv_file: config/flow.env\ntasks:\n  a:\n    env: { T: \"${{ secrets.TOKEN }}\" }\n    run: echo \"[$T]\"\n")
            let missing = try await p.flow("run", "w")
            #expect(missing.status == 2 && missing.stderr.contains("cannot read env_file 'config/flow.env'"), "\(missing.stderr)")
            #expect(!p.dir.exists(".flow/logs/1"), "nothing ran")
            try p.dir.write("config/flow.env", "TOKEN=ok\nthis line is wrong\n")
            chmod(p.root + "/config/flow.env", 0o600)
            let malformed = try await p.flow("run", "w")
            #expect(malformed.status == 2 && malformed.stderr.contains("config/flow.env:2: expected NAME=value"), "\(malformed.stderr)")
            try p.dir.write("config/flow.env", "export TOKEN=\"from file\"\n")
            chmod(p.root + "/config/flow.env", 0o644)
            let open = try await p.flow("run", "w")
            #expect(open.status == 0 && open.stderr.contains("env_file 'config/flow.env' can be read by other users; chmod 600"), "\(open.stderr)")
            #expect(p.dir.read(".flow/logs/1/a.1.log") == "[***]\n", "the first run that started is run 1")
            let overridden = try await p.flow("run", "w", "--fresh", env: ["TOKEN": "from environment"])
            #expect(overridden.status == 0)
            #expect(try await p.flow("status", "w", "--json").stdout.contains("\"status\" : \"succeeded\""))
        }

        @Test("an unset secret is empty: a condition on it skips the task; set, the task runs with it, masked")
        func unsetSecret() async throws {
            let p = Project()
            try p.workflow("w", """
                secrets: [ALERT_TOKEN]
                tasks:
                  main:
                    run: echo main
                  alert:
                    needs: [main]
                    if: ${{ secrets.ALERT_TOKEN }}
                    env: { T: "${{ secrets.ALERT_TOKEN }}" }
                    run: echo "alerting with $T"
                """)
            let quiet = try await p.flow("run", "w", "--plain")
            #expect(quiet.status == 0 && quiet.stdout.contains("skipped  alert"), "\(quiet.stdout)")
            let loud = try await p.flow("run", "w", "--fresh", env: ["ALERT_TOKEN": "tok-123456"])
            #expect(loud.status == 0)
            #expect(p.dir.read(".flow/logs/2/alert.1.log") == "alerting with ***\n")
            let short = try await p.flow("run", "w", "--fresh", env: ["ALERT_TOKEN": "ab"])
            #expect(short.status == 0 && short.stderr.contains("warning: secret ALERT_TOKEN is 2 characters long"), "\(short.stderr)")
        }
    }
}
