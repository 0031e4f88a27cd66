/// A workflow's `schedule:`: when it runs by itself, and what happens to ticks it could not run on time.
package struct Schedule: Sendable, Hashable {
    /// What the scheduler does with due ticks it did not run on time (flow was down, the machine asleep).
    package enum Catchup: String, Sendable, Hashable, CaseIterable {
        /// Runs none of them; each is recorded missed.
        case none
        /// Runs the newest one; the others are recorded missed.
        case latest
        /// Runs every one, oldest first (at most `maxCatchup`, the newest).
        case all
    }

    /// What a tick does while a run of the workflow is still going.
    package enum Overlap: String, Sendable, Hashable, CaseIterable {
        /// It is recorded skipped.
        case skip
        /// It runs when the active run ends.
        case queue
    }

    package var expressions: [CronExpression]
    /// An IANA zone name, checked by the loader.
    package var timeZone: String
    package var catchup: Catchup
    package var maxCatchup: Int?
    /// Ticks older than this are never run (recorded outside the window).
    package var catchupWindow: Duration?
    package var overlap: Overlap
    /// A tick decided within this long of its time is on time.
    package var grace: Duration
    /// The task to run when ticks were missed, once per scheduler pass that recorded any.
    package var notifyMissed: TaskID?
    package var location: SourceLocation

    package init(expressions: [CronExpression], timeZone: String = "UTC", catchup: Catchup = .latest, maxCatchup: Int? = nil,
                 catchupWindow: Duration? = nil, overlap: Overlap = .skip, grace: Duration = .seconds(15 * 60),
                 notifyMissed: TaskID? = nil, location: SourceLocation) {
        self.expressions = expressions
        self.timeZone = timeZone
        self.catchup = catchup
        self.maxCatchup = maxCatchup
        self.catchupWindow = catchupWindow
        self.overlap = overlap
        self.grace = grace
        self.notifyMissed = notifyMissed
        self.location = location
    }
}

/// A tick the scheduler recorded as missed, as a `notify_missed` run hears of it (RFC 3339 UTC and local).
package struct MissedTick: Sendable, Hashable, Encodable {
    package var tick: String
    package var local: String
    /// `missed-downtime`, `dropped-over-cap` or `outside-window`.
    package var status: String

    package init(tick: String, local: String, status: String) {
        self.tick = tick
        self.local = local
        self.status = status
    }
}
