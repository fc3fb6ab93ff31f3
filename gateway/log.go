package gateway

import (
	"fmt"
	"io"
	"log/slog"
)

// LogFormat is how log lines are written (log.format): text or json.
type LogFormat string

// The log formats.
const (
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)

// Valid reports whether f is text or json.
func (f LogFormat) Valid() bool { return f == LogText || f == LogJSON }

// UnmarshalText implements encoding.TextUnmarshaler, so a format read from the config file, the
// environment or --log-format is refused where it is decoded.
func (f *LogFormat) UnmarshalText(b []byte) error {
	if v := LogFormat(b); v.Valid() {
		*f = v
		return nil
	}
	return fmt.Errorf("log format %q: want text or json", b)
}

// LogLevel is the least severe level logged (log.level): debug, info, warn or error, read as
// slog reads a level (so an offset such as warn+2 is accepted too).
type LogLevel slog.Level

// Level implements slog.Leveler.
func (l LogLevel) Level() slog.Level { return slog.Level(l) }

// String returns slog's name of the level.
func (l LogLevel) String() string { return slog.Level(l).String() }

// UnmarshalText implements encoding.TextUnmarshaler with slog.Level's, so a level read from the
// config file or the environment is refused where it is decoded.
func (l *LogLevel) UnmarshalText(b []byte) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText(b); err != nil {
		return fmt.Errorf("log level %q: want debug, info, warn or error", b)
	}
	*l = LogLevel(lvl)
	return nil
}

// NewLogger returns a slog logger writing c.Format (text when empty) at c.Level to w. It refuses
// any other format.
func NewLogger(w io.Writer, c LogConfig) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: c.Level}
	switch c.Format {
	case LogText, "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case LogJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want text or json", c.Format)
	}
}
