package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"flperf/internal/runner"
	"flperf/internal/store"
	"flperf/internal/transfer"
)

// teamEnv lets FLPERF_DB and FLPERF_TOKEN set --db and --token.
var teamEnv = map[string]bool{"db": true, "token": true}

// teamFlags are the flags of the commands that talk to a team server.
type teamFlags struct {
	token      *string
	insecure   *bool
	noProgress *bool
}

func addTeamFlags(fs *flag.FlagSet) teamFlags {
	return teamFlags{
		token:      fs.String("token", "", "the team server's access `token` (sent as Authorization: Bearer)"),
		insecure:   fs.Bool("insecure", false, "send the token over plain http to a host beyond loopback (anyone on the way can read it)"),
		noProgress: fs.Bool("no-progress", false, "no progress bar"),
	}
}

// teamClient builds the client of server URL for a command.
func teamClient(env *Env, rawURL, token string, insecure bool) (*transfer.Client, error) {
	c, err := transfer.NewClient(rawURL, token, insecure)
	if err != nil {
		return nil, err
	}
	c.Host, _ = os.Hostname()
	c.Tool = runner.CurrentTool().Version
	c.Log = func(msg string) { fmt.Fprintf(env.Stderr, "flperf: %s\n", msg) }
	if insecure && token != "" && strings.HasPrefix(c.URL(), "http:") {
		fmt.Fprintf(env.Stderr, "flperf: --insecure: the access token goes to %s over plain http, readable by anyone on the way\n", c.URL())
	}
	return c, nil
}

// pushCmd sends stored runs to a team server.
func pushCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "push", "RUN... --to URL [flags]", "Sends stored runs (finished or interrupted), records, resources and machine fingerprint included, to a team server (flperf serve) over its API. The local copy stays. A run the server already holds is not sent again; a push cut short (network, Ctrl-C) resumes where the server stopped when run again. RUN is an id or a unique prefix of one.")
	c.envOK = teamEnv
	to := c.fs.String("to", "", "the team server's `URL`, https://HOST:PORT (required)")
	tf := addTeamFlags(c.fs)
	pos, code, ok := c.parse(args, 1, -1)
	if !ok {
		return code
	}
	if *to == "" {
		fmt.Fprintf(env.Stderr, "flperf push: --to URL is required: the team server (flperf serve) to push to\n")
		return ExitUsage
	}
	client, err := teamClient(env, *to, *tf.token, *tf.insecure)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf push: %v\n", err)
		return ExitUsage
	}
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	failed := 0
	for _, prefix := range pos {
		id, err := db.Resolve(ctx, prefix)
		if err != nil {
			fmt.Fprintf(env.Stderr, "flperf push: %v\n", err)
			failed++
			continue
		}
		if err := pushRun(ctx, env, env.Stdout, client, db, id, !*tf.noProgress); err != nil {
			failed++
		}
	}
	if failed > 0 {
		return ExitFailure
	}
	return ExitOK
}

// pushRun pushes run id, saying how it went on out (a failure, on
// standard error, says how to retry).
func pushRun(ctx context.Context, env *Env, out io.Writer, client *transfer.Client, db *store.DB, id string, progress bool) error {
	bar := newTransferBar(env, "pushing run "+id, progress)
	client.Progress = bar.update
	res, err := client.Push(ctx, db, id)
	bar.clear()
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf push: run %s: %v\n  The run is unchanged in %s. Push it again with: flperf push %s --to %s\n  (only the records the server lacks are sent)\n",
			id, err, db.Path(), id, client.URL())
		return err
	}
	switch {
	case res.Already:
		fmt.Fprintf(out, "run %s is already on %s (%d records)\n", id, client.URL(), res.State.Total)
	case res.Resumed > 0:
		fmt.Fprintf(out, "pushed run %s to %s: %d records (resumed: the server held %d)\n", id, client.URL(), res.State.Total, res.Resumed)
	default:
		fmt.Fprintf(out, "pushed run %s to %s: %d records\n", id, client.URL(), res.State.Total)
	}
	return nil
}

// pullCmd brings a run from a team server into the local database.
func pullCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "pull", "URL RUN [flags]", "Brings run RUN (an id or a unique prefix) from the team server at URL into the local database, records, resources and machine fingerprint included, stored whole or not at all. A run already here with the same content is left as it is; another run under the same id is refused.")
	c.envOK = teamEnv
	tf := addTeamFlags(c.fs)
	pos, code, ok := c.parse(args, 2, 2)
	if !ok {
		return code
	}
	client, err := teamClient(env, pos[0], *tf.token, *tf.insecure)
	if err != nil {
		fmt.Fprintf(env.Stderr, "flperf pull: %v\n", err)
		return ExitUsage
	}
	if !store.ValidID(pos[1]) {
		fmt.Fprintf(env.Stderr, "flperf pull: %q is not a run id: ids are letters, digits and '-'\n", pos[1])
		return ExitUsage
	}
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	bar := newTransferBar(env, "pulling run "+pos[1], !*tf.noProgress)
	client.Progress = bar.update
	res, err := client.Pull(ctx, db, pos[1])
	bar.clear()
	if err != nil {
		return c.fail(fmt.Errorf("run %s from %s: %w", pos[1], client.URL(), err))
	}
	if res.Already {
		fmt.Fprintf(env.Stdout, "run %s is already in %s (%d records)\n", res.State.ID, db.Path(), res.State.Total)
	} else {
		fmt.Fprintf(env.Stdout, "pulled run %s from %s: %d records (flperf show %s)\n", res.State.ID, client.URL(), res.State.Total, res.State.ID)
	}
	return ExitOK
}

// transferBar draws a push's or pull's progress on one line of a
// terminal's standard error, at most every 100 ms.
type transferBar struct {
	w     io.Writer
	what  string
	on    bool
	last  time.Time
	drawn bool
}

// newTransferBar draws only on a terminal outside CI, unless told not to.
func newTransferBar(env *Env, what string, want bool) *transferBar {
	ci := env.Getenv("CI")
	on := want && isTerminal(env.Stderr) && (ci == "" || ci == "false" || ci == "0") && env.Getenv("TERM") != "dumb"
	return &transferBar{w: env.Stderr, what: what, on: on}
}

const barWidth = 30

func (b *transferBar) update(done, total int64) {
	if !b.on || total <= 0 || time.Since(b.last) < 100*time.Millisecond && done != total {
		return
	}
	b.last = time.Now()
	fill := int(int64(barWidth) * done / total)
	bar := make([]byte, barWidth)
	for i := range bar {
		bar[i] = '.'
		if i < fill {
			bar[i] = '#'
		}
	}
	fmt.Fprintf(b.w, "\r\033[K%s [%s] %d/%d records (%d%%)", b.what, bar, done, total, 100*done/total)
	b.drawn = true
}

func (b *transferBar) clear() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
