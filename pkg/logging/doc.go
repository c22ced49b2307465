// Package logging is how the gateway writes its own log: structured
// events through log/slog, one JSON object a line (text when the output is
// a terminal), with the attribute keys every package shares. It imports
// only the standard library.
package logging
