package engine

import (
	"context"
	"net/http"
	"strings"
)

// ModelFile returns the local path of the GGUF file a model's weights are
// in, as its Modelfile names it (POST /api/show, its first "FROM" line
// with an absolute path: Ollama's blob); "" when it names none.
func (o *OllamaManager) ModelFile(ctx context.Context, name string) (string, error) {
	var show struct {
		Modelfile string `json:"modelfile"`
	}
	if err := o.call(ctx, "show", name, http.MethodPost, "/api/show", map[string]string{"model": name}, &show); err != nil {
		return "", err
	}
	return modelfileFrom(show.Modelfile), nil
}

// modelfileFrom is the first FROM line's absolute path of a Modelfile.
func modelfileFrom(mf string) string {
	for _, line := range strings.Split(mf, "\n") {
		line = strings.TrimSpace(line)
		if len(line) < 5 || !strings.EqualFold(line[:5], "FROM ") {
			continue
		}
		p := strings.TrimSpace(line[5:])
		if strings.HasPrefix(p, "/") || (len(p) > 2 && p[1] == ':' && (p[2] == '\\' || p[2] == '/')) {
			return p
		}
	}
	return ""
}
