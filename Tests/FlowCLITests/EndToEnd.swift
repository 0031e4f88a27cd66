import Testing

/// The end-to-end suites run one test at a time: each starts real `flow` processes, and timing promises
/// ("exits 69 within a second", "a timeout returns within the grace period") are about flow, not about a
/// 2-core machine running every end-to-end test at once.
@Suite(.serialized)
enum EndToEnd {}
