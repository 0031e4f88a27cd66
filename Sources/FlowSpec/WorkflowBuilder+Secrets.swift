import FlowCore

extension WorkflowBuilder {
    /// `secrets: [DATABENTO_API_KEY, ALERT_TOKEN]`: environment variable names.
    mutating func parseSecrets(_ node: YAMLNode) -> [String] {
        guard case .sequence(let items, _) = node else {
            error(node.location, "'secrets' must be a list of environment variable names, not \(node.typeName)",
                  notes: ["for example:", "  secrets: [DATABENTO_API_KEY]"])
            return []
        }
        var names: [String] = []
        for item in items {
            guard let name = item.scalarText, EnvFile.isName(name), name.utf8.count <= 128 else {
                error(item.location, "invalid secret name '\(item.scalarText ?? item.typeName)'",
                      notes: ["a secret is an environment variable name: letters, digits and '_', not starting with a digit"])
                continue
            }
            if name.hasPrefix("FLOW_") {
                error(item.location, "'\(name)' cannot be a secret: FLOW_ variables are flow's own")
                continue
            }
            if names.contains(name) {
                error(item.location, "secret '\(name)' is listed twice")
                continue
            }
            names.append(name)
        }
        return names
    }

    /// `env_file: .env`: a path inside the project folder.
    mutating func parseEnvFile(_ node: YAMLNode) -> String? {
        guard let path = string(node, key: "env_file") else { return nil }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), !path.hasPrefix("~"), !parts.contains(".."), !path.contains("${{"),
              !path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            error(node.location, "'env_file' must be a path inside the project folder, such as .env",
                  notes: ["it is read relative to the folder that holds workflows/; absolute paths, '~' and '..' are not allowed"])
            return nil
        }
        return path
    }

    /// `NAME: { default: VALUE, secret: true, description: TEXT }`; returns the default.
    mutating func parseParamDeclaration(_ name: String, _ pairs: [(key: YAMLNode, value: YAMLNode)]) -> String {
        let fields = keyed(pairs, allowed: ["default", "secret", "description"], context: "parameter '\(name)'")
        var value = ""
        if let node = fields["default"] {
            switch node {
            case .scalar(let text, .null, _, _): value = text == "~" || text == "null" ? "" : text
            case .scalar:
                value = string(node, key: "default") ?? ""
                if value.contains("${{") {
                    error(node.location, "parameter defaults cannot contain expressions",
                          notes: ["defaults are plain values; use the parameter in a task with ${{ params.\(name) }}"])
                }
            default:
                error(node.location, "the default of parameter '\(name)' must be a single value, not \(node.typeName)")
            }
        }
        if let node = fields["description"] { _ = string(node, key: "description") }
        if let node = fields["secret"], bool(node, key: "secret") == true { secretParams.insert(name) }
        return value
    }
}
