from tests.slack_stub import slack_stub  # noqa: F401
