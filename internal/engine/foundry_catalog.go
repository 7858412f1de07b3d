package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FoundryEntry is one variant in Foundry Local's catalog (GET /foundry/list,
// backends.md §1.5). One alias covers several variants (CPU, GPU, NPU
// builds), each with its own Name.
type FoundryEntry struct {
	Name              string          // the model id to load and chat with: "…:<version>", or no suffix in older catalogs
	DisplayName       string          // displayName
	Alias             string          // the family name users type, e.g. "phi-4-mini"
	Version           string          // version
	Device            string          // runtime.deviceType: CPU, GPU, NPU
	ExecutionProvider string          // runtime.executionProvider, e.g. "CUDAExecutionProvider"
	FileSizeMB        int64           // fileSizeMb (0: unknown)
	URI               string          // uri, sent back in a download request
	Publisher         string          // publisher
	ProviderType      string          // providerType as listed (downloads always send "AzureFoundryLocal")
	Task              string          // task, e.g. "chat-completion"
	PromptTemplate    json.RawMessage // promptTemplate, sent back verbatim in a download request (nil: absent)
}

// model is the entry as a Model, download and load state unknown.
func (e FoundryEntry) model() Model {
	m := Model{ID: e.Name, Alias: e.Alias, Device: e.Device, ExecutionProvider: e.ExecutionProvider}
	if e.FileSizeMB > 0 {
		m.SizeBytes = e.FileSizeMB << 20
	}
	return m
}

// foundryText decodes any JSON value without failing: a string as itself,
// a number or boolean as its literal text, anything else as "". Catalog
// entries are hostile input; one odd field must not lose the entry.
type foundryText string

// UnmarshalJSON implements json.Unmarshaler.
func (t *foundryText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var s string
	switch {
	case len(b) == 0:
	case b[0] == '"':
		if json.Unmarshal(b, &s) != nil {
			s = ""
		}
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9', string(b) == "true", string(b) == "false":
		s = string(b)
	}
	*t = foundryText(strings.TrimSpace(s))
	return nil
}

// foundrySize decodes fileSizeMb without failing: a number or a numeric
// string; anything else, negative or absurd (over an exabyte) is 0.
type foundrySize int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *foundrySize) UnmarshalJSON(b []byte) error {
	var t foundryText
	t.UnmarshalJSON(b)
	v, err := strconv.ParseFloat(string(t), 64)
	if err != nil || !(v > 0) || v > 1<<40 || math.IsInf(v, 0) {
		*n = 0
		return nil
	}
	*n = foundrySize(math.Round(v))
	return nil
}

// foundryRuntime decodes runtime without failing; a runtime that is not an
// object leaves both fields empty.
type foundryRuntime struct {
	DeviceType        foundryText
	ExecutionProvider foundryText
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *foundryRuntime) UnmarshalJSON(b []byte) error {
	var v struct {
		DeviceType        foundryText
		ExecutionProvider foundryText
	}
	if json.Unmarshal(b, &v) == nil {
		*r = foundryRuntime(v)
	}
	return nil
}

// foundryWireEntry is a catalog entry as sent; keys match
// case-insensitively and unknown keys are ignored.
type foundryWireEntry struct {
	Name           foundryText
	DisplayName    foundryText
	Alias          foundryText
	Version        foundryText
	URI            foundryText `json:"uri"`
	Publisher      foundryText
	ProviderType   foundryText
	Task           foundryText
	Runtime        foundryRuntime
	FileSizeMb     foundrySize
	PromptTemplate json.RawMessage
}

// Catalog fetches the catalog (GET /foundry/list; the first call can take
// long, and it can fail with "No models were returned from the Azure
// Foundry catalog", Foundry-Local #78) and returns its entries in the
// service's order. Entries that cannot be used (not an object, no name, a
// name seen before) are skipped, each with a note saying why. On the 1.x
// web service the catalog is GET /v1/models (every variant, in the
// service's order) with each variant's device and execution provider read
// from its id, its alias the id without version and variant suffix, unless
// the `foundry` CLI's variant table gives the real ones.
func (f *FoundryManager) Catalog(ctx context.Context) (entries []FoundryEntry, notes []string, err error) {
	if f.is1x(ctx) {
		c, err := f.catalog1x(ctx)
		return c.entries, c.notes, err
	}
	body, err := f.do(ctx, f.hc, f.root+"/foundry/list")
	if err != nil {
		return nil, nil, fmt.Errorf("foundry: catalog: %w", err)
	}
	entries, notes, err = foundryParseCatalog(body)
	if err != nil {
		return nil, notes, fmt.Errorf("foundry: catalog: %w", err)
	}
	return entries, notes, nil
}

// foundryParseCatalog decodes a /foundry/list body (see Catalog).
func foundryParseCatalog(body []byte) ([]FoundryEntry, []string, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, nil, fmt.Errorf("not a JSON array of entries: %v", err)
	}
	var notes []string
	entries := make([]FoundryEntry, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for i, r := range raw {
		var w foundryWireEntry
		if err := json.Unmarshal(r, &w); err != nil {
			notes = append(notes, fmt.Sprintf("foundry: catalog entry %d skipped: not an object (%v)", i, err))
			continue
		}
		e := FoundryEntry{
			Name: string(w.Name), DisplayName: string(w.DisplayName), Alias: string(w.Alias),
			Version: string(w.Version), Device: string(w.Runtime.DeviceType),
			ExecutionProvider: string(w.Runtime.ExecutionProvider), FileSizeMB: int64(w.FileSizeMb),
			URI: string(w.URI), Publisher: string(w.Publisher), ProviderType: string(w.ProviderType),
			Task: string(w.Task),
		}
		if p := bytes.TrimSpace(w.PromptTemplate); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
			e.PromptTemplate = p
		}
		switch key := strings.ToLower(e.Name); {
		case e.Name == "":
			notes = append(notes, fmt.Sprintf("foundry: catalog entry %d (alias %q) skipped: it has no name", i, e.Alias))
		case seen[key]:
			notes = append(notes, fmt.Sprintf("foundry: catalog entry %d skipped: %q is listed twice", i, e.Name))
		default:
			seen[key] = true
			entries = append(entries, e)
		}
	}
	return entries, notes, nil
}

