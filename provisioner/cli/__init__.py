"""The command line: click commands, sessions, exit codes and rendering; the only layer that imports steps."""
