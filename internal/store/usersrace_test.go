package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestAddUserRace adds one name from 8 writers at once, on either store:
// exactly one user is added, the others are told it exists (never a raw
// duplicate-key error), and its token is the one that works; then the
// same for a revoked name given again.
func TestAddUserRace(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	const writers = 8
	race := func(round string) int {
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for w := range writers {
			wg.Go(func() {
				h := sha256.Sum256([]byte(fmt.Sprintf("%s token %d", round, w)))
				_, errs[w] = db.AddUser(ctx, "carol", RoleRunner, h[:])
			})
		}
		wg.Wait()
		won := -1
		for w, err := range errs {
			switch {
			case err == nil && won < 0:
				won = w
			case err == nil:
				t.Fatalf("%s: writers %d and %d both added carol", round, won, w)
			case !errors.Is(err, ErrUserExists):
				t.Fatalf("%s: writer %d: %v, want ErrUserExists", round, w, err)
			}
		}
		if won < 0 {
			t.Fatalf("%s: no writer added carol", round)
		}
		return won
	}
	for _, round := range []string{"first", "again"} {
		won := race(round)
		h := sha256.Sum256([]byte(fmt.Sprintf("%s token %d", round, won)))
		if u, ok, err := db.UserByTokenHash(ctx, h[:]); err != nil || !ok || u.Name != "carol" {
			t.Fatalf("%s: the winner's token: %+v %v %v", round, u, ok, err)
		}
		users, err := db.Users(ctx)
		if err != nil || len(users) != 1 {
			t.Fatalf("%s: users %+v, %v", round, users, err)
		}
		if err := db.RevokeUser(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
	}
}
