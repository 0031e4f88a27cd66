import FlowCore
import Foundation

/// IANA time zone names as a workflow (or `--timezone`) gives them.
package enum ZoneNames {
    /// A zone flow accepts: an IANA name Foundation knows (a region and a city, or UTC/GMT). Abbreviations such
    /// as `EST` are refused: they name no DST rules.
    package static func zone(named name: String) -> TimeZone? {
        guard name.contains("/") || name == "UTC" || name == "GMT" else { return nil }
        return TimeZone(identifier: name)
    }

    /// "did you mean" for a zone: the closest name, or a zone whose city is the name given (`Brisbane`).
    package static func hint(_ zone: String) -> String {
        let known = TimeZone.knownTimeZoneIdentifiers
        if let close = Suggestion.closest(to: zone, in: known) { return "did you mean '\(close)'?" }
        let city = zone.lowercased().replacingOccurrences(of: " ", with: "_")
        if let match = known.first(where: { $0.lowercased().hasSuffix("/" + city) }) { return "did you mean '\(match)'?" }
        return "use an IANA name such as 'Australia/Brisbane', 'Europe/London' or 'UTC' (see /usr/share/zoneinfo)"
    }
}
