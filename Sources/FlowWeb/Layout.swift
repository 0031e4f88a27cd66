import FlowCore
import Foundation

/// The frame every page shares: one stylesheet and one script, embedded (no CDN, no web font: the page works
/// offline and from a file), a header with the project, and status colours used the same way everywhere.
package enum Layout {
    package static func page(title: String, project: String, body: String, script: String = "", refreshToken: String? = nil) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title)) · flow</title><link rel="icon" href="data:,">
        \(refreshToken.map { "<meta name=\"flow-token\" content=\"\(HTML.escape($0))\">" } ?? "")
        <style>\(css)</style></head>
        <body><header><a class="brand" href="/">flow</a><span class="project">\(HTML.escape(project))</span></header>
        <main>\(body)</main>
        <script>\(Layout.script)\(script)</script>
        </body></html>
        """
    }

    /// A status as a coloured word; the same classes colour graph nodes and timeline bars.
    package static func badge(_ status: String) -> String {
        "<span class=\"badge s-\(HTML.escape(status))\">\(HTML.escape(status.replacingOccurrences(of: "_", with: " ")))</span>"
    }

    package static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        let text = ISOTime.format(Int64(date.timeIntervalSince1970))
        return "<time datetime=\"\(text)\">\(HTML.escape(text.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")))</time>"
    }

    package static func duration(_ from: Date?, _ to: Date?) -> String {
        guard let from, let to else { return "" }
        return DurationFormat.format(.milliseconds(Int64((to.timeIntervalSince(from) * 1000).rounded())))
    }

    /// Status colours: one palette for badges, nodes and bars, readable on white and told apart without colour
    /// by the word beside them.
    static let colours: [(String, String)] = [
        ("succeeded", "#2e7d32"), ("reused", "#558b2f"), ("failed", "#c62828"), ("timed_out", "#ad1457"),
        ("running", "#1565c0"), ("interrupted", "#ef6c00"), ("skipped", "#8d99a6"), ("pending", "#b0bec5"),
        ("ran", "#2e7d32"), ("caught-up", "#558b2f"), ("skipped-overlap", "#8d99a6"), ("queued", "#1565c0"),
        ("missed-downtime", "#c62828"), ("dropped-over-cap", "#ad1457"), ("outside-window", "#ef6c00"),
    ]

    static var css: String {
        var rules = """
        *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2733;background:#f5f7fa}
        header{display:flex;align-items:baseline;gap:14px;padding:10px 24px;background:#1d2733;color:#fff}
        header a.brand{color:#fff;font-weight:700;font-size:18px;text-decoration:none}header .project{color:#aab4c0;font-family:ui-monospace,Menlo,monospace;font-size:12px}
        main{max-width:1280px;margin:0 auto;padding:18px 24px 48px}
        h1{font-size:22px;margin:4px 0 6px}h2{font-size:16px;margin:26px 0 8px}a{color:#1565c0}
        .sub{color:#5b6776;margin:0 0 14px}.crumbs{font-size:13px;margin-bottom:6px}.crumbs a{text-decoration:none}
        table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dfe4ea;border-radius:6px;overflow:hidden}
        th,td{text-align:left;padding:7px 10px;border-bottom:1px solid #edf0f3;vertical-align:top}
        th{background:#f0f3f6;font-weight:600;font-size:12px;color:#4a5665;text-transform:uppercase;letter-spacing:.03em}
        tr:last-child td{border-bottom:0}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        code,pre,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
        .badge{display:inline-block;min-width:74px;text-align:center;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
        .error{color:#b71c1c;white-space:pre-wrap}.muted{color:#7b8794}
        .card{background:#fff;border:1px solid #dfe4ea;border-radius:6px;padding:12px;overflow:auto}
        svg text{font:12px system-ui,sans-serif}svg .node rect{stroke:#fff;stroke-width:1.5}svg .node text{fill:#fff}
        svg .edge{stroke:#9aa7b4;fill:none;stroke-width:1.2}svg .axis{stroke:#dfe4ea}svg .tick{fill:#7b8794;font-size:11px}
        details{background:#fff;border:1px solid #dfe4ea;border-radius:6px;margin:6px 0}summary{cursor:pointer;padding:7px 10px}
        pre.log{margin:0;padding:10px;max-height:420px;overflow:auto;background:#0f1720;color:#e3e8ee;border-radius:0 0 6px 6px;white-space:pre-wrap;word-break:break-all}
        .facts{display:flex;flex-wrap:wrap;gap:8px 22px;margin:6px 0 4px}.facts div{font-size:13px}.facts b{color:#4a5665;font-weight:600;margin-right:6px}
        .pager{margin-top:10px}.legend{display:flex;flex-wrap:wrap;gap:10px;font-size:12px;margin:6px 0}
        td.nowrap{white-space:nowrap}.desc{max-width:460px}
        svg.chart{width:100%;height:auto;display:block}table.features{width:auto;min-width:420px}
        form.inline{display:inline}button{font:inherit;padding:4px 12px;border:1px solid #9aa7b4;border-radius:4px;background:#fff;cursor:pointer}
        """
        for (status, colour) in colours {
            rules += "\n.s-\(status){background:\(colour)}svg .s-\(status) rect,svg rect.s-\(status){fill:\(colour)}"
        }
        return rules
    }

    /// Shared script: live updates over server-sent events, used by pages that ask for them.
    static let script = """
    function flowLive(url, onEvent, onEnd){ if(!window.EventSource) return; var s=new EventSource(url);
      s.onmessage=function(e){ try{ onEvent(JSON.parse(e.data)); }catch(x){} };
      s.addEventListener('end', function(){ s.close(); if(onEnd) onEnd(); }); return s; }
    """
}
