import FlowCore
import FlowStore
import Foundation

/// A workflow file as the workflows page lists it.
package struct WorkflowRow: Sendable {
    package var name: String
    package var file: String
    package var description: String?
    /// Why the file does not validate, as `flow validate` says it; nil for a valid file.
    package var error: String?
    package var taskCount: Int
    package var lastRun: RunRecord?
    /// `30 20 * * 1-5 (Australia/Brisbane)`, the next tick and the last decided one, for a scheduled workflow.
    package var schedule: String?
    package var nextTick: String?
    package var lastTick: String?

    package init(name: String, file: String, description: String? = nil, error: String? = nil, taskCount: Int = 0, lastRun: RunRecord? = nil,
                 schedule: String? = nil, nextTick: String? = nil, lastTick: String? = nil) {
        self.name = name
        self.file = file
        self.description = description
        self.error = error
        self.taskCount = taskCount
        self.lastRun = lastRun
        self.schedule = schedule
        self.nextTick = nextTick
        self.lastTick = lastTick
    }
}

/// The pages, as functions of what they show.
package enum Pages {
    static func link(_ path: String, _ text: String) -> String { "<a href=\"\(HTML.escape(path))\">\(HTML.escape(text))</a>" }

    /// A path segment for a name: only names flow accepts reach here, but they are encoded all the same.
    package static func segment(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._"))) ?? ""
    }

    package static func workflows(_ rows: [WorkflowRow], project: String) -> String {
        var body = "<h1>Workflows</h1><p class=\"sub\">\(rows.count) workflow file\(rows.count == 1 ? "" : "s") in \(HTML.escape(project))</p>"
        body += "<table id=\"workflows\"><thead><tr><th>Workflow</th><th>Last run</th><th>When</th><th>Schedule</th><th>Next tick</th><th>Last tick</th></tr></thead><tbody>"
        for row in rows {
            body += "<tr data-workflow=\"\(HTML.escape(row.name))\"><td>"
            if row.error == nil {
                body += link("/workflows/\(segment(row.name))", row.name)
                body += " <span class=\"muted\">\(row.taskCount) task\(row.taskCount == 1 ? "" : "s")</span>"
                if let d = row.description { body += "<div class=\"muted desc\">\(HTML.escape(d))</div>" }
            } else {
                body += "<b>\(HTML.escape(row.name))</b> <span class=\"muted\">\(HTML.escape(row.file))</span>"
                body += "<div class=\"error\">\(HTML.escape(row.error ?? ""))</div>"
            }
            body += "</td><td class=\"nowrap\">"
            if let run = row.lastRun {
                body += Layout.badge(run.status.rawValue) + " " + link("/runs/\(run.id)", "run \(run.id)")
            } else if row.error == nil {
                body += "<span class=\"muted\">never run</span>"
            }
            body += "</td><td class=\"nowrap\">\(Layout.time(row.lastRun?.createdAt))</td>"
            body += "<td class=\"mono\">\(HTML.escape(row.schedule ?? ""))</td><td class=\"mono nowrap\">\(HTML.escape(row.nextTick ?? ""))</td>"
            body += "<td class=\"nowrap\">\(HTML.escape(row.lastTick ?? ""))\(row.schedule == nil ? "" : " " + link("/workflows/\(segment(row.name))/ledger", "ledger"))</td></tr>"
        }
        body += "</tbody></table>"
        return Layout.page(title: "Workflows", project: project, body: body)
    }

    package static func runs(_ workflow: String, runs: [RunRecord], failing: [RunID: String], older: RunID?, newer: Bool,
                             hasData: Bool, scheduled: Bool, project: String, token: String?) -> String {
        let w = segment(workflow)
        var body = "<div class=\"crumbs\">\(link("/", "workflows")) /</div><h1>\(HTML.escape(workflow))</h1><p class=\"sub\">"
        var links: [String] = []
        if scheduled { links.append(link("/workflows/\(w)/ledger", "schedule ledger")) }
        if hasData { links.append(link("/workflows/\(w)/data", "market data")) }
        links.append(link("/api/workflows/\(w)/runs", "JSON"))
        body += links.joined(separator: " · ") + "</p>"
        if let token {
            body += "<form class=\"inline\" method=\"post\" action=\"/workflows/\(w)/run\"><input type=\"hidden\" name=\"token\" value=\"\(HTML.escape(token))\"><button>Run now</button></form>"
        }
        body += "<h2>Runs</h2><table id=\"runs\"><thead><tr><th class=\"num\">Run</th><th>Status</th><th>Started</th><th>Duration</th><th>Tick</th><th>Failing task</th></tr></thead><tbody>"
        for run in runs {
            body += "<tr data-run=\"\(run.id)\"><td class=\"num\">\(link("/runs/\(run.id)", String(run.id)))</td><td>\(Layout.badge(run.status.rawValue))</td>"
            body += "<td class=\"nowrap\">\(Layout.time(run.createdAt))</td><td class=\"nowrap\">\(Layout.duration(run.createdAt, run.finishedAt))</td>"
            body += "<td class=\"mono\">\(run.scheduledFor.map { ISOTime.format($0) } ?? "")</td><td>\(HTML.escape(failing[run.id] ?? ""))</td></tr>"
        }
        if runs.isEmpty { body += "<tr><td colspan=\"6\" class=\"muted\">no runs yet</td></tr>" }
        body += "</tbody></table><div class=\"pager\">"
        if newer { body += link("/workflows/\(w)", "← newest") + " " }
        if let older { body += link("/workflows/\(w)?before=\(older)", "older →") }
        body += "</div>"
        return Layout.page(title: workflow, project: project, body: body)
    }

    package static func ledger(_ workflow: String, entries: [(tick: String, local: String, status: String, run: RunID?, runStatus: String?)],
                               project: String) -> String {
        var body = "<div class=\"crumbs\">\(link("/", "workflows")) / \(link("/workflows/\(segment(workflow))", workflow)) /</div>"
        body += "<h1>Schedule ledger</h1><p class=\"sub\">every decided tick of \(HTML.escape(workflow)), newest first · \(link("/api/workflows/\(segment(workflow))/ledger", "JSON"))</p>"
        body += "<table id=\"ledger\"><thead><tr><th>Tick (UTC)</th><th>Local</th><th>Decision</th><th>Run</th></tr></thead><tbody>"
        for e in entries {
            body += "<tr><td class=\"mono\">\(HTML.escape(e.tick))</td><td class=\"mono\">\(HTML.escape(e.local))</td><td>\(Layout.badge(e.status))</td><td>"
            if let run = e.run { body += link("/runs/\(run)", "run \(run)") + " " + (e.runStatus.map(Layout.badge) ?? "") }
            body += "</td></tr>"
        }
        if entries.isEmpty { body += "<tr><td colspan=\"4\" class=\"muted\">no tick decided yet</td></tr>" }
        body += "</tbody></table>"
        return Layout.page(title: "\(workflow) ledger", project: project, body: body)
    }
}
