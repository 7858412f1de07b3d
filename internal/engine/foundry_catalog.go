package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
)

// FoundryEntry is one variant in Foundry Local's catalog (GET /foundry/list,
// docs/engines.md §1.5). One alias covers several variants (CPU, GPU, NPU
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
// SDKs do (docs/engines.md §1.5):
//
//  1. an exact id, case-insensitively;
//  2. an id without its version: the entry "<key>:<n>" with the highest
//     integer n;
//  3. an alias: its first variant in the service's order (the service
//     lists NPU, then non-generic GPU, generic GPU, non-generic CPU, CPU),
//     restricted to device (CPU, GPU, NPU) when device is not empty; on
//     Windows, with no device named, a "-generic-gpu:" pick is swapped for
//     the alias's first CPU variant unless the CUDA rule below applies;
//  4. when any catalog entry runs on CUDAExecutionProvider, a generic-GPU
//     variant is loaded with ep=cuda (Model.LoadEP "cuda", its execution
//     provider CUDAExecutionProvider).
//
// A device that the matched id does not run on is an error. The Model has
// the variant's id, device, execution provider and size, Requested (key,
// when it is not the id), Choice (which rule chose the variant, and why),
// and Downloaded and Loaded when the service could say. One alias can
// resolve differently per machine or catalog refresh: resolve once per run
// and store the result. Errors list the aliases, or the alias's variants.
// On the 1.x web service the catalog is Catalog's, an alias prefers a
// downloaded variant (as Foundry Local 1.x selects an alias's variant)
// before the service's order, and neither the Windows nor the CUDA rule
// applies (the 1.x service loads a variant as it is).
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
	p, err := foundryResolveRules(entries, key, device, foundryLegacyRules(entries))
	if err != nil {
		return Model{}, err
	}
	m := p.model(key)
	if cached, err := f.ids(ctx, "/openai/models"); err == nil {
		m.Downloaded = foundryBool(foundryListed(cached, p.Name))
	}
	if loaded, err := f.ids(ctx, "/openai/loadedmodels"); err == nil {
		m.Loaded = foundryBool(foundryListed(loaded, p.Name))
	}
	return m, nil
}

// foundryGOOS is the operating system the SDK rules are applied for (a
// variable so that tests can apply Windows' rule anywhere).
var foundryGOOS = runtime.GOOS

// foundryRules are the SDK-specific steps of an alias resolution.
type foundryRules struct {
	// windowsSwap: the legacy SDKs on Windows swap a "-generic-gpu:" alias
	// pick for the alias's CPU variant when no device is named and no CUDA
	// override applies.
	windowsSwap bool
	// cudaOverride: the catalog has CUDA variants, so the legacy SDKs load
	// every generic-GPU variant with ep=cuda.
	cudaOverride bool
	// cachedFirst: the entries were reordered downloaded-first (1.x); only
	// the wording of the choice depends on it.
	cachedFirst bool
}

// foundryLegacyRules are the legacy SDKs' rules for this catalog on this
// operating system.
func foundryLegacyRules(entries []FoundryEntry) foundryRules {
	r := foundryRules{windowsSwap: foundryGOOS == "windows"}
	for _, e := range entries {
		if strings.EqualFold(e.ExecutionProvider, "CUDAExecutionProvider") {
			r.cudaOverride = true
			break
		}
	}
	return r
}

// foundryPick is a resolved variant: its entry, why it was chosen, and the
// ep its load must send (legacy only; empty: none).
type foundryPick struct {
	FoundryEntry
	why    string
	loadEP string
}

// model is the pick as a Model for key (the name the user typed).
func (p foundryPick) model(key string) Model {
	m := p.FoundryEntry.model()
	if p.loadEP != "" {
		m.LoadEP = p.loadEP
		m.ExecutionProvider = "CUDAExecutionProvider"
	}
	if !strings.EqualFold(strings.TrimSpace(key), p.Name) {
		m.Requested = strings.TrimSpace(key)
	}
	m.Choice = p.why
	return m
}

