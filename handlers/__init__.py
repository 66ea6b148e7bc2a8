"""Chat faces: the only code that knows Telegram, Slack or a terminal."""
