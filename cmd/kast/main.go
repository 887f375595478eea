// Command kast is a self-hosted live streaming server for conferences:
// speakers publish over RTMP, viewers watch Low-Latency HLS in a browser.
//
// Run `kast -h` for the flags and their KAST_* environment variables.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// gcPercent is kast's default GOGC. Its live heap is small (the media
// window and one HTTP connection per viewer) while every request leaves
// garbage, so a tighter target than Go's 100 saves about a quarter of the
// memory per viewer (47 -> 34 KB at 1,000 viewers) for no measurable CPU
// (docs/benchmarks.md). The GOGC environment variable still wins.
const gcPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if len(os.Args) > 1 && os.Args[1] == "recordings" {
		os.Exit(recordingsCommand(os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
	}
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kast:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A second signal exits at once.
		<-ctx.Done()
		stop()
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		fmt.Fprintln(os.Stderr, "kast: second signal, exiting now")
		os.Exit(1)
	}()

	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kast:", err)
		os.Exit(1)
	}
}
