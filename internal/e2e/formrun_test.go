package e2e

import (
	"testing"
	"time"
)

// submitRefused presses Run on the Benchmarks form and checks that the
// form refuses it with the field sel marked as invalid (what: the case,
// for the message).
func (b *browser) submitRefused(t *testing.T, sel, what string) {
	t.Helper()
	b.click(t, "#run-button")
	b.waitFor(t, 20*time.Second, "the refusal", `document.querySelector('#form-out .error')`)
	if !eval[bool](t, b, sprintf(`document.querySelector(%s).classList.contains('invalid')`, js(sel))) {
		t.Errorf("%s: the field %s is not marked; the page says %q", what, sel, eval[string](t, b, `document.querySelector('#form-out').textContent`))
	}
}

// submitCompleted presses Run on the Benchmarks form, waits for the run it
// starts to complete and returns its stored document.
func (b *browser) submitCompleted(t *testing.T, a *app) runDoc {
	t.Helper()
	b.click(t, "#run-button")
	b.waitFor(t, 30*time.Second, "the live panel", `document.querySelector('.live-panel') || document.querySelector('#form-out .error')`)
	if msg := eval[string](t, b, `(document.querySelector('#form-out .error') || {}).textContent || ''`); msg != "" {
		t.Fatalf("the run was not started: %s", msg)
	}
	id := eval[string](t, b, `document.querySelector('.live-panel').dataset.run`)
	if st := a.waitStatus(t, id, 2*time.Minute, "completed", "interrupted", "canceled", "failed"); st != "completed" {
		t.Fatalf("run %s ended %s", id, st)
	}
	return a.run(t, id)
}
