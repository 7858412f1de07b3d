package store

import (
	"context"
	"strings"
	"testing"

	"flperf/internal/engine"
)

// TestRedactUserinfo checks the text redaction the store applies: the
// user:password@ of every URL goes, everything else stays.
func TestRedactUserinfo(t *testing.T) {
	for in, want := range map[string]string{
		"http://u:p@h:1/v1":                              "http://h:1/v1",
		"https://token@h/v1":                             "https://h/v1",
		`Post "http://u:***@h/v1/chat/completions": EOF`: `Post "http://h/v1/chat/completions": EOF`,
		"a http://u:p%40x@h/v1 and HTTP://v:w@k/ end":    "a http://h/v1 and HTTP://k/ end",
		"http://h/v1?x=a@b":                              "http://h/v1?x=a@b",
		"mail me: someone@example.com":                   "mail me: someone@example.com",
		`{"endpoint":"http://h/v1","who":"x@y"}`:         `{"endpoint":"http://h/v1","who":"x@y"}`,
		"":                                               "",
	} {
		if got := engine.RedactUserinfo(in); got != want {
			t.Errorf("RedactUserinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestImportDropsCredentials imports a run (an export of an older flperf,
// say) whose endpoint, command line, warnings, events and records hold an
// endpoint's user:password: none of it is stored, and the export of the
// stored run is the same run without them.
func TestImportDropsCredentials(t *testing.T) {
	const secret = "u5er:Pa55w0rd"
	ctx := context.Background()
	src := openTest(t)
	writeRun(t, src, "creds", makeRecords(12, 3))
	doc, err := src.Export(ctx, "creds")
	if err != nil {
		t.Fatal(err)
	}
	with := "http://" + secret + "@127.0.0.1:1/v1"
	doc.Engine.Endpoint, doc.Config.Endpoint = with, with
	doc.Config.Command = []string{"flperf", "run", "--endpoint", with}
	doc.Warnings = append(doc.Warnings, "engine at "+with+" said no")
	doc.Events = append(doc.Events, Event{At: t0, Level: LevelWarn, Message: "retrying " + with})
	for i := range doc.Records {
		doc.Records[i].Endpoint = with
		doc.Records[i].Error = `Post "` + with + `/chat/completions": EOF`
	}
	db := openTest(t)
	if err := db.Import(ctx, doc); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"SELECT count(*) FROM runs WHERE engine || config || warnings LIKE '%Pa55w0rd%'",
		"SELECT count(*) FROM records WHERE endpoint LIKE '%Pa55w0rd%'",
		"SELECT count(*) FROM record_text WHERE error LIKE '%Pa55w0rd%'",
		"SELECT count(*) FROM events WHERE message LIKE '%Pa55w0rd%'"} {
		if n := count(t, db, q); n != 0 {
			t.Errorf("%s: %d", q, n)
		}
	}
	back, err := db.Export(ctx, "creds")
	if err != nil {
		t.Fatal(err)
	}
	text := jsonOf(t, back)
	if strings.Contains(text, "Pa55w0rd") || strings.Contains(text, "u5er") {
		t.Errorf("the stored run holds the credentials: %.400s", text)
	}
	if back.Config.Endpoint != "http://127.0.0.1:1/v1" || back.Records[0].Endpoint != "http://127.0.0.1:1/v1" ||
		back.Config.Command[3] != "http://127.0.0.1:1/v1" {
		t.Errorf("the endpoint itself was lost: %q, %q, %q", back.Config.Endpoint, back.Records[0].Endpoint, back.Config.Command)
	}
}
