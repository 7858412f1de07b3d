package store

import (
	"context"
	"math"
	"reflect"
	"testing"

	"flperf/internal/record"
)

func fp(v float64) *float64 { return &v }
func ip(v int) *int         { return &v }

// TestServerTimingsRoundTrip checks that each record's engine figures are
// stored and read back exactly (nil stays nil, a real zero stays zero), and
// that the summary recomputed from the database equals the live one,
// engine figures included.
func TestServerTimingsRoundTrip(t *testing.T) {
	db := openTest(t)
	recs := makeRecords(40, 3)
	for i := range recs {
		switch i % 4 {
		case 0: // llama.cpp
			recs[i].Server = &record.ServerTimings{PromptMS: fp(float64(i) + 0.25), DecodeMS: fp(400), PromptTokens: ip(i), DecodeTokens: ip(20)}
		case 1: // Ollama, a cached prompt: zero prefill
			recs[i].Server = &record.ServerTimings{PromptMS: fp(0), LoadMS: fp(1.5), TotalMS: fp(900), DecodeMS: fp(300), DecodeTokens: ip(0)}
		case 2: // LM Studio
			recs[i].Server = &record.ServerTimings{TTFTMS: fp(92), DecodeTPS: fp(61.7), DecodeMS: fp(2070)}
		}
	}
	res := writeRun(t, db, "srv", recs)
	ctx := context.Background()
	i := 0
	err := db.Records(ctx, "srv", func(r *record.Record) error {
		if !reflect.DeepEqual(r.Server, recs[i].Server) {
			t.Errorf("record %d: server %+v, stored %+v", i, r.Server, recs[i].Server)
		}
		i++
		return nil
	})
	if err != nil || i != len(recs) {
		t.Fatalf("read %d records: %v", i, err)
	}
	got, err := db.Run(ctx, "srv")
	if err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, got.Summary) != jsonOf(t, res.Summary) {
		t.Errorf("recomputed summary differs from the live one")
	}
	if g := got.Groups[0]; g.Engine == nil || g.Engine.N == 0 {
		t.Errorf("recomputed summary lost the engine figures: %+v", g.Engine)
	}
}

// TestServerCodecRejectsDamage checks that a damaged server value is an
// error, never a panic or a silently wrong figure.
func TestServerCodecRejectsDamage(t *testing.T) {
	b := encodeServer(&record.ServerTimings{PromptMS: fp(3), DecodeTokens: ip(7)})
	for _, bad := range [][]byte{b[:len(b)-1], append(append([]byte{}, b...), 0), {0x80}, {0x40, 0, 0, 0, 0, 0, 0, 0xf0, 0xbf}} {
		if _, err := decodeServer(bad); err == nil {
			t.Errorf("%x decoded without error", bad)
		}
	}
	got, err := decodeServer(b)
	if err != nil || got.PromptMS == nil || *got.PromptMS != 3 || got.DecodeTokens == nil || *got.DecodeTokens != 7 || got.TTFTMS != nil {
		t.Errorf("decoded %+v, %v", got, err)
	}
	if v, _ := decodeServer(encodeServer(&record.ServerTimings{DecodeTPS: fp(math.MaxFloat64)})); v == nil || *v.DecodeTPS != math.MaxFloat64 {
		t.Errorf("max float: %+v", v)
	}
}

// FuzzServerCodec checks that any bytes decode without a panic, and that
// whatever decodes encodes back to the same bytes.
func FuzzServerCodec(f *testing.F) {
	f.Add(encodeServer(&record.ServerTimings{PromptMS: fp(3), DecodeTokens: ip(7)}))
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeServer(b)
		if err != nil || v == nil {
			return
		}
		if again := encodeServer(v); string(again) != string(b) {
			t.Errorf("%x decoded and encoded to %x", b, again)
		}
	})
}
