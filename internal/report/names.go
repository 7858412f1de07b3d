package report

import "strings"

// ModelName is how a model is shown in tables, cards and charts. A model
// whose id is a file path (llama-server names its model by the path given
// to -m: /models/x/rand-24M.gguf, C:\models\x.gguf; vLLM by its --model
// directory) is shown by its last element, the file name; any other id
// (sim-fast, llama3.2:1b, meta-llama/Llama-3.1-8B-Instruct) as it is. The
// full id stays in the data: JSON, CSV, JSONL and the API keep it. The
// app's format.js modelName applies the same rule.
func ModelName(id string) string {
	if !isFilePath(id) {
		return id
	}
	p := strings.TrimRight(id, `/\`)
	name := p[strings.LastIndexAny(p, `/\`)+1:]
	if name == "" || name == "." || name == ".." {
		return id
	}
	return name
}

// isFilePath reports whether a model id is a file path: absolute (/…, \…,
// a drive letter's C:\ or C:/), relative to here or home (./, ../, ~/ and
// their backslash forms), or a relative path to a .gguf file. An id of
// the form org/name is a repository's, not a path.
func isFilePath(id string) bool {
	switch {
	case strings.HasPrefix(id, "/"), strings.HasPrefix(id, `\`):
		return true
	case len(id) >= 3 && id[1] == ':' && (id[2] == '\\' || id[2] == '/') &&
		('a' <= id[0] && id[0] <= 'z' || 'A' <= id[0] && id[0] <= 'Z'):
		return true
	}
	for _, p := range []string{"./", "../", "~/", `.\`, `..\`, `~\`} {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return strings.ContainsAny(id, `/\`) && strings.HasSuffix(strings.ToLower(id), ".gguf")
}

// Num formats a figure as the tables do: three significant digits, "–"
// when it is not a number.
func Num(v float64) string { return num(v) }