// Resolve turns what a user typed into one catalog variant, as the legacy
// SDKs do (backends.md §1.5):
//
//  1. an exact id, case-insensitively;
//  2. an id without its version: the entry "<key>:<n>" with the highest
//     integer n;
//  3. an alias: its first variant in the service's order (the service
//     lists NPU, then non-generic GPU, generic GPU, non-generic CPU, CPU),
//     restricted to device (CPU, GPU, NPU) when device is not empty.
//
// A device that the matched id does not run on is an error. The Model has
// the variant's id, device, execution provider and size, and Downloaded and
// Loaded when the service could say. One alias can resolve differently per
// machine or catalog refresh: resolve once per run and store the result.
// Errors list the aliases, or the alias's variants. On the 1.x web service
// the catalog is Catalog's, and an alias prefers a downloaded variant (as
// SDK 1.x does) before the service's order.
func (f *FoundryManager) Resolve(ctx context.Context, key, device string) (Model, error) {
	if f.is1x(ctx) {
		return f.resolve1x(ctx, key, device)
	}
	entries, notes, err := f.Catalog(ctx)
	for _, n := range notes {
		f.note("%s", n)
	}
	if err != nil {
		return Model{}, err
	}
	e, err := foundryResolve(entries, key, device)
	if err != nil {
		return Model{}, err
	}
	m := e.model()
	if cached, err := f.ids(ctx, "/openai/models"); err == nil {
		m.Downloaded = foundryBool(foundryListed(cached, e.Name))
	}
	if loaded, err := f.ids(ctx, "/openai/loadedmodels"); err == nil {
		m.Loaded = foundryBool(foundryListed(loaded, e.Name))
	}
	return m, nil
}

// foundryResolve implements Resolve's rules over entries in service order.
func foundryResolve(entries []FoundryEntry, key, device string) (FoundryEntry, error) {
	key, device = strings.TrimSpace(key), strings.TrimSpace(device)
	if key == "" {
		return FoundryEntry{}, fmt.Errorf("foundry: no model named; aliases: %s", foundryAliases(entries))
	}
	checkDevice := func(e FoundryEntry) (FoundryEntry, error) {
		if device != "" && !strings.EqualFold(e.Device, device) {
			dev := e.Device
			if dev == "" {
				dev = "an unknown device"
			}
			return FoundryEntry{}, fmt.Errorf("foundry: %s runs on %s, not %s; variants of %q: %s",
				e.Name, dev, strings.ToUpper(device), e.Alias, foundryVariants(entries, e.Alias))
		}
		return e, nil
	}
	// 1. Exact id.
	for _, e := range entries {
		if strings.EqualFold(e.Name, key) {
			return checkDevice(e)
		}
	}
	// 2. "<key>:<version>", highest integer version (a non-integer
	// version ranks below every integer one).
	best, bestV := -1, math.MinInt
	for i, e := range entries {
		base, ver, has := foundrySplitVersion(e.Name)
		if !has || !strings.EqualFold(base, key) {
			continue
		}
		v, err := strconv.Atoi(ver)
		if err != nil || v < 0 {
			v = -1
		}
		if best < 0 || v > bestV {
			best, bestV = i, v
		}
	}
	if best >= 0 {
		return checkDevice(entries[best])
	}
	// 3. Alias, first in service order, optionally on one device.
	aliased := false
	for _, e := range entries {
		if !strings.EqualFold(e.Alias, key) {
			continue
		}
		aliased = true
		if device == "" || strings.EqualFold(e.Device, device) {
			return e, nil
		}
	}
	if aliased {
		return FoundryEntry{}, fmt.Errorf("foundry: alias %q has no %s variant; its variants: %s",
			key, strings.ToUpper(device), foundryVariants(entries, key))
	}
	return FoundryEntry{}, fmt.Errorf("foundry: no model %q in the catalog (not an id, an id without its version, or an alias); aliases: %s",
		key, foundryAliases(entries))
}

// foundryListMax bounds the names an error lists.
const foundryListMax = 40

// foundryAliases lists the catalog's aliases, each once, in service order.
func foundryAliases(entries []FoundryEntry) string {
	var names []string
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Alias != "" && !seen[strings.ToLower(e.Alias)] {
			seen[strings.ToLower(e.Alias)] = true
			names = append(names, e.Alias)
		}
	}
	return foundryJoin(names, "the catalog is empty")
}

// foundryVariants lists an alias's variants with their devices.
func foundryVariants(entries []FoundryEntry, alias string) string {
	var names []string
	for _, e := range entries {
		if alias != "" && strings.EqualFold(e.Alias, alias) {
			dev := e.Device
			if dev == "" {
				dev = "device unknown"
			}
			names = append(names, e.Name+" ("+dev+")")
		}
	}
	return foundryJoin(names, "none")
}

func foundryJoin(names []string, empty string) string {
	switch {
	case len(names) == 0:
		return empty
	case len(names) > foundryListMax:
		return strings.Join(names[:foundryListMax], ", ") + fmt.Sprintf(" and %d more", len(names)-foundryListMax)
	}
	return strings.Join(names, ", ")
}
