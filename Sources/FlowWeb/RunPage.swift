import FlowCore
import FlowStore
import Foundation

/// The page of one run: what it is, its graph with each task coloured by status, a timeline of every attempt,
/// the tasks with their outputs, and each attempt's log — following live while the run goes.
package enum RunPage {
    /// Attempts drawn on the timeline; a run with more lists the rest in its JSON.
    static let timelineLimit = 1_000

    /// `logs`: each attempt's log text to embed (the self-contained report); nil to load them from the server.
    /// `token`: shows the actions (resume, stop) when the server allows them.
    package static func render(_ view: RunView, project: String, logs: [AttemptID: String]? = nil, token: String? = nil,
                               now: Date = Date()) -> String {
        let run = view.run
        let live = run.status == .running && logs == nil
        var body = "<div class=\"crumbs\">\(Pages.link("/", "workflows")) / \(Pages.link("/workflows/\(Pages.segment(run.workflow))", run.workflow)) /</div>"
        body += "<h1>Run \(run.id) <span id=\"run-status\">\(Layout.badge(run.status.rawValue))</span></h1>"
        body += "<div class=\"facts\">"
        body += "<div><b>workflow</b>\(HTML.escape(run.workflow))</div><div><b>started</b>\(Layout.time(run.createdAt))</div>"
        if let end = run.finishedAt { body += "<div><b>took</b>\(Layout.duration(run.createdAt, end))</div>" }
        if let tick = run.scheduledFor { body += "<div><b>tick</b><span class=\"mono\">\(ISOTime.format(tick))</span></div>" }
        if run.resumes > 0 { body += "<div><b>resumed</b>\(run.resumes)×</div>" }
        if let parent = run.parent {
            body += "<div><b>child of</b>\(Pages.link("/runs/\(parent.run)", "run \(parent.run)")) (task \(HTML.escape(parent.task.rawValue)))</div>"
        }
        for child in view.children {
            body += "<div><b>child run</b>\(HTML.escape(child.task.rawValue)) → \(Pages.link("/runs/\(child.run)", "run \(child.run)")) of \(HTML.escape(child.workflow))</div>"
        }
        let counts = view.counts.map { "\($0.1) \($0.0.rawValue.replacingOccurrences(of: "_", with: " "))" }.joined(separator: ", ")
        body += "<div id=\"task-count\" data-count=\"\(view.tasks.count)\"><b>tasks</b>\(view.tasks.count) (\(HTML.escape(counts)))</div>"
        if let failing = view.failingTask { body += "<div><b>failed at</b>\(HTML.escape(failing.id.rawValue))</div>" }
        body += "</div>"
        if !run.params.isEmpty {
            body += "<div class=\"facts\"><div><b>params</b><span class=\"mono\">"
                + run.params.sorted { $0.key < $1.key }.map { HTML.escape("\($0.key)=\($0.value)") }.joined(separator: " ") + "</span></div></div>"
        }
        if let error = run.error { body += "<p class=\"error\">\(HTML.escape(error))</p>" }
        if let token { body += actions(run, token: token) }
        if logs == nil { body += "<p class=\"sub\">\(Pages.link("/api/runs/\(run.id)", "JSON"))</p>" }

        body += "<h2>Graph</h2><div class=\"card\">" + graph(view) + "</div>" + legend()
        body += "<h2>Timeline</h2><div class=\"card\">" + timeline(view, now: now) + "</div>"
        body += "<h2>Tasks</h2>" + tasks(view)
        body += "<h2>Logs</h2>" + attemptLogs(view, logs: logs)
        let script = live ? """
            flowLive('/runs/\(run.id)/events', function(d){
              if(d.tasks){ for(var id in d.tasks){ var s=d.tasks[id], key='[data-task="'+CSS.escape(id)+'"]';
                document.querySelectorAll('#graph g.node'+key).forEach(function(n){ n.setAttribute('class','node s-'+s); n.dataset.status=s; });
                document.querySelectorAll('#tasks tr'+key+' .badge').forEach(function(b){ b.className='badge s-'+s; b.textContent=s.replace('_',' '); }); } }
              if(d.run){ var b=document.querySelector('#run-status .badge'); b.className='badge s-'+d.run; b.textContent=d.run; }
            }, function(){ document.body.dataset.live='ended';
              document.querySelectorAll('form[action$="/stop"]').forEach(function(f){ f.remove(); }); });
            document.querySelectorAll('details[data-stream]').forEach(function(d){
              var pre=d.querySelector('pre'); flowLive(d.dataset.stream, function(m){
                pre.textContent+=m.text; if(pre.textContent.length>2000000){ pre.textContent=pre.textContent.slice(-1000000); }
                pre.scrollTop=pre.scrollHeight; }, function(){ d.dataset.ended='1'; }); });
            """ : ""
        return Layout.page(title: "Run \(run.id) of \(run.workflow)", project: project, body: body, script: script + loadLogs)
    }

    static let loadLogs = """
    document.querySelectorAll('details[data-log]').forEach(function(d){ d.addEventListener('toggle', function(){
      if(!d.open||d.dataset.loaded) return; d.dataset.loaded='1'; var pre=d.querySelector('pre');
      fetch(d.dataset.log).then(function(r){ return r.text(); }).then(function(t){ pre.textContent=t||'(no output)'; }); }); });
    """

    static func actions(_ run: RunRecord, token: String) -> String {
        var out = ""
        func form(_ action: String, _ label: String) -> String {
            "<form class=\"inline\" method=\"post\" action=\"/runs/\(run.id)/\(action)\"><input type=\"hidden\" name=\"token\" value=\"\(HTML.escape(token))\"><button>\(label)</button></form> "
        }
        if run.status.isResumable { out += form("resume", "Resume") }
        if run.status == .running { out += form("stop", "Stop") }
        return out.isEmpty ? "" : "<p>\(out)</p>"
    }

    static func legend() -> String {
        "<div class=\"legend\">" + ["succeeded", "failed", "timed_out", "running", "interrupted", "skipped", "pending"].map(Layout.badge).joined() + "</div>"
    }

    // MARK: graph

    static let nodeWidth = 160, nodeHeight = 28, columnGap = 56, rowGap = 10

    static func graph(_ view: RunView) -> String {
        let layout = GraphLayout(ids: view.tasks.map(\.id), needs: view.tasks.map(\.needs))
        let width = max(1, layout.columns) * (nodeWidth + columnGap) - columnGap + 8
        let height = max(1, layout.rows) * (nodeHeight + rowGap) - rowGap + 8
        func origin(_ node: GraphLayout.Node) -> (Int, Int) { (4 + node.column * (nodeWidth + columnGap), 4 + node.row * (nodeHeight + rowGap)) }
        var svg = "<svg id=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">"
        svg.reserveCapacity(view.tasks.count * 260)
        for edge in layout.edges {
            let (x1, y1) = origin(layout.nodes[edge.from])
            let (x2, y2) = origin(layout.nodes[edge.to])
            let (sx, sy, ex, ey) = (x1 + nodeWidth, y1 + nodeHeight / 2, x2, y2 + nodeHeight / 2)
            let mid = (sx + ex) / 2
            svg += "<path class=\"edge\" d=\"M\(sx) \(sy) C\(mid) \(sy) \(mid) \(ey) \(ex) \(ey)\"/>"
        }
        for node in layout.nodes {
            let task = view.tasks[node.index]
            let (x, y) = origin(node)
            let id = HTML.escape(task.id.rawValue)
            let label = task.id.rawValue.count > 21 ? String(task.id.rawValue.prefix(20)) + "…" : task.id.rawValue
            svg += "<g class=\"node s-\(task.status.rawValue)\" data-task=\"\(id)\" data-status=\"\(task.status.rawValue)\">"
            svg += "<title>\(id): \(task.status.rawValue)</title><rect x=\"\(x)\" y=\"\(y)\" width=\"\(nodeWidth)\" height=\"\(nodeHeight)\" rx=\"5\"/>"
            svg += "<text x=\"\(x + 10)\" y=\"\(y + 18)\">\(HTML.escape(label))</text></g>"
        }
        return svg + "</svg>"
    }

    // MARK: timeline

    static func timeline(_ view: RunView, now: Date) -> String {
        let attempts = view.attempts
        guard let first = attempts.first?.startedAt else { return "<p class=\"muted\">no attempt yet</p>" }
        let shown = attempts.prefix(timelineLimit)
        let last = shown.map { $0.finishedAt ?? now }.max() ?? now
        let span = max(last.timeIntervalSince(first), 0.001)
        let label = 190, plot = 860, rowHeight = 18
        let height = 24 + shown.count * rowHeight
        var svg = "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(label + plot + 20)\" height=\"\(height)\">"
        for step in 0...4 {
            let x = label + plot * step / 4
            let at = span * Double(step) / 4
            svg += "<line class=\"axis\" x1=\"\(x)\" y1=\"14\" x2=\"\(x)\" y2=\"\(height)\"/>"
            let anchor = step == 0 ? "start" : step == 4 ? "end" : "middle"
            svg += "<text class=\"tick\" x=\"\(x)\" y=\"11\" text-anchor=\"\(anchor)\">+\(DurationFormat.format(.milliseconds(Int64(at * 1000))))</text>"
        }
        for (row, a) in shown.enumerated() {
            let y = 20 + row * rowHeight
            let start = a.startedAt.timeIntervalSince(first) / span
            let end = (a.finishedAt ?? now).timeIntervalSince(first) / span
            let x = label + Int(Double(plot) * start)
            let w = max(2, Int(Double(plot) * (end - start)))
            let name = "\(a.task.rawValue) #\(a.attempt)"
            svg += "<text x=\"\(label - 8)\" y=\"\(y + 12)\" text-anchor=\"end\">\(HTML.escape(name.count > 26 ? String(name.prefix(25)) + "…" : name))</text>"
            svg += "<rect class=\"s-\(a.status.rawValue)\" data-attempt=\"\(a.id)\" x=\"\(x)\" y=\"\(y + 2)\" width=\"\(w)\" height=\"\(rowHeight - 5)\" rx=\"2\">"
            svg += "<title>\(HTML.escape(name)): \(a.status.rawValue), \(Layout.duration(a.startedAt, a.finishedAt ?? now))</title></rect>"
        }
        svg += "</svg>"
        if attempts.count > shown.count { svg += "<p class=\"muted\">the first \(shown.count) of \(attempts.count) attempts; all are in the JSON</p>" }
        return svg
    }

    // MARK: tasks and logs

    static func tasks(_ view: RunView) -> String {
        var out = "<table id=\"tasks\"><thead><tr><th>Task</th><th>Status</th><th class=\"num\">Attempts</th><th>Duration</th><th>Detail</th><th>Outputs</th></tr></thead><tbody>"
        for task in view.tasks {
            out += "<tr data-task=\"\(HTML.escape(task.id.rawValue))\"><td class=\"mono\">\(HTML.escape(task.id.rawValue))</td>"
            out += "<td>\(Layout.badge(task.status.rawValue))</td><td class=\"num\">\(task.attempts)</td>"
            out += "<td>\(Layout.duration(task.startedAt, task.finishedAt))</td><td>\(HTML.escape(task.reason ?? ""))</td><td class=\"mono\">"
            out += task.outputs.sorted { $0.key < $1.key }.map { key, value in
                let shown = value.count > 200 ? String(value.prefix(200)) + "…" : value
                return "<div>\(HTML.escape(key))=\(HTML.escape(shown))</div>"
            }.joined()
            out += "</td></tr>"
        }
        return out + "</tbody></table>"
    }

    /// Attempts whose log is listed on a served page: every one that did not succeed, then succeeded ones up to
    /// this many (a 10,000-task run lists the rest through its JSON and `flow logs`).
    static let listedLogs = 300

    static func attemptLogs(_ view: RunView, logs: [AttemptID: String]?) -> String {
        let failing = view.failingTask?.id
        var out = ""
        var attempts = view.attempts
        var left = 0
        if logs == nil, attempts.count > listedLogs {
            let unusual = attempts.filter { $0.status != .succeeded }
            let usual = attempts.filter { $0.status == .succeeded }
            let kept = Set((unusual + usual.prefix(max(0, listedLogs - unusual.count))).map(\.id))
            left = attempts.count - kept.count
            attempts = attempts.filter { kept.contains($0.id) }
        }
        for a in attempts {
            // Task ids are [a-z0-9_-]: safe in a path as they are.
            let path = "/api/runs/\(a.runID)/logs/\(a.task.rawValue)/\(a.attempt)"
            let open = a.task == failing && a.status != .succeeded
            var attributes = "data-attempt=\"\(a.id)\""
            var text = ""
            if let logs {
                text = HTML.escape(logs[a.id] ?? "(no output)")
            } else if a.status == .running {
                attributes += " data-stream=\"/runs/\(a.runID)/logs/\(a.task.rawValue)/\(a.attempt)/stream\" open"
            } else {
                attributes += " data-log=\"\(path)\""
            }
            var detail = a.status.rawValue
            if let error = a.error { detail += ": " + error }
            out += "<details \(attributes)\(open && logs != nil ? " open" : "")><summary><span class=\"mono\">\(HTML.escape(a.task.rawValue)) #\(a.attempt)</span> "
            out += "\(Layout.badge(a.status.rawValue)) <span class=\"muted\">\(HTML.escape(detail)) · \(Layout.duration(a.startedAt, a.finishedAt))</span></summary>"
            out += "<pre class=\"log\">\(text)</pre></details>"
        }
        if left > 0 { out += "<p class=\"muted\">and \(left) more succeeded attempts: <span class=\"mono\">flow logs \(view.run.id)</span></p>" }
        return out.isEmpty ? "<p class=\"muted\">no attempt yet</p>" : out
    }
}
