// Package dialect dresses the simulated engine in the wire format of a real one (Foundry Local, Ollama, …) so that every engine adapter is tested against a faithful fake.
package dialect