// foundryResolve implements Resolve's steps 1–3 over entries in service
// order, without the SDK-specific rules.
func foundryResolve(entries []FoundryEntry, key, device string) (FoundryEntry, error) {
	p, err := foundryResolveRules(entries, key, device, foundryRules{})
	return p.FoundryEntry, err
}

// foundryResolveRules implements Resolve's rules over entries in service
// order.
func foundryResolveRules(entries []FoundryEntry, key, device string, rules foundryRules) (foundryPick, error) {
	p, err := foundryResolveKey(entries, key, device, rules)
	if err != nil {
		return p, err
	}
	if rules.cudaOverride && strings.Contains(strings.ToLower(p.Name), "generic-gpu") {
		p.loadEP = "cuda"
		p.why = strings.TrimPrefix(p.why+"; ", "; ") + fmt.Sprintf("loaded with ep=cuda (the catalog lists it on %s): the Foundry Local SDKs load generic-GPU variants with CUDA when the catalog has CUDA variants",
			foundryOr(p.ExecutionProvider, "an unnamed provider"))
	}
	return p, nil
}

// foundryResolveKey finds the entry key names (steps 1–3 of Resolve).
func foundryResolveKey(entries []FoundryEntry, key, device string, rules foundryRules) (foundryPick, error) {
	key, device = strings.TrimSpace(key), strings.TrimSpace(device)
	if key == "" {
		return foundryPick{}, fmt.Errorf("foundry: no model named; aliases: %s", foundryAliases(entries))
	}
	checkDevice := func(e FoundryEntry, why string) (foundryPick, error) {
		if device != "" && !strings.EqualFold(e.Device, device) {
			dev := e.Device
			if dev == "" {
				dev = "an unknown device"
			}
			return foundryPick{}, fmt.Errorf("foundry: %s runs on %s, not %s; variants of %q: %s",
				e.Name, dev, strings.ToUpper(device), e.Alias, foundryVariants(entries, e.Alias))
		}
		return foundryPick{FoundryEntry: e, why: why}, nil
	}
	// 1. Exact id.
	for _, e := range entries {
		if strings.EqualFold(e.Name, key) {
			return checkDevice(e, "")
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
		return checkDevice(entries[best], fmt.Sprintf("%s without a version: its highest version", key))
	}
	// 3. Alias, first in service order, optionally on one device.
	var matches []FoundryEntry
	aliased := false
	for _, e := range entries {
		if !strings.EqualFold(e.Alias, key) {
			continue
		}
		aliased = true
		if device == "" || strings.EqualFold(e.Device, device) {
			matches = append(matches, e)
		}
	}
	if len(matches) == 0 {
		if aliased {
			return foundryPick{}, fmt.Errorf("foundry: alias %q has no %s variant; its variants: %s",
				key, strings.ToUpper(device), foundryVariants(entries, key))
		}
		return foundryPick{}, fmt.Errorf("foundry: no model %q in the catalog (not an id, an id without its version, or an alias); aliases: %s",
			key, foundryAliases(entries))
	}
	pick := foundryPick{FoundryEntry: matches[0]}
	order := "the service's order (NPU, then GPU, then CPU)"
	if rules.cachedFirst {
		order = "downloaded variants first, then the service's order, as Foundry Local 1.x selects an alias's variant"
	}
	pick.why = fmt.Sprintf("alias %q: its first variant in %s", key, order)
	if device != "" {
		pick.why = fmt.Sprintf("alias %q on %s: its first %s variant in %s", key, strings.ToUpper(device), strings.ToUpper(device), order)
	}
	if rules.windowsSwap && device == "" && !rules.cudaOverride && strings.Contains(strings.ToLower(pick.Name), "-generic-gpu:") {
		for _, e := range matches {
			if strings.EqualFold(e.Device, "CPU") {
				pick.why = fmt.Sprintf("alias %q: its first variant in %s is the generic-GPU %s, which the Foundry Local SDKs on Windows replace by the alias's CPU variant when no device is named and the catalog has no CUDA variant",
					key, order, pick.Name)
				pick.FoundryEntry = e
				break
			}
		}
	}
	return pick, nil
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
