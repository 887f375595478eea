package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kastlive/kast/recorder"
	apihttp "github.com/kastlive/kast/web/api"
	"github.com/kastlive/kast/web/vod"
)

// recordingsUsage is printed by `kast recordings -h`.
const recordingsUsage = `Usage: kast recordings <command> [flags]

Manage the recordings of a running kast through its admin API. The admin
token comes from KAST_ADMIN_TOKEN; the server from -url (default: the
KAST_HTTP_ADDR port on 127.0.0.1).

  list                                 talks and publishes with sizes and durations
  trim   -talk ID -start 30s -end 10s  leave that much out at the start and the end
                                       (cut at segment boundaries; -start 0 -end 0 undoes it)
  delete -talk ID                      delete a talk's recording
  delete -publish TRACK/ID             delete one publish

The files are plain HLS under <data-dir>/recordings (see README.md): to
export, copy that directory, e.g. rclone copy data/recordings remote:kast.
`

// recordingsCommand runs `kast recordings ...` and returns the exit code.
func recordingsCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, recordingsUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	fs := flag.NewFlagSet("kast recordings "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", defaultAdminURL(getenv("KAST_HTTP_ADDR")), "kast's HTTP address")
	talk := fs.Int64("talk", 0, "talk id")
	publish := fs.String("publish", "", "publish as TRACK/ID")
	start := fs.Duration("start", 0, "trim: media left out at the start")
	end := fs.Duration("end", 0, "trim: media left out at the end")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	token := getenv("KAST_ADMIN_TOKEN")
	if token == "" {
		fmt.Fprintln(stderr, "kast recordings: set KAST_ADMIN_TOKEN to the admin token")
		return 2
	}
	c := adminClient{base: strings.TrimRight(*base, "/"), token: token}
	var err error
	switch args[0] {
	case "list":
		err = c.list(stdout)
	case "trim":
		if *talk <= 0 {
			err = errors.New("trim needs -talk")
			break
		}
		body, _ := json.Marshal(map[string]float64{"cut_start_s": start.Seconds(), "cut_end_s": end.Seconds()})
		var out map[string]any
		if err = c.do("POST", fmt.Sprintf("/api/v1/admin/recordings/talks/%d/trim", *talk), body, &out); err == nil {
			fmt.Fprintf(stdout, "talk %d: %v segments, %.1f s\n", *talk, out["segments"], out["duration_s"])
		}
	case "delete":
		switch {
		case *talk > 0:
			err = c.do("DELETE", fmt.Sprintf("/api/v1/admin/recordings/talks/%d", *talk), nil, nil)
		case strings.Count(*publish, "/") == 1:
			err = c.do("DELETE", "/api/v1/admin/recordings/publishes/"+*publish, nil, nil)
		default:
			err = errors.New("delete needs -talk ID or -publish TRACK/ID")
		}
		if err == nil {
			fmt.Fprintln(stdout, "deleted")
		}
	default:
		fmt.Fprint(stderr, recordingsUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "kast recordings:", err)
		return 1
	}
	return 0
}

func defaultAdminURL(httpAddr string) string {
	port := portOf(httpAddr)
	if port == "" {
		port = "8080"
	}
	return "http://127.0.0.1:" + port
}

type adminClient struct {
	base, token string
}

func (c adminClient) do(method, path string, body []byte, out any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := http.Client{Timeout: 30 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s: %s", res.Status, e.Error)
		}
		return fmt.Errorf("%s", res.Status)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c adminClient) list(w io.Writer) error {
	var l vod.Listing
	if err := c.do("GET", "/api/v1/admin/recordings", nil, &l); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TALK\tTRACK\tSTART\tDURATION\tSIZE\tSTATE\tTITLE")
	for _, t := range l.Talks {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Track, clock(t.Start), seconds(t.DurationS), size(t.Bytes), state(t.Live, t.CutStartS+t.CutEndS > 0), t.Title)
	}
	fmt.Fprintln(tw, "\nPUBLISH\tTRACK\tSTARTED\tDURATION\tSIZE\tSTATE\t")
	for _, p := range l.Publishes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", p.ID, p.Track, clock(p.Started), seconds(p.DurationS), size(p.Bytes), state(p.Live, false))
	}
	st := "recording"
	if l.Stats.Full {
		st = "STOPPED (no room)"
	}
	fmt.Fprintf(tw, "\n%s on disk, %d segments dropped, %s\n", size(l.Stats.UsageBytes), l.Stats.Dropped, st)
	return tw.Flush()
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}

func state(live, trimmed bool) string {
	switch {
	case live:
		return "live"
	case trimmed:
		return "trimmed"
	}
	return "done"
}

// recordingLinks tells the API which talks have a recording.
type recordingLinks struct{ r *recorder.Recorder }

func (l recordingLinks) TalkRecording(id int64) (apihttp.Recording, bool) {
	rec, err := l.r.Talk(id)
	if err != nil || len(rec.Entries) == 0 {
		return apihttp.Recording{}, false
	}
	return apihttp.Recording{Duration: rec.Duration, Size: rec.Size, Live: rec.Live}, true
}
