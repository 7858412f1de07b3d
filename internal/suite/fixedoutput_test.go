package suite

import (
	"strings"
	"testing"
)

// TestFixedOutputField: fixed_output reads as a boolean; a string is refused
// naming the field, and so is fixed_output beside ignore_eos or min_tokens,
// which it sets itself.
func TestFixedOutputField(t *testing.T) {
	s, err := Parse("f.json", []byte(`{"name":"f","scenarios":[{"name":"a","prompt":"hi","max_tokens":8,"fixed_output":true},{"name":"b","prompt":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Scenarios[0].FixedOutput || s.Scenarios[1].FixedOutput {
		t.Errorf("fixed_output read as %v, %v", s.Scenarios[0].FixedOutput, s.Scenarios[1].FixedOutput)
	}
	for _, c := range []struct{ body, want string }{
		{`"fixed_output":"yes"`, "fixed_output: must be true or false, got string"},
		{`"fixed_output":true,"min_tokens":4`, "fixed_output: sets ignore_eos and min_tokens itself"},
		{`"fixed_output":true,"ignore_eos":true`, "fixed_output: sets ignore_eos and min_tokens itself"},
	} {
		_, err := Parse("f.json", []byte(`{"name":"f","scenarios":[{"name":"a","prompt":"hi","max_tokens":8,`+c.body+`}]}`))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `scenario 1 ("a")`) {
			t.Errorf("%s: %v, want %q", c.body, err, c.want)
		}
	}
}
