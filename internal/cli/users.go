package cli

import (
	"context"
	"crypto/sha256"
	"fmt"
	"text/tabwriter"
	"time"

	"flperf/internal/server"
	"flperf/internal/store"
)

// usersAbout is `flperf users -h`'s description.
const usersAbout = `Manages the named users of a shared server (flperf serve): each has a role,
viewer (reads), runner (also starts runs and pushes them) or admin (also deletes,
manages users and reads the audit log). Once a user exists, the server's API takes
user tokens only (loopback included); without users, the single --token mode stays.

  flperf users add NAME --role viewer|runner|admin   prints the new user's token,
                                                   once: only its hash is stored
  flperf users list                                  every user, revoked ones too
  flperf users revoke NAME                           the token stops working at once`

// usersCmd is `flperf users add|list|revoke`.
func usersCmd(ctx context.Context, env *Env, args []string) int {
	c := newSimpleCmd(env, "users", "add NAME --role ROLE | list | revoke NAME [flags]", usersAbout)
	role := c.fs.String("role", "", "add: the user's `role`: viewer, runner or admin")
	pos, code, ok := c.parse(args, 1, 2)
	if !ok {
		return code
	}
	sub := pos[0]
	want := map[string]int{"add": 2, "list": 1, "revoke": 2}
	n, known := want[sub]
	if !known || len(pos) != n {
		fmt.Fprintf(env.Stderr, "flperf users: usage: flperf users %s\n", c.args)
		return ExitUsage
	}
	if sub == "add" {
		if *role == "" {
			fmt.Fprintln(env.Stderr, "flperf users add: --role is required: viewer, runner or admin")
			return ExitUsage
		}
		if !c.flagOneOf("role", *role, "viewer", "runner", "admin") {
			return ExitUsage
		}
		if err := store.CheckUserName(pos[1]); err != nil {
			fmt.Fprintf(env.Stderr, "flperf users add: %v\n", err)
			return ExitUsage
		}
	} else if *role != "" {
		fmt.Fprintf(env.Stderr, "flperf users %s: --role is only for add\n", sub)
		return ExitUsage
	}
	db, err := openDB(ctx, *c.db)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	switch sub {
	case "add":
		tok := server.NewToken()
		sum := sha256.Sum256([]byte(tok))
		u, err := db.AddUser(ctx, pos[1], store.Role(*role), sum[:])
		if err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(env.Stderr, "flperf: added user %s (%s); its token is printed once, here, and only its hash is stored:\n", u.Name, u.Role)
		fmt.Fprintln(env.Stdout, tok)
	case "list":
		us, err := db.Users(ctx)
		if err != nil {
			return c.fail(err)
		}
		if len(us) == 0 {
			fmt.Fprintln(env.Stdout, "no users: the server uses its single access token (flperf users add NAME --role admin makes the first)")
			return ExitOK
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tSTATE")
		for _, u := range us {
			state := "active"
			if u.Revoked != nil {
				state = "revoked " + u.Revoked.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, u.Created.Format(time.RFC3339), state)
		}
		tw.Flush()
	case "revoke":
		if err := db.RevokeUser(ctx, pos[1]); err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(env.Stdout, "revoked user %s: its token no longer works\n", pos[1])
	}
	return ExitOK
}
