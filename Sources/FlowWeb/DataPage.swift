import FlowCore
import Foundation
import GRDB

/// What the market database holds, read through a read-only connection: SQLite's WAL lets it read while a run
/// writes, and it never takes the writer's lock.
package struct MarketDataView: Sendable {
    package struct Day: Sendable {
        package var date: String
        package var close: Double?
        package var bars: Int
    }

    package var path: String
    /// The newest `days` trading days of each instrument, oldest first.
    package var days: [String: [Day]]
    /// Each instrument's newest daily features, column by column.
    package var latest: [String: [(String, String)]]

    package static let shownDays = 120

    package static func read(_ path: String) throws -> MarketDataView {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(2)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in
            var days: [String: [Day]] = [:]
            var latest: [String: [(String, String)]] = [:]
            let instruments = try String.fetchAll(db, sql: "SELECT DISTINCT instrument FROM daily_features ORDER BY instrument")
            for instrument in instruments {
                let rows = try Row.fetchAll(db, sql: """
                    SELECT date_local, close, bar_count FROM daily_features WHERE instrument = ? ORDER BY date_local DESC LIMIT ?
                    """, arguments: [instrument, shownDays])
                days[instrument] = rows.reversed().map { Day(date: $0["date_local"], close: $0["close"], bars: $0["bar_count"] ?? 0) }
                if let row = try Row.fetchOne(db, sql: "SELECT * FROM daily_features WHERE instrument = ? ORDER BY date_local DESC LIMIT 1",
                                              arguments: [instrument]) {
                    latest[instrument] = row.columnNames.map { name in (name, row[name].map { "\($0)" } ?? "") }
                }
            }
            return MarketDataView(path: path, days: days, latest: latest)
        }
    }
}

extension Pages {
    package static func data(_ workflow: String, view: MarketDataView?, error: String?, project: String) -> String {
        var body = "<div class=\"crumbs\">\(link("/", "workflows")) / \(link("/workflows/\(segment(workflow))", workflow)) /</div>"
        body += "<h1>Market data</h1>"
        guard let view else {
            body += "<p class=\"error\">\(HTML.escape(error ?? "no market database yet: run the workflow first"))</p>"
            return Layout.page(title: "\(workflow) data", project: project, body: body)
        }
        body += "<p class=\"sub\"><span class=\"mono\">\(HTML.escape(view.path))</span>, read-only · the newest \(MarketDataView.shownDays) trading days · "
            + link("/api/workflows/\(segment(workflow))/data", "JSON") + "</p>"
        if view.days.isEmpty { body += "<p class=\"muted\">no daily features yet</p>" }
        for (instrument, days) in view.days.sorted(by: { $0.key < $1.key }) {
            body += "<h2>\(HTML.escape(instrument))</h2><div class=\"card\" data-instrument=\"\(HTML.escape(instrument))\">"
            body += closes(days) + bars(days) + "</div>"
        }
        let instruments = view.latest.keys.sorted()
        if let first = instruments.first, let names = view.latest[first]?.map(\.0) {
            // One row per feature, one column per instrument: the newest day of each side by side.
            body += "<h2>Latest daily features</h2><table class=\"features\"><thead><tr><th>feature</th>"
                + instruments.map { "<th class=\"num\">\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
            for name in names where name != "instrument" {
                body += "<tr><td class=\"mono\">\(HTML.escape(name))</td>"
                for instrument in instruments {
                    let value = view.latest[instrument]?.first { $0.0 == name }?.1 ?? ""
                    body += "<td class=\"num mono\">\(HTML.escape(Pages.rounded(value)))</td>"
                }
                body += "</tr>"
            }
            body += "</tbody></table>"
        }
        return Layout.page(title: "\(workflow) data", project: project, body: body)
    }

    static let chartWidth = 960, chartHeight = 180

    /// A long float (a VWAP) to 4 decimals; anything else as stored.
    static func rounded(_ text: String) -> String {
        guard text.contains("."), let value = Double(text), text.count > 10 else { return text }
        return String(format: "%.4f", value)
    }

    /// Daily closes as a line.
    static func closes(_ days: [MarketDataView.Day]) -> String {
        let values = days.compactMap(\.close)
        guard let low = values.min(), let high = values.max(), days.count > 1 else { return "<p class=\"muted\">not enough days to chart</p>" }
        let range = max(high - low, 1e-9)
        let step = Double(chartWidth - 60) / Double(days.count - 1)
        var points: [String] = []
        for (i, day) in days.enumerated() {
            guard let close = day.close else { continue }
            let x = 50 + Double(i) * step
            let y = 10 + Double(chartHeight - 30) * (1 - (close - low) / range)
            points.append(String(format: "%.1f,%.1f", x, y))
        }
        var svg = "<svg class=\"closes chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(chartWidth) \(chartHeight)\">"
        svg += "<text class=\"tick\" x=\"4\" y=\"14\">\(String(format: "%.2f", high))</text><text class=\"tick\" x=\"4\" y=\"\(chartHeight - 16)\">\(String(format: "%.2f", low))</text>"
        svg += "<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.6\" points=\"\(points.joined(separator: " "))\"/>"
        svg += "<text class=\"tick\" x=\"50\" y=\"\(chartHeight - 2)\">\(HTML.escape(days.first?.date ?? ""))</text>"
        svg += "<text class=\"tick\" x=\"\(chartWidth - 10)\" y=\"\(chartHeight - 2)\" text-anchor=\"end\">\(HTML.escape(days.last?.date ?? ""))</text>"
        return svg + "</svg>"
    }

    /// Bars per trading day: a short day stands out, and a weekday with no row at all is drawn as a red gap.
    static func bars(_ days: [MarketDataView.Day]) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .gmt
        let formatter = DateFormatter()
        formatter.calendar = calendar
        formatter.timeZone = calendar.timeZone
        formatter.dateFormat = "yyyy-MM-dd"
        guard let first = days.first.flatMap({ formatter.date(from: $0.date) }), let last = days.last.flatMap({ formatter.date(from: $0.date) })
        else { return "" }
        var byDate: [String: Int] = [:]
        for day in days { byDate[day.date] = day.bars }
        var slots: [(String, Int?)] = []
        var date = first
        while date <= last, slots.count < 400 {
            let weekday = calendar.component(.weekday, from: date)
            let text = formatter.string(from: date)
            if let bars = byDate[text] { slots.append((text, bars)) } else if weekday != 1 && weekday != 7 { slots.append((text, nil)) }
            guard let next = calendar.date(byAdding: .day, value: 1, to: date) else { break }
            date = next
        }
        let most = max(1, slots.compactMap(\.1).max() ?? 1)
        let height = 110
        let width = Double(chartWidth - 60) / Double(max(1, slots.count))
        var svg = "<svg class=\"bars chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(chartWidth) \(height + 16)\">"
        svg += "<text class=\"tick\" x=\"4\" y=\"12\">\(most) bars</text>"
        for (i, slot) in slots.enumerated() {
            let x = 50 + Double(i) * width
            if let bars = slot.1 {
                let h = max(1, Double(height - 10) * Double(bars) / Double(most))
                svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#2e7d32\"><title>", x, Double(height) - h, max(1, width - 1), h)
                svg += "\(slot.0): \(bars) bars</title></rect>"
            } else {
                svg += String(format: "<rect class=\"gap\" x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"%d\" fill=\"#c62828\" opacity=\"0.55\"><title>", x, max(1, width - 1), height)
                svg += "\(slot.0): no bars</title></rect>"
            }
        }
        return svg + "</svg>"
    }
}
