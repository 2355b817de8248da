"""The app shell: the `churnguard` command, the daily job's orchestration, the demo and the generated
docs. It wires the stages together; nothing imports it."""
