import FlowCore

/// The market pipeline's actions. Adding one: a new `Action` type in its own file, listed here.
package enum MarketDataActions {
    package static var all: [any Action] {
        [DetectGapAction(), BackfillAction(), BuildFeaturesAction(), ReportAction()]
    }
}
