package rtc

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLoggerFactory sends pion's errors to kast's log as warnings and its
// warnings as debug lines; pion's info, debug and trace are dropped.
type pionLoggerFactory struct{ log *slog.Logger }

func (f *pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger(f.log, scope)
}

func pionLogger(l *slog.Logger, scope string) logging.LeveledLogger {
	return &pionLog{log: l.With("pion", scope)}
}

type pionLog struct{ log *slog.Logger }

func (p *pionLog) Trace(string)          {}
func (p *pionLog) Tracef(string, ...any) {}
func (p *pionLog) Debug(string)          {}
func (p *pionLog) Debugf(string, ...any) {}
func (p *pionLog) Info(string)           {}
func (p *pionLog) Infof(string, ...any)  {}
func (p *pionLog) Warn(msg string)       { p.log.Log(context.Background(), slog.LevelDebug, msg) }
func (p *pionLog) Warnf(f string, a ...any) {
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Log(context.Background(), slog.LevelDebug, fmt.Sprintf(f, a...))
	}
}
func (p *pionLog) Error(msg string)          { p.log.Warn(msg) }
func (p *pionLog) Errorf(f string, a ...any) { p.log.Warn(fmt.Sprintf(f, a...)) }
