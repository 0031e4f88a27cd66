extension StringProtocol {
    /// Without leading and trailing spaces and tabs (any Unicode space, not line breaks): what Foundation's
    /// `trimmingCharacters(in: .whitespaces)` returns, without its CharacterSet, whose first use costs
    /// 800,000 instructions — at every start, since `--grace` is parsed on each `flow run`.
    package var trimmingBlanks: String {
        let isBlank: (Character) -> Bool = { $0.isWhitespace && !$0.isNewline }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[first...last])
    }
}
