"""The front ends: the command line, the REPL, showing answers (rich), the Discord bot and the
ratings it collects. Each builds the answer service once and calls it."""
