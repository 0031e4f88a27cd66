import FlowCLI

await FlowCommand.execute()
