package dialect

// FoundryEntry is one catalog entry as GET /foundry/list describes it, with
// the wire's field names (docs/engines.md §1.5). Empty optional fields are left
// out of the JSON, so an entry can be made to miss them.
type FoundryEntry struct {
	Name                string                 `json:"name"` // the model id, "…:<version>" (or no suffix, as before mid-2025)
	DisplayName         string                 `json:"displayName,omitempty"`
	Alias               string                 `json:"alias,omitempty"`
	Version             string                 `json:"version,omitempty"`
	ModelType           string                 `json:"modelType,omitempty"`
	ProviderType        string                 `json:"providerType,omitempty"`
	URI                 string                 `json:"uri,omitempty"`
	Publisher           string                 `json:"publisher,omitempty"`
	Task                string                 `json:"task,omitempty"`
	Runtime             *FoundryRuntime        `json:"runtime,omitempty"`
	FileSizeMB          int64                  `json:"fileSizeMb,omitempty"`
	SupportsToolCalling bool                   `json:"supportsToolCalling"`
	MaxOutputTokens     *int                   `json:"maxOutputTokens"` // null when unknown, as in the real catalog
	License             string                 `json:"license,omitempty"`
	PromptTemplate      *FoundryPromptTemplate `json:"promptTemplate,omitempty"`
}

// FoundryRuntime is a catalog entry's runtime: the device it runs on (CPU,
// GPU, NPU) and its ONNX Runtime execution provider.
type FoundryRuntime struct {
	DeviceType        string `json:"deviceType"`
	ExecutionProvider string `json:"executionProvider"`
}

// FoundryPromptTemplate is a catalog entry's chat template, sent back
// verbatim in a download request.
type FoundryPromptTemplate struct {
	Assistant string `json:"assistant"`
	Prompt    string `json:"prompt"`
}

// DefaultFoundryCatalog returns the catalog the Foundry dialect serves when
// FoundryOptions.Catalog is nil, in the service's order (NPU → non-generic
// GPU → generic GPU → non-generic CPU → CPU within each alias):
//
//   - "phi-4-mini": a QNN NPU, a CUDA GPU, two versions of a WebGPU generic
//     GPU build and a CPU build; ids in mixed case, as the real catalog has;
//   - "qwen2.5-0.5b": an OpenVINO NPU, a generic GPU and three versions of a
//     CPU build (:2, :9, :10, so that string order and integer order differ);
//   - "mistral-7b-v0.2": two variants named without a ":version" suffix
//     (the catalog's form before mid-2025);
//   - "deepseek-r1-1.5b": one CPU variant missing every optional field
//     (no runtime, size, publisher, version or prompt template).
func DefaultFoundryCatalog() []FoundryEntry {
	tmpl := &FoundryPromptTemplate{
		Assistant: "<|assistant|>{Content}<|end|>",
		Prompt:    "<|user|>{Content}<|end|><|assistant|>",
	}
	e := func(name, alias, version, device, ep string, mb int64) FoundryEntry {
		return FoundryEntry{
			Name: name, DisplayName: name, Alias: alias, Version: version,
			ModelType: "ONNX", ProviderType: "AzureFoundry",
			URI:       "azureml://registries/azureml/models/" + name,
			Publisher: "Microsoft", Task: "chat-completion",
			Runtime:    &FoundryRuntime{DeviceType: device, ExecutionProvider: ep},
			FileSizeMB: mb, License: "MIT", PromptTemplate: tmpl,
		}
	}
	return []FoundryEntry{
		e("Phi-4-mini-instruct-qnn-npu:1", "phi-4-mini", "1", "NPU", "QNNExecutionProvider", 2570),
		e("Phi-4-mini-instruct-cuda-gpu:1", "phi-4-mini", "1", "GPU", "CUDAExecutionProvider", 3720),
		e("Phi-4-mini-instruct-generic-gpu:2", "phi-4-mini", "2", "GPU", "WebGpuExecutionProvider", 3720),
		e("Phi-4-mini-instruct-generic-gpu:1", "phi-4-mini", "1", "GPU", "WebGpuExecutionProvider", 3700),
		e("Phi-4-mini-instruct-generic-cpu:1", "phi-4-mini", "1", "CPU", "CPUExecutionProvider", 4800),
		e("qwen2.5-0.5b-instruct-openvino-npu:1", "qwen2.5-0.5b", "1", "NPU", "OpenVINOExecutionProvider", 520),
		e("qwen2.5-0.5b-instruct-generic-gpu:3", "qwen2.5-0.5b", "3", "GPU", "WebGpuExecutionProvider", 680),
		e("qwen2.5-0.5b-instruct-generic-cpu:9", "qwen2.5-0.5b", "9", "CPU", "CPUExecutionProvider", 822),
		e("qwen2.5-0.5b-instruct-generic-cpu:10", "qwen2.5-0.5b", "10", "CPU", "CPUExecutionProvider", 822),
		e("qwen2.5-0.5b-instruct-generic-cpu:2", "qwen2.5-0.5b", "2", "CPU", "CPUExecutionProvider", 800),
		e("mistralai-Mistral-7B-Instruct-v0-2-generic-gpu", "mistral-7b-v0.2", "", "GPU", "WebGpuExecutionProvider", 4070),
		e("mistralai-Mistral-7B-Instruct-v0-2-generic-cpu", "mistral-7b-v0.2", "", "CPU", "CPUExecutionProvider", 4070),
		{
			Name:  "deepseek-r1-distill-qwen-1.5b-generic-cpu:1",
			Alias: "deepseek-r1-1.5b",
			URI:   "azureml://registries/azureml/models/deepseek-r1-distill-qwen-1.5b-generic-cpu",
		},
	}
}
